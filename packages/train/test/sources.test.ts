/** Data from disk: text, JSONL, directories, pre-tokenized .bin, the token cache, and bad input. */
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { splitTokens } from '../src/data.js';
import { jsonlDocuments, loadTokens, textPieces, type LoadTokensOptions } from '../src/sources.js';

const root = mkdtempSync(join(tmpdir(), 'dcf-data-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const bytes = (s: string) => [...new TextEncoder().encode(s)];
/** One id per UTF-8 byte and end-of-text 256: the byte-level tokenizer's ids. */
const byteTokenizer = { encode: (t: string) => bytes(t), vocabSize: 257, eosId: 256 };
const opts = (cacheDir: string, over: Partial<LoadTokensOptions> = {}): LoadTokensOptions => ({
  tokenizer: byteTokenizer,
  tokenizerFingerprint: 'bytes',
  cacheDir,
  vocabSize: 257,
  ...over,
});

describe('loadTokens', () => {
  it('reads a directory (sorted, dot-files skipped), JSONL documents, and caches by content', async () => {
    const dir = join(root, 'corpus');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'a.txt'), 'hi');
    writeFileSync(join(dir, 'b.jsonl'), '{"text": "x"}\n\n{"text": "yz", "id": 3}\n');
    writeFileSync(join(dir, 'sub', 'c.md'), 'q');
    writeFileSync(join(dir, '.hidden.txt'), 'nope');
    writeFileSync(join(dir, 'notes.csv'), 'skipped');
    const cache = join(root, 'cache');
    const first = await loadTokens([dir], opts(cache));
    expect([...first.tokens]).toEqual([
      ...bytes('hi'),
      256,
      ...bytes('x'),
      256,
      ...bytes('yz'),
      256,
      ...bytes('q'),
      256,
    ]);
    expect(first.cached).toBe(false);
    expect(first.tokens).toBeInstanceOf(Uint16Array);

    const again = await loadTokens([dir], opts(cache));
    expect(again.cached).toBe(true);
    expect([...again.tokens]).toEqual([...first.tokens]);

    renameSync(join(dir, 'sub', 'c.md'), join(dir, 'sub', 'd.md')); // same content, same order
    expect((await loadTokens([dir], opts(cache))).cached).toBe(true);
    writeFileSync(join(dir, 'a.txt'), 'ho');
    const edited = await loadTokens([dir], opts(cache));
    expect(edited.cached).toBe(false);
    expect(edited.hash).not.toBe(first.hash);
    expect((await loadTokens([dir], opts(cache, { tokenizerFingerprint: 'other' }))).cached).toBe(false);
  });

  it('reads pre-tokenized .bin files (uint16 by default for small vocabularies, uint32 on request)', async () => {
    const u16 = join(root, 'ids16.bin');
    writeFileSync(u16, new Uint8Array(Uint16Array.from([1, 2, 256]).buffer));
    expect([...(await loadTokens([u16], opts(join(root, 'c16')))).tokens]).toEqual([1, 2, 256]);
    const u32 = join(root, 'ids32.bin');
    writeFileSync(u32, new Uint8Array(Uint32Array.from([5, 70000 % 257]).buffer));
    expect([...(await loadTokens([u32], opts(join(root, 'c32'), { binDtype: 'uint32' }))).tokens]).toEqual([
      5,
      70000 % 257,
    ]);
  });

  it('rejects bad input with one line naming the file', async () => {
    const c = join(root, 'cbad');
    await expect(loadTokens([join(root, 'missing.txt')], opts(c))).rejects.toThrow(
      /missing\.txt: no such file or directory/,
    );
    const odd = join(root, 'odd.bin');
    writeFileSync(odd, new Uint8Array([1, 2, 3]));
    await expect(loadTokens([odd], opts(c))).rejects.toThrow(/odd\.bin: 3 bytes is not a whole number of uint16 ids/);
    const big = join(root, 'big.bin');
    writeFileSync(big, new Uint8Array(Uint16Array.from([1, 300]).buffer));
    await expect(loadTokens([big], opts(c))).rejects.toThrow(
      /token id 300 at position 1 is out of range for vocab_size 257/,
    );
    const bad = join(root, 'bad.jsonl');
    writeFileSync(bad, '{"text": "ok"}\n{"txt": "no"}\n');
    await expect(loadTokens([bad], opts(c))).rejects.toThrow(
      /bad\.jsonl:2: expected an object with a string "text" field/,
    );
    const empty = join(root, 'empty.txt');
    writeFileSync(empty, '');
    await expect(loadTokens([empty], opts(c, { tokenizer: { ...byteTokenizer, eosId: null } }))).rejects.toThrow(
      /no tokens \(the input is empty\)/,
    );
    const emptyDir = join(root, 'emptydir');
    mkdirSync(emptyDir);
    await expect(loadTokens([emptyDir], opts(c))).rejects.toThrow(/holds no \.txt, \.md, \.jsonl or \.bin files/);
  });
});

describe('helpers', () => {
  it('jsonlDocuments reports broken JSON with its line', () => {
    expect(() => jsonlDocuments('{"text": "a"}\n{oops\n', 'f.jsonl')).toThrow(/f\.jsonl:2: not valid JSON/);
  });
  it('textPieces cuts only at line starts and loses nothing', () => {
    const text = 'alpha beta\n  gamma\ndelta\n\nepsilon zeta\n'.repeat(50);
    const pieces = textPieces(text, 64);
    expect(pieces.join('')).toBe(text);
    for (const p of pieces.slice(1)) expect(/^\S/.test(p)).toBe(true);
    expect(pieces.length).toBeGreaterThan(10);
  });
  it('splitTokens needs one sequence in each split', () => {
    expect(() => splitTokens(new Uint16Array(0), 0.1, 8)).toThrow(/holds no tokens/);
    expect(() => splitTokens(new Uint16Array(50), 0.1, 8)).toThrow(
      /shorter than one sequence per split: 50 tokens give 45 train \+ 5 validation/,
    );
    const s = splitTokens(
      Uint16Array.from({ length: 100 }, (_, i) => i),
      0.1,
      8,
    );
    expect([s.train.length, s.val.length, s.val[0]]).toEqual([90, 10, 90]);
  });
});
