/**
 * Tokenizer benchmark: encode and decode throughput of @dcformer/tokenizer next to its peers on
 * the same texts, in one process, printing DESIGN.md's JSON lines. The numbers are medians of
 * `--runs` single calls (default 5) on an already loaded tokenizer; `first-call` is the first one
 * (cold word caches and JIT). Peers are devDependencies of this app only; a peer that cannot be
 * loaded is skipped with a note on stderr. Every peer's ids are compared with ours.
 *
 *   npm run bench:tokenizer -w @dcformer/bench [-- --runs 5 --only gpt2,neox]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { gpt2FromFiles, tokenizerFromJson, type Tokenizer } from '@dcformer/tokenizer';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURES = join(HERE, '../../../packages/tokenizer/test/fixtures');
const require = createRequire(import.meta.url);

function fixture(name: string): string {
  const raw = readFileSync(join(FIXTURES, name));
  return (name.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const RUNS = Number(arg('runs', '5'));
const ONLY = arg('only', 'gpt2,neox,qwen3').split(',');

function line(bench: string, backend: string, config: string, metric: string, value: number, unit: string): void {
  console.log(JSON.stringify({ bench, backend, config, metric, value: Math.round(value * 1000) / 1000, unit }));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

interface Contender {
  backend: string;
  encode: (text: string) => Promise<ArrayLike<number>> | ArrayLike<number>;
  decode: (ids: number[]) => Promise<string> | string;
}

async function timeIt<T>(fn: () => Promise<T> | T): Promise<[number, T]> {
  const t0 = performance.now();
  const out = await fn();
  return [(performance.now() - t0) / 1000, out];
}

function same(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Runs are interleaved (run r of every contender, then run r+1): on a shared machine the load
 * changes by the second, and interleaving spreads it over all contenders alike.
 */
async function measure(tokenizerName: string, contenders: Contender[], corpora: [string, string][]): Promise<void> {
  for (const [corpusName, text] of corpora) {
    const megabytes = Buffer.byteLength(text) / 1e6;
    const config = `${tokenizerName}/${corpusName}`;
    const encodeTimes = contenders.map((): number[] => []);
    const outputs: ArrayLike<number>[] = contenders.map(() => []);
    for (let r = 0; r < RUNS; r++) {
      for (let k = 0; k < contenders.length; k++) {
        const [seconds, ids] = await timeIt(() => contenders[k].encode(text));
        encodeTimes[k].push(seconds);
        outputs[k] = ids;
      }
    }
    const reference = Array.from(outputs[0]);
    const decodeTimes = contenders.map((): number[] => []);
    for (let r = 0; r < RUNS; r++) {
      for (let k = 0; k < contenders.length; k++)
        decodeTimes[k].push((await timeIt(() => contenders[k].decode(reference)))[0]);
    }
    contenders.forEach((c, k) => {
      line('tokenizer-encode', c.backend, config, 'throughput', megabytes / median(encodeTimes[k]), 'MB/s');
      line('tokenizer-encode', c.backend, config, 'first-call', megabytes / encodeTimes[k][0], 'MB/s');
      if (k > 0)
        line('tokenizer-encode', c.backend, config, 'identical-ids', same(outputs[k], reference) ? 1 : 0, 'bool');
      line('tokenizer-decode', c.backend, config, 'throughput', megabytes / median(decodeTimes[k]), 'MB/s');
    });
  }
}

function ours(tok: Tokenizer): Contender {
  return { backend: 'js', encode: (t) => tok.encode(t), decode: (ids) => tok.decode(ids) };
}

async function peer(name: string, make: () => Promise<Contender> | Contender): Promise<Contender[]> {
  try {
    return [await make()];
  } catch (error) {
    console.error(`note: peer ${name} skipped: ${(error as Error).message.split('\n')[0]}`);
    return [];
  }
}

async function hfJs(json: string, config: object): Promise<Contender> {
  const { Tokenizer: HfTokenizer } = await import('@huggingface/tokenizers');
  const tok = new HfTokenizer(JSON.parse(json), config);
  return {
    backend: '@huggingface/tokenizers@0.2.0',
    encode: (t) => tok.encode(t).ids,
    decode: (ids) => tok.decode(ids),
  };
}

function hfNapi(json: string): Contender {
  const { Tokenizer: NapiTokenizer } = require('tokenizers') as typeof import('tokenizers');
  const tok = NapiTokenizer.fromString(json);
  return {
    backend: 'tokenizers@0.23.2',
    encode: async (t) => (await tok.encode(t, null, { addSpecialTokens: false })).getIds(),
    decode: (ids) => tok.decode(ids, false),
  };
}

/** RSS of a fresh process after loading a tokenizer (a child, so this process's peers don't count). */
function loadRss(kind: string): void {
  const script = `
    import { loadTokenizerSync } from '@dcformer/tokenizer/node';
    const before = process.memoryUsage().rss;
    const t0 = performance.now();
    const tok = loadTokenizerSync(${JSON.stringify(join(FIXTURES, 'qwen3/tokenizer.json.gz'))});
    const ms = performance.now() - t0;
    globalThis.gc?.();
    console.log(JSON.stringify({ ms, rss: process.memoryUsage().rss, before, check: tok.encode('Hello world') }));`;
  const child = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
    cwd: HERE,
    encoding: 'utf8',
  });
  if (child.status !== 0) {
    console.error(`note: ${kind} load measurement failed: ${child.stderr.split('\n')[0]}`);
    return;
  }
  // (Peak RSS is not reported: a child's maxRSS counts the pages it shared with this big parent
  // at fork time. Measure it with `/usr/bin/time -v node -e ...` from a shell instead.)
  const r = JSON.parse(child.stdout) as { ms: number; rss: number; before: number };
  line('tokenizer-load', 'js', kind, 'rss-after-load', r.rss / 1e6, 'MB');
  line('tokenizer-load', 'js', kind, 'load-time', r.ms, 'ms');
}

async function main(): Promise<void> {
  const corpora: [string, string][] = [
    ['tinyshakespeare', fixture('corpora/tinyshakespeare.txt.gz')],
    ['wikitext-2-test', fixture('corpora/wikitext-2-test-nonblank.txt.gz')],
  ];
  if (ONLY.includes('gpt2')) {
    const tok = gpt2FromFiles(fixture('gpt2/encoder.json.gz'), fixture('gpt2/vocab.bpe.gz'));
    const contenders = [
      ours(tok),
      ...(await peer('js-tiktoken', async () => {
        const { getEncoding } = await import('js-tiktoken');
        const enc = getEncoding('r50k_base');
        return {
          backend: 'js-tiktoken@1.0.21',
          encode: (t: string) => enc.encode(t, [], []),
          decode: (ids: number[]) => enc.decode(ids),
        };
      })),
      ...(await peer('tiktoken', async () => {
        const { get_encoding } = await import('tiktoken');
        const enc = get_encoding('r50k_base');
        const utf8 = new TextDecoder();
        return {
          backend: 'tiktoken@1.0.22',
          encode: (t: string) => enc.encode_ordinary(t),
          decode: (ids: number[]) => utf8.decode(enc.decode(Uint32Array.from(ids))),
        };
      })),
    ];
    await measure('gpt2', contenders, corpora);
  }
  if (ONLY.includes('neox')) {
    const json = fixture('gpt-neox-20b/tokenizer.json.gz');
    const contenders = [
      ours(tokenizerFromJson(json)),
      ...(await peer('@huggingface/tokenizers', () =>
        hfJs(json, { tokenizer_class: 'GPTNeoXTokenizer', add_bos_token: false }),
      )),
      ...(await peer('tokenizers', () => hfNapi(json))),
    ];
    await measure('neox', contenders, corpora);
  }
  if (ONLY.includes('qwen3')) {
    const json = fixture('qwen3/tokenizer.json.gz');
    const config = JSON.parse(fixture('qwen3/tokenizer_config.json'));
    const contenders = [
      ours(tokenizerFromJson(json, { tokenizerConfig: config })),
      ...(await peer('@huggingface/tokenizers', () => hfJs(json, config))),
      ...(await peer('tokenizers', () => hfNapi(json))),
    ];
    await measure('qwen3', contenders, corpora.slice(0, 1));
    loadRss('qwen3');
  }
}

await main();
