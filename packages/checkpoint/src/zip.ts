/**
 * A minimal ZIP reader (and stored-only writer) for PyTorch checkpoints. `torch.save` (>= 1.6) writes
 * an uncompressed ("stored") zip whose entries are a pickle and one raw file per storage; files over
 * 4 GiB use the ZIP64 records. We read only what that needs: the end-of-central-directory record
 * (ZIP64 included), the central directory, and each entry's bytes on demand, so a 5.8 GB checkpoint
 * is never held whole. Compressed, encrypted or multi-disk archives are refused with a clear error.
 *
 * Pure and browser-safe: all I/O goes through `RandomAccessSource`; the Node file-backed source lives
 * in torch-bin.ts.
 */
import { CheckpointError } from './errors.js';

/** Random access to the archive's bytes: memory here, a file handle in Node. */
export interface RandomAccessSource {
  readonly size: number;
  /** Used in error messages (usually the file path). */
  readonly label: string;
  /** Exactly `length` bytes from `offset`; may be a view that the caller must not modify. */
  read(offset: number, length: number): Promise<Uint8Array>;
  close?(): Promise<void>;
}

export interface ZipEntry {
  name: string;
  /** 0 = stored; anything else is refused when the entry is read. */
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

export interface ZipReadOptions {
  /** Check the CRC-32 when a whole entry is read (default true). Partial reads are never checked. */
  verifyCrc?: boolean;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_EOCD_SIZE = 56;
const MAX_COMMENT = 0xffff;

function fail(label: string, message: string): never {
  throw new CheckpointError(`zip ${label}: ${message}`, { file: label });
}

function u64(view: DataView, at: number, label: string, what: string): number {
  const value = view.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail(label, `${what} ${value} is too large`);
  return Number(value);
}

/** Wraps bytes already in memory; reads return views, so nothing is copied. */
export function memorySource(bytes: Uint8Array, label = '<zip buffer>'): RandomAccessSource {
  return {
    size: bytes.length,
    label,
    read: async (offset, length) => {
      if (offset < 0 || length < 0 || offset + length > bytes.length) {
        fail(label, `read of ${length} bytes at ${offset} runs past the end (${bytes.length} bytes)`);
      }
      return bytes.subarray(offset, offset + length);
    },
  };
}

export class ZipArchive {
  private readonly dataStarts = new Map<string, number>();

  private constructor(
    readonly source: RandomAccessSource,
    readonly entries: ReadonlyMap<string, ZipEntry>,
    /** Where the central directory starts: every entry's data must end before it. */
    private readonly directoryOffset: number,
    private readonly options: ZipReadOptions,
  ) {}

  get label(): string {
    return this.source.label;
  }

  static async open(source: RandomAccessSource, options: ZipReadOptions = {}): Promise<ZipArchive> {
    const { label, size } = source;
    const tailLength = Math.min(size, EOCD_SIZE + MAX_COMMENT + ZIP64_LOCATOR_SIZE);
    const tail = await source.read(size - tailLength, tailLength);
    const dir = await locateDirectory(source, tail, size - tailLength);
    if (dir.offset + dir.size > size) {
      fail(
        label,
        `central directory [${dir.offset}, ${dir.offset + dir.size}) runs past the end of the file (${size} bytes); the file is truncated`,
      );
    }
    const cd = await source.read(dir.offset, dir.size);
    const entries = parseCentralDirectory(cd, dir.count, label);
    checkDisjoint(entries, dir.offset, label);
    return new ZipArchive(source, entries, dir.offset, options);
  }

  entry(name: string): ZipEntry {
    const e = this.entries.get(name);
    if (e === undefined) fail(this.label, `no entry named '${name}'`);
    return e;
  }

  /** The entry's bytes, or `length` of them from `offset` within the entry. */
  async read(name: string, offset = 0, length?: number): Promise<Uint8Array> {
    const want = length ?? this.entry(name).uncompressedSize - offset;
    const e = this.checkedEntry(name, offset, want);
    const start = await this.dataStart(e);
    const bytes = await this.source.read(start + offset, want);
    if (offset === 0 && want === e.uncompressedSize && this.options.verifyCrc !== false) {
      const actual = crc32(bytes);
      if (actual !== e.crc32) {
        fail(
          this.label,
          `entry '${name}' fails its CRC-32 check (stored ${hex(e.crc32)}, computed ${hex(actual)}); the file is corrupt`,
        );
      }
    }
    return bytes;
  }

  /**
   * Visits `length` bytes of an entry from `offset` in chunks of at most `chunkBytes`, so a multi-GB
   * storage is never read in one piece; the CRC-32 is checked incrementally when the whole entry is
   * read (and before the last chunk is handed over, so a corrupt entry never completes).
   */
  async readChunks(
    name: string,
    offset: number,
    length: number,
    chunkBytes: number,
    visit: (chunk: Uint8Array, at: number) => void,
  ): Promise<void> {
    const e = this.checkedEntry(name, offset, length);
    const start = await this.dataStart(e);
    const whole = offset === 0 && length === e.uncompressedSize && this.options.verifyCrc !== false;
    let crc = 0;
    for (let at = 0; at < length; at += chunkBytes) {
      const chunk = await this.source.read(start + offset + at, Math.min(chunkBytes, length - at));
      if (whole) {
        crc = crc32(chunk, crc);
        if (at + chunk.length === length && crc !== e.crc32) {
          fail(
            this.label,
            `entry '${name}' fails its CRC-32 check (stored ${hex(e.crc32)}, computed ${hex(crc)}); the file is corrupt`,
          );
        }
      }
      visit(chunk, at);
    }
    if (whole && length === 0 && e.crc32 !== 0)
      fail(
        this.label,
        `entry '${name}' fails its CRC-32 check (stored ${hex(e.crc32)}, computed ${hex(0)}); the file is corrupt`,
      );
  }

  private checkedEntry(name: string, offset: number, length: number): ZipEntry {
    const e = this.entry(name);
    if (e.flags & 1) fail(this.label, `entry '${name}' is encrypted; PyTorch checkpoints never are`);
    if (e.method !== 0) {
      fail(
        this.label,
        `entry '${name}' uses compression method ${e.method} (${methodName(e.method)}); only stored (method 0) entries are supported, which is what torch.save writes`,
      );
    }
    if (e.compressedSize !== e.uncompressedSize) {
      fail(
        this.label,
        `stored entry '${name}' has compressed size ${e.compressedSize} != uncompressed size ${e.uncompressedSize}`,
      );
    }
    if (offset < 0 || length < 0 || offset + length > e.uncompressedSize) {
      fail(this.label, `read of ${length} bytes at ${offset} is outside entry '${name}' (${e.uncompressedSize} bytes)`);
    }
    return e;
  }

  async close(): Promise<void> {
    await this.source.close?.();
  }

  /** The local header repeats name and extra field with its own lengths (torch pads the extra field
   * so data is 64-byte aligned), so the data offset comes from the local header, not the directory. */
  private async dataStart(e: ZipEntry): Promise<number> {
    const cached = this.dataStarts.get(e.name);
    if (cached !== undefined) return cached;
    if (e.localHeaderOffset + 30 > this.directoryOffset) {
      fail(
        this.label,
        `entry '${e.name}': local header at ${e.localHeaderOffset} is past the central directory (${this.directoryOffset})`,
      );
    }
    const header = await this.source.read(e.localHeaderOffset, 30);
    const view = new DataView(header.buffer, header.byteOffset, 30);
    if (view.getUint32(0, true) !== SIG_LOCAL)
      fail(this.label, `entry '${e.name}': no local header signature at ${e.localHeaderOffset}`);
    const start = e.localHeaderOffset + 30 + view.getUint16(26, true) + view.getUint16(28, true);
    if (start + e.compressedSize > this.directoryOffset) {
      fail(
        this.label,
        `entry '${e.name}': data [${start}, ${start + e.compressedSize}) overlaps the central directory at ${this.directoryOffset}; the file is corrupt`,
      );
    }
    this.dataStarts.set(e.name, start);
    return start;
  }
}

/**
 * Entries must not overlap: torch.save writes each once, one after another. Overlapping entries
 * would let a small file present many large storages (the same bytes counted again and again).
 */
function checkDisjoint(entries: ReadonlyMap<string, ZipEntry>, directoryOffset: number, label: string): void {
  const sorted = [...entries.values()].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i];
    // 30 bytes of local header at least, then the data; the next entry (or the directory) comes after.
    const end = e.localHeaderOffset + 30 + e.compressedSize;
    const next = i + 1 < sorted.length ? sorted[i + 1] : undefined;
    const limit = next?.localHeaderOffset ?? directoryOffset;
    if (end > limit) {
      const other =
        next === undefined
          ? `the central directory at ${directoryOffset}`
          : `entry '${next.name}' at ${next.localHeaderOffset}`;
      fail(
        label,
        `entry '${e.name}' (local header at ${e.localHeaderOffset}, ${e.compressedSize} bytes) overlaps ${other}; the file is corrupt`,
      );
    }
  }
}

/** Opens an archive held in memory. */
export function openZip(bytes: Uint8Array, label = '<zip buffer>', options: ZipReadOptions = {}): Promise<ZipArchive> {
  return ZipArchive.open(memorySource(bytes, label), options);
}

interface DirectoryLocation {
  offset: number;
  size: number;
  count: number;
}

/** Finds the end-of-central-directory record (searching back over a possible comment), then the ZIP64
 * record when the classic fields are saturated or a ZIP64 locator precedes the record. */
async function locateDirectory(
  source: RandomAccessSource,
  tail: Uint8Array,
  tailStart: number,
): Promise<DirectoryLocation> {
  const { label, size } = source;
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let at = -1;
  for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
    if (view.getUint32(i, true) === SIG_EOCD && i + EOCD_SIZE + view.getUint16(i + 20, true) <= tail.length) {
      at = i;
      break;
    }
  }
  if (at < 0) {
    fail(
      label,
      `no end-of-central-directory record in the last ${tail.length} bytes (file is ${size} bytes); the file is truncated or not a zip archive`,
    );
  }
  const disk = view.getUint16(at + 4, true);
  const cdDisk = view.getUint16(at + 6, true);
  let count = view.getUint16(at + 10, true);
  let cdSize = view.getUint32(at + 12, true);
  let cdOffset = view.getUint32(at + 16, true);
  const hasLocator = at >= ZIP64_LOCATOR_SIZE && view.getUint32(at - ZIP64_LOCATOR_SIZE, true) === SIG_ZIP64_LOCATOR;
  const saturated = count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff;
  if (saturated || hasLocator) {
    if (!hasLocator)
      fail(label, 'end-of-central-directory fields are saturated but there is no ZIP64 locator; the file is corrupt');
    const loc = at - ZIP64_LOCATOR_SIZE;
    const recordOffset = u64(view, loc + 8, label, 'ZIP64 record offset');
    if (view.getUint32(loc + 16, true) > 1) fail(label, 'multi-disk archives are not supported');
    if (recordOffset + ZIP64_EOCD_SIZE > tailStart + loc) {
      fail(label, `ZIP64 end-of-central-directory offset ${recordOffset} is past its locator; the file is corrupt`);
    }
    const record = await source.read(recordOffset, ZIP64_EOCD_SIZE);
    const r = new DataView(record.buffer, record.byteOffset, ZIP64_EOCD_SIZE);
    if (r.getUint32(0, true) !== SIG_ZIP64_EOCD)
      fail(label, `no ZIP64 end-of-central-directory record at ${recordOffset}`);
    if (r.getUint32(16, true) !== 0 || r.getUint32(20, true) !== 0)
      fail(label, 'multi-disk archives are not supported');
    count = u64(r, 32, label, 'entry count');
    cdSize = u64(r, 40, label, 'central directory size');
    cdOffset = u64(r, 48, label, 'central directory offset');
  } else if (disk !== 0 || cdDisk !== 0) {
    fail(label, 'multi-disk archives are not supported');
  }
  return { offset: cdOffset, size: cdSize, count };
}

function parseCentralDirectory(cd: Uint8Array, count: number, label: string): Map<string, ZipEntry> {
  const view = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
  const decoder = new TextDecoder('utf-8');
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > cd.length || view.getUint32(at, true) !== SIG_CENTRAL) {
      fail(label, `central directory entry ${i} of ${count} is missing or corrupt (at directory byte ${at})`);
    }
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const commentLength = view.getUint16(at + 32, true);
    const end = at + 46 + nameLength + extraLength + commentLength;
    if (end > cd.length) fail(label, `central directory entry ${i} runs past the directory's end`);
    const name = decoder.decode(cd.subarray(at + 46, at + 46 + nameLength));
    const entry: ZipEntry = {
      name,
      flags: view.getUint16(at + 8, true),
      method: view.getUint16(at + 10, true),
      crc32: view.getUint32(at + 16, true),
      compressedSize: view.getUint32(at + 20, true),
      uncompressedSize: view.getUint32(at + 24, true),
      localHeaderOffset: view.getUint32(at + 42, true),
    };
    const startDisk = view.getUint16(at + 34, true);
    applyZip64Extra(entry, view, at + 46 + nameLength, extraLength, startDisk, label);
    if (entries.has(name)) fail(label, `entry '${name}' appears twice in the central directory`);
    entries.set(name, entry);
    at = end;
  }
  return entries;
}

/** ZIP64 extra field (id 1): the 64-bit values, in this order, of exactly those fields saturated above. */
function applyZip64Extra(
  e: ZipEntry,
  view: DataView,
  start: number,
  length: number,
  startDisk: number,
  label: string,
): void {
  const needs = [
    e.uncompressedSize === 0xffffffff,
    e.compressedSize === 0xffffffff,
    e.localHeaderOffset === 0xffffffff,
  ];
  let at = start;
  const end = start + length;
  while (at + 4 <= end) {
    const id = view.getUint16(at, true);
    const size = view.getUint16(at + 2, true);
    if (at + 4 + size > end) break;
    if (id === 1) {
      let p = at + 4;
      const take = (what: string): number => {
        if (p + 8 > at + 4 + size) fail(label, `entry '${e.name}': ZIP64 extra field is too short for ${what}`);
        const v = u64(view, p, label, `entry '${e.name}' ${what}`);
        p += 8;
        return v;
      };
      if (needs[0]) e.uncompressedSize = take('uncompressed size');
      if (needs[1]) e.compressedSize = take('compressed size');
      if (needs[2]) e.localHeaderOffset = take('local header offset');
      if (startDisk === 0xffff && (p + 4 > at + 4 + size || view.getUint32(p, true) !== 0)) {
        fail(label, 'multi-disk archives are not supported');
      }
      return;
    }
    at += 4 + size;
  }
  if (needs.some(Boolean)) fail(label, `entry '${e.name}' has saturated 32-bit fields but no ZIP64 extra field`);
  if (startDisk !== 0) fail(label, 'multi-disk archives are not supported');
}

function methodName(method: number): string {
  const names: Record<number, string> = { 8: 'deflate', 9: 'deflate64', 12: 'bzip2', 14: 'lzma', 93: 'zstd', 95: 'xz' };
  return names[method] ?? 'unknown';
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

let CRC_TABLES: Uint32Array[] | undefined;

/** CRC-32 (IEEE 802.3, as zip uses). Slice-by-8: eight table lookups per 8 bytes, ~3x a byte loop,
 * which matters when every storage of a multi-GB checkpoint is checked. */
export function crc32(bytes: Uint8Array, previous = 0): number {
  if (CRC_TABLES === undefined) {
    const t = Array.from({ length: 8 }, () => new Uint32Array(256));
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      t[0][n] = c >>> 0;
    }
    for (let n = 0; n < 256; n++) {
      for (let k = 1; k < 8; k++) t[k][n] = (t[k - 1][n] >>> 8) ^ t[0][t[k - 1][n] & 0xff];
    }
    CRC_TABLES = t;
  }
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC_TABLES;
  // Continuing from `previous` (the CRC of the bytes before) equals the CRC of the concatenation.
  let c = (previous ^ 0xffffffff) >>> 0;
  let i = 0;
  for (const end8 = bytes.length - 7; i < end8; i += 8) {
    const a = c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    c =
      t7[a & 0xff] ^
      t6[(a >>> 8) & 0xff] ^
      t5[(a >>> 16) & 0xff] ^
      t4[a >>> 24] ^
      t3[bytes[i + 4]] ^
      t2[bytes[i + 5]] ^
      t1[bytes[i + 6]] ^
      t0[bytes[i + 7]];
  }
  for (; i < bytes.length; i++) c = t0[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface BuildZipOptions {
  /** Write ZIP64 records even for small archives (how >4 GiB files look; used to test that path). */
  zip64?: boolean;
  /** Pad each entry's data to this alignment with an extra field, as torch.save does with 64. */
  align?: number;
}

/**
 * Writes an uncompressed zip in the layout torch.save uses (stored entries, aligned data). Meant for
 * tests and small tools; everything is built in memory.
 */
export function buildStoredZip(
  files: ReadonlyArray<readonly [string, Uint8Array]>,
  options: BuildZipOptions = {},
): Uint8Array {
  const encoder = new TextEncoder();
  const align = options.align ?? 64;
  const zip64 = options.zip64 === true;
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  const push = (c: Uint8Array): void => {
    chunks.push(c);
    offset += c.length;
  };
  for (const [name, data] of files) {
    const nameBytes = encoder.encode(name);
    const crc = crc32(data);
    // torch pads with an extra field (id 'FB') so data starts aligned; a field needs 4 bytes of header.
    const headerEnd = offset + 30 + nameBytes.length;
    const extraLength = align > 1 ? 4 + ((align - ((headerEnd + 4) % align)) % align) : 0;
    const local = new Uint8Array(30 + nameBytes.length + extraLength);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, SIG_LOCAL, true);
    lv.setUint16(4, zip64 ? 45 : 20, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, data.length, true);
    lv.setUint16(26, nameBytes.length, true);
    lv.setUint16(28, extraLength, true);
    local.set(nameBytes, 30);
    if (extraLength > 0) {
      lv.setUint16(30 + nameBytes.length, 0x4246, true);
      lv.setUint16(32 + nameBytes.length, extraLength - 4, true);
    }
    const localOffset = offset;
    push(local);
    push(data);
    const extra = zip64 ? 4 + 24 : 0;
    const c = new Uint8Array(46 + nameBytes.length + extra);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, SIG_CENTRAL, true);
    cv.setUint16(4, zip64 ? 45 : 20, true);
    cv.setUint16(6, zip64 ? 45 : 20, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, zip64 ? 0xffffffff : data.length, true);
    cv.setUint32(24, zip64 ? 0xffffffff : data.length, true);
    cv.setUint16(28, nameBytes.length, true);
    cv.setUint16(30, extra, true);
    cv.setUint32(42, zip64 ? 0xffffffff : localOffset, true);
    c.set(nameBytes, 46);
    if (zip64) {
      const x = 46 + nameBytes.length;
      cv.setUint16(x, 1, true);
      cv.setUint16(x + 2, 24, true);
      cv.setBigUint64(x + 4, BigInt(data.length), true);
      cv.setBigUint64(x + 12, BigInt(data.length), true);
      cv.setBigUint64(x + 20, BigInt(localOffset), true);
    }
    central.push(c);
  }
  const cdOffset = offset;
  for (const c of central) push(c);
  const cdSize = offset - cdOffset;
  if (zip64) {
    const record = new Uint8Array(ZIP64_EOCD_SIZE + ZIP64_LOCATOR_SIZE);
    const rv = new DataView(record.buffer);
    rv.setUint32(0, SIG_ZIP64_EOCD, true);
    rv.setBigUint64(4, BigInt(ZIP64_EOCD_SIZE - 12), true);
    rv.setUint16(12, 45, true);
    rv.setUint16(14, 45, true);
    rv.setBigUint64(24, BigInt(files.length), true);
    rv.setBigUint64(32, BigInt(files.length), true);
    rv.setBigUint64(40, BigInt(cdSize), true);
    rv.setBigUint64(48, BigInt(cdOffset), true);
    rv.setUint32(56, SIG_ZIP64_LOCATOR, true);
    rv.setBigUint64(56 + 8, BigInt(offset), true);
    rv.setUint32(56 + 16, 1, true);
    push(record);
  }
  const eocd = new Uint8Array(EOCD_SIZE);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, SIG_EOCD, true);
  ev.setUint16(8, zip64 ? 0xffff : files.length, true);
  ev.setUint16(10, zip64 ? 0xffff : files.length, true);
  ev.setUint32(12, zip64 ? 0xffffffff : cdSize, true);
  ev.setUint32(16, zip64 ? 0xffffffff : cdOffset, true);
  push(eocd);
  const out = new Uint8Array(offset);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
