/**
 * The tokenizer of a run: a preset's default or --tokenizer PATH, plus the files that make a
 * checkpoint directory self-contained and a fingerprint for the token cache.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { InputError } from '@dcformer/kernels';
import { loadTokenizer, type Tokenizer } from '@dcformer/tokenizer/node';
import type { TokenizerChoice } from '@dcformer/train';
import type { ExtraFile } from '@dcformer/train/node';

export interface RunTokenizer {
  tokenizer: Tokenizer;
  /** SHA-256 over the files' names and bytes. */
  fingerprint: string;
  /** Copied into every checkpoint under the names the loaders look for. */
  files: ExtraFile[];
  /** Where it came from, for notes. */
  source: string;
}

const SIDE_FILES = ['tokenizer_config.json', 'special_tokens_map.json'];
const DIR_FILES = [
  'tokenizer.json',
  'tokenizer.json.gz',
  'tokenizer.model',
  'tokenizer.model.gz',
  'encoder.json',
  'vocab.json',
  'vocab.bpe',
  'merges.txt',
  ...SIDE_FILES,
];

function isGzip(path: string): boolean {
  const head = readFileSync(path).subarray(0, 2);
  return head.length === 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/** The default tokenizer file of a preset, or an error saying how to supply it. */
export function defaultTokenizerPath(choice: TokenizerChoice, preset: string): string {
  const require = createRequire(import.meta.url);
  if (choice === 'byte-level') return require.resolve('@dcformer/tokenizer/assets/byte-level/tokenizer.json');
  try {
    return require.resolve('@dcformer/tokenizer/assets/gpt-neox-20b/tokenizer.json');
  } catch {
    throw new InputError(
      `preset '${preset}' uses the GPT-NeoX-20B tokenizer, which this build does not bundle; pass --tokenizer PATH ` +
        `(its tokenizer.json, e.g. 20B_tokenizer.json from EleutherAI/gpt-neox-20b)`,
    );
  }
}

function filesFor(path: string, tokenizer: Tokenizer): ExtraFile[] {
  if (statSync(path).isDirectory()) {
    return DIR_FILES.filter((n) => existsSync(join(path, n))).map((name) => ({ source: join(path, name), name }));
  }
  const dir = dirname(path);
  const gz = isGzip(path) ? '.gz' : '';
  const files: ExtraFile[] = [];
  if (tokenizer.kind.startsWith('sentencepiece')) files.push({ source: path, name: `tokenizer.model${gz}` });
  else if (tokenizer.kind === 'gpt2-files') {
    files.push({ source: path, name: `encoder.json${gz}` });
    for (const merges of ['vocab.bpe', 'vocab.bpe.gz', 'merges.txt', 'merges.txt.gz']) {
      if (existsSync(join(dir, merges))) {
        files.push({ source: join(dir, merges), name: merges });
        break;
      }
    }
  } else files.push({ source: path, name: `tokenizer.json${gz}` });
  for (const side of SIDE_FILES) if (existsSync(join(dir, side))) files.push({ source: join(dir, side), name: side });
  return files;
}

export async function resolveTokenizer(path: string): Promise<RunTokenizer> {
  if (!existsSync(path)) throw new InputError(`--tokenizer ${path}: no such file or directory`);
  const tokenizer = await loadTokenizer(path);
  const files = filesFor(path, tokenizer);
  // These are copied into every checkpoint: a link out of the tokenizer's folder (other than into its
  // HF cache blobs) or a FIFO beside it would leak a file or block the copy.
  const { checkpointEntry, nonRegularReason } = await import('@dcformer/model/node');
  for (const f of files) {
    await checkpointEntry(dirname(f.source), basename(f.source), (m) => new InputError(`--tokenizer ${path}: ${m}`));
    const notFile = await nonRegularReason(f.source);
    if (notFile !== null) throw new InputError(`--tokenizer ${path}: ${f.source} ${notFile}`);
  }
  const hash = createHash('sha256');
  for (const f of files) hash.update(`${f.name}\0`).update(readFileSync(f.source)).update('\0');
  return { tokenizer, fingerprint: hash.digest('hex'), files, source: path };
}
