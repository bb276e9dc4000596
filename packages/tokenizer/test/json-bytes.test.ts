/**
 * The low-memory tokenizer.json reader must see exactly what JSON.parse sees, and hand anything
 * unusual back to JSON.parse (whose errors name the offset).
 */
import { describe, expect, it } from 'vitest';
import { readTokenizerJsonBytes } from '../src/json-bytes.js';
import { tokenizerFromJson, TokenizerError } from '../src/index.js';
import { fixtureCases, readText } from './helpers.js';

const utf8 = new TextEncoder();

function merges(parts: NonNullable<ReturnType<typeof readTokenizerJsonBytes>>): [string, string][] {
  const out: [string, string][] = [];
  parts.forEachMerge((a, b) => out.push([a, b]));
  return out;
}

describe.each([
  ['gpt-neox-20b', 'gpt-neox-20b/tokenizer.json.gz'],
  ['qwen3', 'qwen3/tokenizer.json.gz'],
])('%s', (_name, file) => {
  const text = readText(file);
  const full = JSON.parse(text) as { model: { vocab: Record<string, number>; merges: (string | string[])[] } } & Record<
    string,
    unknown
  >;

  it('reads the same vocabulary, merges and rest of the file as JSON.parse', () => {
    const parts = readTokenizerJsonBytes(utf8.encode(text))!;
    expect(parts).not.toBeNull();
    expect(parts.vocab).toEqual(new Map(Object.entries(full.model.vocab)));
    expect(parts.mergeCount).toBe(full.model.merges.length);
    expect(merges(parts)).toEqual(full.model.merges.map((m) => (typeof m === 'string' ? m.split(' ') : m)));
    const skeleton = structuredClone(full);
    skeleton.model.vocab = {};
    skeleton.model.merges = [];
    expect(parts.skeleton).toEqual(skeleton);
  });

  it('gives the same ids from bytes as from text', () => {
    const fromBytes = tokenizerFromJson(utf8.encode(text));
    const fromText = tokenizerFromJson(text);
    for (const c of fixtureCases(file.startsWith('qwen') ? 'qwen3_fixtures.json' : 'gpt_neox_20b_fixtures.json')) {
      expect(fromBytes.encode(c.text)).toEqual(fromText.encode(c.text));
    }
  });
});

describe('odd input', () => {
  const small = (vocab: string, merges = '[]'): Uint8Array =>
    utf8.encode(
      `{"added_tokens": [], "model": {"type": "BPE", "vocab": ${vocab}, "merges": ${merges}}, "decoder": null}`,
    );

  it('decodes escapes and multi-byte UTF-8 in keys', () => {
    const parts = readTokenizerJsonBytes(
      small('{"\\u0120a": 0, "\\"q\\"": 1, "é": 2, "日": 3, "😀": 4, "\\ud83d\\ude00x": 5}'),
    )!;
    expect([...parts.vocab.keys()]).toEqual(['Ġa', '"q"', 'é', '日', '😀', '😀x']);
  });

  it('streams both merge forms and names a bad merge', () => {
    const parts = readTokenizerJsonBytes(small('{"a": 0, "b": 1, "ab": 2}', '["a b", ["a", "b"], 7]'))!;
    const seen: string[] = [];
    expect(() => parts.forEachMerge((a, b) => seen.push(`${a}+${b}`))).toThrow(/'model\.merges\[2\]'/);
    expect(seen).toEqual(['a+b', 'a+b']);
  });

  it('names a bad vocabulary id', () => {
    expect(() => readTokenizerJsonBytes(small('{"a": 0, "b": -1}'))).toThrow(TokenizerError);
    expect(() => readTokenizerJsonBytes(small('{"a": 1.5}'))).toThrow(/'model\.vocab\["a"\]'/);
  });

  it('hands truncated, invalid UTF-8 or vocab-less input back to JSON.parse', () => {
    const good = small('{"a": 0}');
    expect(readTokenizerJsonBytes(good.subarray(0, good.length - 5))).toBeNull();
    expect(
      readTokenizerJsonBytes(Uint8Array.of(...utf8.encode('{"model": {"vocab": {"'), 0xff, ...utf8.encode('": 0}}}'))),
    ).toBeNull();
    expect(readTokenizerJsonBytes(utf8.encode('{"model": 19849, "a": 1}'))).toBeNull();
    const e = (() => {
      try {
        tokenizerFromJson(good.subarray(0, good.length - 5));
      } catch (err) {
        return err as TokenizerError;
      }
      return null;
    })();
    expect(TokenizerError.isInstance(e)).toBe(true);
    expect(e!.offset).toBe(good.length - 5);
  });
});
