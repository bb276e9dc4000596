import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../src/errors.js';
import { buildStoredZip, crc32, memorySource, openZip, ZipArchive } from '../src/zip.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const FILES: Array<[string, Uint8Array]> = [
  ['archive/data.pkl', enc('pickle bytes')],
  ['archive/data/0', new Uint8Array(Array.from({ length: 100 }, (_, i) => i))],
  ['archive/data/1', new Uint8Array(0)],
];

async function expectZipError(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(CheckpointError.isInstance(e)).toBe(true);
  expect((e as Error).message).toMatch(pattern);
}

/** Byte offset of the n-th occurrence of a 4-byte little-endian signature. */
function findSignature(bytes: Uint8Array, signature: number, nth = 0): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0, seen = 0; i + 4 <= bytes.length; i++) {
    if (view.getUint32(i, true) === signature && seen++ === nth) return i;
  }
  throw new Error('signature not found');
}

describe('crc32', () => {
  it('matches the standard check value', () => {
    expect(crc32(enc('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});

describe('ZipArchive', () => {
  for (const options of [{}, { zip64: true }, { align: 1 }]) {
    it(`reads back what buildStoredZip wrote with ${JSON.stringify(options)}`, async () => {
      const bytes = buildStoredZip(FILES, options);
      const zip = await openZip(bytes, 'test.zip');
      expect([...zip.entries.keys()]).toEqual(FILES.map(([n]) => n));
      for (const [name, data] of FILES) {
        expect(Array.from(await zip.read(name))).toEqual(Array.from(data));
        expect(zip.entry(name).uncompressedSize).toBe(data.length);
      }
      expect(Array.from(await zip.read('archive/data/0', 10, 3))).toEqual([10, 11, 12]);
    });
  }

  it('aligns entry data to 64 bytes like torch.save, and in-memory reads are views', async () => {
    const bytes = buildStoredZip(FILES);
    const zip = await openZip(bytes);
    const data = await zip.read('archive/data/0');
    expect(data.buffer).toBe(bytes.buffer);
    expect(data.byteOffset % 64).toBe(0);
  });

  it('finds the end record behind an archive comment', async () => {
    const bytes = buildStoredZip(FILES);
    const comment = enc('a trailing comment');
    const withComment = new Uint8Array(bytes.length + comment.length);
    withComment.set(bytes);
    withComment.set(comment, bytes.length);
    new DataView(withComment.buffer).setUint16(bytes.length - 2, comment.length, true);
    const zip = await openZip(withComment);
    expect(zip.entries.size).toBe(3);
  });

  it('refuses a deflated entry, naming the entry and the method', async () => {
    const bytes = buildStoredZip(FILES);
    const central = findSignature(bytes, 0x02014b50, 1); // archive/data/0
    new DataView(bytes.buffer).setUint16(central + 10, 8, true);
    const zip = await openZip(bytes, 'deflated.zip');
    expect(Array.from(await zip.read('archive/data.pkl'))).toEqual(Array.from(FILES[0][1]));
    await expectZipError(
      zip.read('archive/data/0'),
      /deflated\.zip: entry 'archive\/data\/0' uses compression method 8 \(deflate\); only stored/,
    );
  });

  it('explains a truncated file', async () => {
    const bytes = buildStoredZip(FILES);
    await expectZipError(
      openZip(bytes.subarray(0, bytes.length - 30), 'cut.zip'),
      /cut\.zip: no end-of-central-directory record.*truncated/,
    );
    await expectZipError(openZip(bytes.subarray(0, 10)), /truncated or not a zip/);
    await expectZipError(openZip(new Uint8Array(0)), /truncated or not a zip/);
    // Keep the end record but drop the middle: the directory now points past the end.
    const cd = findSignature(bytes, 0x02014b50);
    const spliced = new Uint8Array([...bytes.subarray(0, cd - 40), ...bytes.subarray(cd)]);
    await expectZipError(
      openZip(spliced),
      /central directory .* runs past the end of the file.*truncated|missing or corrupt/,
    );
  });

  it('detects corrupted data through the CRC, unless asked not to check', async () => {
    const bytes = buildStoredZip(FILES);
    const zip = await openZip(bytes);
    const data = await zip.read('archive/data/0');
    data[5] ^= 0xff;
    await expectZipError(zip.read('archive/data/0'), /'archive\/data\/0' fails its CRC-32 check/);
    const unchecked = await openZip(bytes, 'x', { verifyCrc: false });
    expect((await unchecked.read('archive/data/0'))[5]).toBe(5 ^ 0xff);
  });

  it('rejects unknown entries, reads outside an entry and a corrupt local header', async () => {
    const bytes = buildStoredZip(FILES);
    const zip = await openZip(bytes);
    await expectZipError(zip.read('nope'), /no entry named 'nope'/);
    await expectZipError(zip.read('archive/data/0', 90, 20), /outside entry 'archive\/data\/0' \(100 bytes\)/);
    bytes[0] = 0;
    await expectZipError((await openZip(bytes)).read('archive/data.pkl'), /no local header signature/);
  });

  it('rejects saturated size fields without a ZIP64 locator', async () => {
    const bytes = buildStoredZip(FILES);
    const eocd = findSignature(bytes, 0x06054b50);
    new DataView(bytes.buffer).setUint32(eocd + 16, 0xffffffff, true);
    await expectZipError(openZip(bytes), /saturated but there is no ZIP64 locator/);
  });

  it('reads through any RandomAccessSource, fetching only what it needs', async () => {
    const bytes = buildStoredZip([...FILES, ['archive/data/2', new Uint8Array(1 << 20)]]);
    const reads: Array<[number, number]> = [];
    const inner = memorySource(bytes);
    const zip = await ZipArchive.open({
      size: bytes.length,
      label: 'counted',
      read: (o, l) => {
        reads.push([o, l]);
        return inner.read(o, l);
      },
    });
    const total = () => reads.reduce((a, [, l]) => a + l, 0);
    // The tail that may hold the end record (at most a 64 KiB comment) and the directory, not the 1 MiB entry.
    expect(total()).toBeLessThan(70_000);
    const before = total();
    await zip.read('archive/data/0', 0, 4);
    expect(total() - before).toBe(30 + 4); // the local header, then just the 4 bytes
  });
});

// The oracle fixtures are committed at <repo>/fixtures/oracle, so resolve them from this file (any checkout path) and
// let a missing file fail the test instead of skipping it: its absence means a broken checkout.
const ORACLE_DIR = fileURLToPath(new URL('../../../fixtures/oracle/', import.meta.url));
const REAL = join(ORACLE_DIR, 'case1_dcformer_lgll/torch_fp16/pytorch_model.bin');
describe('a real torch.save archive', () => {
  it('lists data.pkl, version and 71 storages, all passing their CRC', async () => {
    const zip = await openZip(new Uint8Array(readFileSync(REAL)), REAL);
    const names = [...zip.entries.keys()];
    expect(names.length).toBe(73);
    expect(names).toContain('pytorch_model/data.pkl');
    expect(names.filter((n) => n.startsWith('pytorch_model/data/')).length).toBe(71);
    for (const name of names) await zip.read(name);
    expect(new TextDecoder().decode(await zip.read('pytorch_model/version')).trim()).toBe('3');
  });
});
