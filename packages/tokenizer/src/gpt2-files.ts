/**
 * GPT-2's original files: encoder.json (byte-level token -> id) and vocab.bpe (one merge "a b" per
 * line after a `#version` header). The same as tiktoken's r50k_base. `<|endoftext|>` is special
 * and, by this format's convention, plain text unless `specials: 'all'` is asked for.
 */
import type { AddedToken } from './added-tokens.js';
import { BpeModel } from './bpe.js';
import { buildDecoder } from './decoders.js';
import { TokenizerError } from './errors.js';
import { MAX_ID } from './json-fields.js';
import { PipelineTokenizer } from './pipeline.js';
import { buildPreTokenizer } from './pre-tokenizers.js';
import { resolveSpecialIds, type TokenizerExtras } from './special-ids.js';
import { parseJsonText } from './tokenizer-json.js';
import type { Tokenizer } from './types.js';

const END_OF_TEXT = '<|endoftext|>';

function parseEncoder(encoderJson: string | object): Map<string, number> {
  const parsed = typeof encoderJson === 'string' ? parseJsonText(encoderJson, 'encoder.json') : encoderJson;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new TokenizerError('encoder.json: must be a JSON object mapping token strings to ids', {
      file: 'encoder.json',
    });
  }
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(parsed)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > MAX_ID) {
      throw new TokenizerError(
        `encoder.json: the id of ${JSON.stringify(token)} must be an integer in 0..${MAX_ID}; got ${JSON.stringify(id)}`,
        {
          field: token,
          file: 'encoder.json',
        },
      );
    }
    vocab.set(token, id);
  }
  return vocab;
}

/** Merges of vocab.bpe with their 1-based line numbers. */
function parseMerges(vocabBpe: string): { merges: [string, string][]; lines: number[] } {
  if (typeof vocabBpe !== 'string') throw new TokenizerError('vocab.bpe: must be the file text', { file: 'vocab.bpe' });
  const merges: [string, string][] = [];
  const lines: number[] = [];
  const rows = vocabBpe.split('\n');
  for (let k = 0; k < rows.length; k++) {
    const row = rows[k].endsWith('\r') ? rows[k].slice(0, -1) : rows[k];
    if (k === 0 && row.startsWith('#version')) continue;
    if (row.length === 0) {
      if (k === rows.length - 1) continue; // the final newline
      throw new TokenizerError(`vocab.bpe: line ${k + 1} is empty; every line after the header must be a merge "a b"`, {
        line: k + 1,
        file: 'vocab.bpe',
      });
    }
    const space = row.indexOf(' ');
    if (space <= 0 || space === row.length - 1 || row.indexOf(' ', space + 1) >= 0) {
      throw new TokenizerError(
        `vocab.bpe: line ${k + 1} must be two tokens separated by one space; got ${JSON.stringify(row.slice(0, 60))}`,
        {
          line: k + 1,
          file: 'vocab.bpe',
        },
      );
    }
    merges.push([row.slice(0, space), row.slice(space + 1)]);
    lines.push(k + 1);
  }
  return { merges, lines };
}

/**
 * GPT-2 (r50k) from encoder.json + vocab.bpe. `specials: 'default'` leaves `<|endoftext|>` as text
 * (tiktoken's `encode_ordinary`); `'all'` maps it to 50256.
 *
 * @example
 * const tok = gpt2FromFiles(readFileSync('encoder.json', 'utf8'), readFileSync('vocab.bpe', 'utf8'));
 * tok.encode('Hello world'); // [15496, 995]
 */
export function gpt2FromFiles(encoderJson: string | object, vocabBpe: string, extras: TokenizerExtras = {}): Tokenizer {
  const vocab = parseEncoder(encoderJson);
  const { merges, lines } = parseMerges(vocabBpe);
  const model = new BpeModel({
    vocab,
    mergeCount: merges.length,
    forEachMerge: (add) => merges.forEach(([a, b]) => add(a, b)),
    mergeLocation: (k) => ({ line: lines[k], file: 'vocab.bpe' }),
    byteLevel: true,
  });
  const eot = vocab.get(END_OF_TEXT);
  const addedTokens: AddedToken[] =
    eot === undefined
      ? []
      : [
          {
            id: eot,
            content: END_OF_TEXT,
            special: true,
            singleWord: false,
            lstrip: false,
            rstrip: false,
            normalized: false,
          },
        ];
  const tokenizer = new PipelineTokenizer({
    kind: 'gpt2-files',
    normalizer: null,
    preTokenizer: buildPreTokenizer({ type: 'ByteLevel', add_prefix_space: false, use_regex: true }),
    model,
    addedTokens,
    decoder: buildDecoder({ type: 'ByteLevel' }),
    matchSpecialsByDefault: false,
  });
  // HF GPT2Tokenizer's defaults: bos = eos = unk = <|endoftext|>.
  const conventions = { bos: [END_OF_TEXT], eos: [END_OF_TEXT], pad: [], unk: [END_OF_TEXT] };
  return tokenizer.setSpecialIds(resolveSpecialIds((t) => tokenizer.tokenToId(t), conventions, extras));
}
