/**
 * The parsers under fuzz, each with its seeds (from the repository's fixtures), a generator that
 * turns (rng) into the files of one input, and a runner that loads them through the public API the
 * CLIs use. A runner either returns or throws; the worker classifies what it throws.
 *
 * Adding a reader (e.g. quantised weights): add a target here with a seed and a runner.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { mutateBytes, mutateJsonValue, mutatePickle, stringify } from './mutate.mjs';
import { buildStoredZip, readStoredZip } from './zip.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CASE1 = join(ROOT, 'fixtures', 'oracle', 'case1_dcformer_lgll');
const TOK_FIXTURES = join(ROOT, 'packages', 'tokenizer', 'test', 'fixtures');
const require = createRequire(import.meta.url);

const enc = new TextEncoder();
const dec = new TextDecoder();
const once = (build) => {
  let value;
  return () => (value ??= build());
};

// ---- seeds ----

const safetensorsSeed = once(() => new Uint8Array(readFileSync(join(CASE1, 'model.safetensors'))));
const configSeed = once(() => JSON.parse(readFileSync(join(CASE1, 'config.json'), 'utf8')));
const torchSeed = once(() => new Uint8Array(readFileSync(join(CASE1, 'torch_fp16', 'pytorch_model.bin'))));

/** The safetensors seed split as [prefix (length + header), data], header parsed. */
const safetensorsParts = once(() => {
  const bytes = safetensorsSeed();
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(dec.decode(bytes.subarray(8, 8 + n))), data: bytes.subarray(8 + n) };
});

function safetensorsFile(header, data) {
  const json = enc.encode(typeof header === 'string' ? header : stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Two shards of the seed (tensors alternate) and the index naming them. */
const shardedSeed = once(() => {
  const { header, data } = safetensorsParts();
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const shards = [{}, {}];
  const datas = [[], []];
  const offsets = [0, 0];
  const weightMap = {};
  names.forEach((name, i) => {
    const s = i % 2;
    const e = header[name];
    const bytes = data.subarray(e.data_offsets[0], e.data_offsets[1]);
    shards[s][name] = { ...e, data_offsets: [offsets[s], offsets[s] + bytes.length] };
    datas[s].push(bytes);
    offsets[s] += bytes.length;
    weightMap[name] = `model-0000${s + 1}-of-00002.safetensors`;
  });
  const files = shards.map((h, s) => safetensorsFile(h, Uint8Array.from(datas[s].flatMap((b) => [...b]))));
  return { index: { metadata: { total_size: data.length }, weight_map: weightMap }, files };
});

/** A small tokenizer.json from the GPT-NeoX fixture: its first `size` tokens and the merges among them. */
const neoxSmall = once(() => {
  const full = JSON.parse(
    gunzipSync(readFileSync(join(TOK_FIXTURES, 'gpt-neox-20b', 'tokenizer.json.gz'))).toString('utf8'),
  );
  const size = 1200;
  const vocab = Object.fromEntries(Object.entries(full.model.vocab).filter(([, id]) => id < size));
  const merges = full.model.merges
    .map((m) => (typeof m === 'string' ? m.split(' ') : m))
    .filter(([a, b]) => a in vocab && b in vocab && `${a}${b}` in vocab)
    .map(([a, b]) => `${a} ${b}`);
  return {
    ...full,
    added_tokens: full.added_tokens.filter((t) => t.id < size),
    model: { ...full.model, vocab, merges },
  };
});

const byteLevelSeed = once(() =>
  JSON.parse(readFileSync(require.resolve('@dcformer/tokenizer/assets/byte-level/tokenizer.json'), 'utf8')),
);

const gpt2Small = once(() => {
  const encoder = JSON.parse(gunzipSync(readFileSync(join(TOK_FIXTURES, 'gpt2', 'encoder.json.gz'))).toString('utf8'));
  const lines = gunzipSync(readFileSync(join(TOK_FIXTURES, 'gpt2', 'vocab.bpe.gz')))
    .toString('utf8')
    .split('\n');
  const small = Object.fromEntries(Object.entries(encoder).filter(([, id]) => id < 1200));
  const merges = lines.slice(1).filter((l) => {
    const [a, b] = l.split(' ');
    return a in small && b in small && `${a}${b}` in small;
  });
  return { encoder: small, merges: `${lines[0]}\n${merges.join('\n')}\n` };
});

const spmSeed = once(
  () => new Uint8Array(gunzipSync(readFileSync(join(TOK_FIXTURES, 'maxtext-c4-spm32k', 'tokenizer.model.gz')))),
);

// ---- generators: rng -> { name: bytes } ----

function jsonOrBytes(value, r, pJson = 0.7) {
  return r.chance(pJson)
    ? enc.encode(stringify(mutateJsonValue(value, r)))
    : mutateBytes(enc.encode(JSON.stringify(value)), r);
}

function mutateSafetensors(r) {
  const { header, data } = safetensorsParts();
  if (r.chance(0.6)) return safetensorsFile(mutateJsonValue(header, r), data);
  // Bytes edits, mostly in the length prefix and header where the parser's decisions are made.
  const whole = safetensorsSeed();
  const headerEnd = whole.length - data.length;
  if (r.chance(0.7)) {
    const head = mutateBytes(whole.subarray(0, headerEnd), r);
    const out = new Uint8Array(head.length + data.length);
    out.set(head);
    out.set(data, head.length);
    return out;
  }
  return mutateBytes(whole, r);
}

/** The seed's archive with its pickle mutated (and the zip rebuilt, so the CRC lets it through). */
function mutateTorch(r) {
  const entries = readStoredZip(torchSeed());
  const kind = r.int(4);
  if (kind === 0) return mutateBytes(torchSeed(), r);
  const edited = entries.map(([name, data]) => {
    if (name.endsWith('data.pkl') && kind === 1) return [name, mutatePickle(data, r)];
    if (name.endsWith('data.pkl') && kind === 2) return [name, mutateBytes(data, r)];
    if (kind === 3 && name.includes('/data/') && r.chance(0.3)) return [name, data.subarray(0, r.int(data.length + 1))];
    return [name, data];
  });
  if (kind === 2 && r.chance(0.5)) edited.splice(r.int(edited.length), 1); // a missing entry
  return buildStoredZip(edited);
}

/** Regex building blocks: atoms, classes, groups, quantifiers (possessive and lazy too), alternation. */
const REGEX_PARTS = [
  'a',
  'b',
  ' ',
  '\\s',
  '\\S',
  '\\p{L}',
  '\\p{N}',
  '\\w',
  '.',
  '[\\r\\n]',
  '[^\\s\\p{L}]',
  "'s",
  '\\d',
  '(',
  '(?:',
  '(?>',
  '(?i:',
  '(?=',
  '(?!',
  ')',
  ')',
  '*',
  '+',
  '?',
  '{1,3}',
  '{2,}',
  '*?',
  '++',
  '|',
  '^',
  '$',
  '\\',
];

/** A tokenizer.json whose pre-tokenizer is a Split on a random pattern (exercises regex.ts and the probe). */
function randomRegexTokenizer(r) {
  let pattern = '';
  for (let n = 1 + r.int(12); n > 0; n--) pattern += r.pick(REGEX_PARTS);
  const seed = byteLevelSeed();
  const split = {
    type: 'Split',
    pattern: { Regex: pattern },
    behavior: r.pick(['Isolated', 'Removed', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous']),
    invert: r.chance(0.2),
  };
  const json = { ...seed, pre_tokenizer: { type: 'Sequence', pretokenizers: [split, seed.pre_tokenizer] } };
  if (r.chance(0.3))
    json.normalizer = { type: 'Replace', pattern: { Regex: pattern }, content: r.pick(['', 'x', 'xyz']) };
  return enc.encode(JSON.stringify(json));
}

const TEXTS = [
  "Hello world! 123 it's",
  'a\u{1F600}b \u{1F600}\u{1F600} x\u{1F389}',
  `${' '.repeat(3000)}x\n\n\t y`,
  '\u00fcn\u00efc\u00f6d\u00e9 \u4e2d\u6587 \r\n',
];

async function exerciseTokenizer(tokenizer) {
  for (const text of TEXTS) {
    const ids = tokenizer.encode(text);
    tokenizer.decode(ids);
  }
}

async function model() {
  return import('@dcformer/model/node');
}
async function checkpoint() {
  return import('@dcformer/checkpoint/node');
}
async function tokenizerNode() {
  return import('@dcformer/tokenizer/node');
}

/** name -> { package, generate(r) -> files, run(dir) } */
export const TARGETS = {
  safetensors: {
    package: 'checkpoint',
    generate: (r) => ({ 'model.safetensors': mutateSafetensors(r) }),
    run: async (dir) => (await checkpoint()).readCheckpointWeights(dir),
  },
  'safetensors-buffer': {
    // The browser path (apps/web): a whole file in memory, parsed and converted without the file reader.
    package: 'checkpoint',
    generate: (r) => ({ 'model.safetensors': mutateSafetensors(r) }),
    run: async (dir) => {
      const { parseSafetensors, toFloat32 } = await import('@dcformer/checkpoint');
      const parsed = parseSafetensors(
        new Uint8Array(readFileSync(join(dir, 'model.safetensors'))),
        'model.safetensors',
      );
      for (const [name, t] of parsed.tensors) toFloat32(t, name);
    },
  },
  'safetensors-sharded': {
    package: 'checkpoint',
    generate: (r) => {
      const { index, files } = shardedSeed();
      const out = {
        'model.safetensors.index.json': enc.encode(JSON.stringify(index)),
        'model-00001-of-00002.safetensors': files[0],
        'model-00002-of-00002.safetensors': files[1],
      };
      if (r.chance(0.7)) out['model.safetensors.index.json'] = jsonOrBytes(index, r, 0.8);
      else out[`model-0000${1 + r.int(2)}-of-00002.safetensors`] = mutateBytes(files[r.int(2)], r);
      return out;
    },
    run: async (dir) => (await checkpoint()).readCheckpointWeights(dir),
  },
  config: {
    package: 'model',
    generate: (r) => ({ 'config.json': jsonOrBytes(configSeed(), r, 0.85) }),
    run: async (dir) => {
      const m = await model();
      const config = await m.readConfig(dir, { onWarning: () => {} });
      m.float32WeightBytes(config); // sizes per-layer lists from the config: must be bounded
    },
  },
  'torch-bin': {
    package: 'checkpoint',
    generate: (r) => ({ 'pytorch_model.bin': mutateTorch(r) }),
    run: async (dir) => (await checkpoint()).readCheckpointWeights(dir),
  },
  'torch-bin-sharded': {
    package: 'checkpoint',
    generate: (r) => {
      const entries = readStoredZip(torchSeed());
      const pkl = dec.decode(entries.find(([n]) => n.endsWith('data.pkl'))[1]);
      // The tensor names, as the pickle spells them (the keys a real index would list).
      const names = [...pkl.matchAll(/(?:tok_embeddings|layers|norm|output)[\w.]*/g)]
        .map((m) => m[0])
        .filter((n) => /\.(weight|bias|scale|dw1|qkw|dd|w|dw_m|qkw_m)$/.test(n));
      const index = {
        metadata: {},
        weight_map: Object.fromEntries(names.map((n) => [n, 'pytorch_model-00001-of-00001.bin'])),
      };
      const shard = r.chance(0.25) ? mutateTorch(r) : torchSeed();
      return { 'pytorch_model.bin.index.json': jsonOrBytes(index, r, 0.8), 'pytorch_model-00001-of-00001.bin': shard };
    },
    run: async (dir) => (await checkpoint()).readCheckpointWeights(dir),
  },
  'tokenizer-json': {
    package: 'tokenizer',
    generate: (r) => ({
      'tokenizer.json': r.chance(0.25)
        ? randomRegexTokenizer(r)
        : jsonOrBytes(r.chance(0.5) ? neoxSmall() : byteLevelSeed(), r, 0.8),
    }),
    run: async (dir) => exerciseTokenizer((await tokenizerNode()).loadTokenizerSync(join(dir, 'tokenizer.json'))),
  },
  'tokenizer-json-gz': {
    package: 'tokenizer',
    generate: (r) => {
      const json = jsonOrBytes(byteLevelSeed(), r, 0.8);
      return {
        'tokenizer.json.gz': r.chance(0.5)
          ? gzipSync(json)
          : mutateBytes(gzipSync(enc.encode(JSON.stringify(byteLevelSeed()))), r),
      };
    },
    run: async (dir) => exerciseTokenizer((await tokenizerNode()).loadTokenizerSync(join(dir, 'tokenizer.json.gz'))),
  },
  'gpt2-files': {
    package: 'tokenizer',
    generate: (r) => {
      const { encoder, merges } = gpt2Small();
      const files = { 'encoder.json': enc.encode(JSON.stringify(encoder)), 'vocab.bpe': enc.encode(merges) };
      if (r.chance(0.6)) files['encoder.json'] = jsonOrBytes(encoder, r, 0.7);
      else files['vocab.bpe'] = mutateBytes(files['vocab.bpe'], r);
      return files;
    },
    run: async (dir) => exerciseTokenizer((await tokenizerNode()).loadTokenizerSync(dir)),
  },
  sentencepiece: {
    package: 'tokenizer',
    generate: (r) => ({ 'tokenizer.model': mutateBytes(spmSeed(), r) }),
    run: async (dir) => exerciseTokenizer((await tokenizerNode()).loadTokenizerSync(join(dir, 'tokenizer.model'))),
  },
};

// Self-test targets (DCF_FUZZ_SELFTEST=1): each fails in one way, so a test can check that the
// supervisor sees untyped errors, hangs, aborts and memory growth.
if (process.env.DCF_FUZZ_SELFTEST === '1') {
  const none = () => ({ 'x.txt': new Uint8Array(1) });
  Object.assign(TARGETS, {
    'selftest-untyped': { package: 'selftest', generate: none, run: async () => null.x },
    'selftest-hang': {
      package: 'selftest',
      generate: none,
      run: async () => {
        for (;;);
      },
    },
    'selftest-abort': { package: 'selftest', generate: none, run: async () => process.abort() },
    'selftest-peak': {
      package: 'selftest',
      generate: none,
      run: async () => {
        new Uint8Array(600 << 20).fill(1);
      },
    },
    'selftest-memory': {
      package: 'selftest',
      generate: none,
      run: async () => {
        globalThis.keep = new Uint8Array(600 << 20).fill(1);
        await new Promise((r) => setTimeout(r, 60_000));
      },
    },
  });
}
