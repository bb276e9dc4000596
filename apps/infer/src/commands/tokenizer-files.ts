/**
 * The tokenizer that travels with a model folder (DESIGN.md "Checkpoints": a checkpoint directory
 * also holds the tokenizer files). Absent files are not an error here: `generate --input IDS.json`
 * works without a tokenizer.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tokenizer } from '@dcformer/tokenizer';

const CANDIDATES = [['tokenizer.json'], ['tokenizer.json.gz'], ['tokenizer.model'], ['encoder.json', 'vocab.bpe']];

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

export async function findTokenizer(dir: string): Promise<Tokenizer | null> {
  const { loadTokenizer, soleTokenizerJson } = await import('@dcformer/tokenizer/node');
  for (const files of CANDIDATES) {
    if ((await Promise.all(files.map((f) => exists(join(dir, f))))).every(Boolean)) return loadTokenizer(dir);
  }
  // e.g. GPT-NeoX's 20B_tokenizer.json: any one *tokenizer.json is the tokenizer
  if (soleTokenizerJson(dir) !== null) return loadTokenizer(dir);
  return null;
}
