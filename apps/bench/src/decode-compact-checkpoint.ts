/**
 * Writes a DCFormer-2.8B-shaped (or DCPythia-6.9B-shaped, --preset dcpythia-6.9b) checkpoint with random
 * BF16 weights for the loading-memory measurement of issue 18, streaming tensor by tensor (the file is
 * never held in memory). Not committed anywhere: write it to a scratch folder.
 *
 *   node --import tsx src/decode-compact-checkpoint.ts --out DIR [--preset dcformer-2.8b] [--layers N]
 *       [--dtype bf16|int8|int4] [--group-size G] [--format safetensors|bin]
 *
 * then e.g. `/usr/bin/time -v dcformer generate --model DIR --dtype bf16 --input ids.json ...` for the
 * peak RSS of loading and decoding.
 *
 * With `--dtype int8|int4 [--group-size G]` it writes a quantised checkpoint instead (what `dcformer
 * quantize` writes) through writeQuantizedFrom: random float32 rows quantised slice by slice, so the
 * float32 form of the model never exists (a 6.9B model's would be 27.6 GB).
 *
 * With `--format bin` the BF16 weights go into a PyTorch `pytorch_model.bin` instead (what
 * `torch.save(state_dict)` writes: a stored zip, ZIP64 past 4 GiB, `archive/data.pkl` + one storage
 * entry per tensor), written as a stream: each entry's CRC-32 is computed while its bytes are written
 * and patched into its local header afterwards.
 */
import { open } from 'node:fs/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configToJson, presetConfig, weightSpecs } from '@dcformer/model';
import { writeQuantizedFrom } from '@dcformer/model/node';
import { writeRawSafetensorsStreaming } from '@dcformer/checkpoint/node';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const out = flag('out', '');
if (out === '') throw new Error('--out DIR is required');
const base = presetConfig(flag('preset', 'dcformer-2.8b'));
const layers = Number(flag('layers', String(base.nLayer)));
const config = { ...base, nLayer: layers };
const dtype = flag('dtype', 'bf16');
if (dtype === 'int8' || dtype === 'int4') {
  // Random rows without a random number per weight (the quantiser is the cost that matters): windows
  // of one pool of values like the bf16 ones below, at a row-dependent offset.
  const pool = new Float32Array((1 << 20) + 65536);
  let s = 12345;
  for (let i = 0; i < pool.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    pool[i] = (s & 1 ? -1 : 1) * 2 ** -7 * (1 + ((s >>> 1) & 0x7f) / 128);
  }
  const started = performance.now();
  const block = await writeQuantizedFrom(
    out,
    config,
    dtype,
    (name, shape, n0, n1) => {
      const K = shape.length <= 1 ? (shape[0] ?? 1) : shape.slice(1).reduce((a, b) => a * b, 1);
      const rows = new Float32Array((n1 - n0) * K);
      if (shape.length === 1 && /norm/.test(name)) return rows.fill(1);
      for (let n = n0; n < n1; n++) {
        const at = ((n * 7919 + name.length * 104729) % (1 << 20)) & ~7;
        for (let k = 0; k < K; k += 65536) rows.set(pool.subarray(at, at + Math.min(65536, K - k)), (n - n0) * K + k);
      }
      return rows;
    },
    Number(flag('group-size', '64')),
  );
  console.log(
    `wrote ${out}: ${dtype} G${block.group_size}, ${block.modules.length} quantised weights, ${layers} layers, in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  process.exit(0);
}
if (dtype !== 'bf16') throw new Error(`--dtype must be bf16 (default), int8 or int4; got '${dtype}'`);
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, 'config.json'),
  `${JSON.stringify({ ...configToJson(config), torch_dtype: 'bfloat16' }, null, 2)}\n`,
);

const specs = weightSpecs(config);
let seed = 12345;
/** Fills `chunk` (n bytes) with the next random bf16 weights (norms: 1.0). */
function fill(chunk: Uint32Array, n: number, norm: boolean): void {
  for (let i = 0; i < n / 4; i++) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    // norms: 1.0; the rest: ±[2^-7, 2^-6) with random mantissa
    chunk[i] = norm ? 0x3f803f80 : ((seed >>> 0) & 0x807f807f) | 0x3c003c00;
  }
}

// The .bin writer's declarations (below) must be initialised before it runs: it is called at the end.
const format = flag('format', 'safetensors');
if (format !== 'safetensors' && format !== 'bin')
  throw new Error(`--format must be safetensors (default) or bin; got '${format}'`);

if (format === 'safetensors') {
  const raw = new Map(specs.map((s) => [s.official, { dtype: 'BF16' as const, shape: s.shape }]));
  const norms = new Set(specs.filter((s) => s.shape.length === 1).map((s) => s.official));
  const chunk = new Uint32Array(1 << 22); // 16 MiB of random bf16 pairs at a time
  let bytes = 0;
  await writeRawSafetensorsStreaming(
    out,
    raw,
    function* (name) {
      const shape = (raw.get(name) as { shape: readonly number[] }).shape;
      for (let left = 2 * shape.reduce((a, b) => a * b, 1); left > 0; ) {
        const n = Math.min(left, chunk.byteLength);
        fill(chunk, n, norms.has(name));
        bytes += n;
        yield new Uint8Array(chunk.buffer, 0, n);
        left -= n;
      }
    },
    { producer: 'decode-compact-checkpoint (random)' },
  );
  console.log(
    `wrote ${out}: ${specs.length} tensors, ${(bytes / 1e9).toFixed(2)} GB of BF16 weights, ${layers} layers`,
  );
}

// ---- pytorch_model.bin, streamed ----

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array, previous: number): number {
  let c = ~previous;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** Protocol-2 pickle of an OrderedDict name → torch._utils._rebuild_tensor_v2(BFloat16 storage k, …). */
function statePickle(): Uint8Array {
  const out: number[] = [];
  const raw = (...b: number[]) => out.push(...b);
  const ascii = (t: string) => {
    for (const ch of t) out.push(ch.charCodeAt(0));
  };
  const u32 = (n: number) => raw(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  const str = (t: string) => {
    raw(0x58); // BINUNICODE
    u32(t.length);
    ascii(t);
  };
  const int = (n: number) => {
    raw(0x4a); // BININT
    u32(n);
  };
  const global = (module: string, name: string) => {
    raw(0x63);
    ascii(`${module}\n${name}\n`);
  };
  const [MARK, TUPLE, REDUCE, BINPERSID, SETITEMS, EMPTY_TUPLE, NEWFALSE] = [0x28, 0x74, 0x52, 0x51, 0x75, 0x29, 0x89];
  const orderedDict = () => {
    global('collections', 'OrderedDict');
    raw(EMPTY_TUPLE, REDUCE);
  };
  raw(0x80, 2);
  orderedDict();
  raw(MARK);
  for (const [k, s] of specs.entries()) {
    const numel = s.shape.reduce((a, b) => a * b, 1);
    str(s.official);
    global('torch._utils', '_rebuild_tensor_v2');
    raw(MARK, MARK);
    str('storage');
    global('torch', 'BFloat16Storage');
    str(String(k));
    str('cpu');
    int(numel);
    raw(TUPLE, BINPERSID);
    int(0);
    raw(MARK);
    for (const d of s.shape) int(d);
    raw(TUPLE, MARK);
    for (let i = 0; i < s.shape.length; i++) int(s.shape.slice(i + 1).reduce((a, b) => a * b, 1));
    raw(TUPLE, NEWFALSE);
    orderedDict();
    raw(TUPLE, REDUCE);
  }
  raw(SETITEMS, 0x2e); // STOP
  return Uint8Array.from(out);
}

/** A stored (uncompressed) ZIP64 archive written entry by entry; local headers patched with the CRC. */
async function writeTorchBin(path: string): Promise<void> {
  const file = await open(path, 'w');
  let at = 0;
  const put = async (b: Uint8Array) => {
    await file.write(b, 0, b.length, at);
    at += b.length;
  };
  const central: Uint8Array[] = [];
  const entry = async (
    name: string,
    size: number,
    produce: (write: (b: Uint8Array) => Promise<void>) => Promise<void>,
  ) => {
    const nameBytes = new TextEncoder().encode(name);
    const pad = (64 - ((at + 30 + nameBytes.length + 4) % 64)) % 64; // data 64-byte aligned, as torch does
    const local = new Uint8Array(30 + nameBytes.length + 4 + pad);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 45, true);
    lv.setUint32(18, size, true);
    lv.setUint32(22, size, true);
    lv.setUint16(26, nameBytes.length, true);
    lv.setUint16(28, 4 + pad, true);
    local.set(nameBytes, 30);
    lv.setUint16(30 + nameBytes.length, 0x4246, true);
    lv.setUint16(32 + nameBytes.length, pad, true);
    const localOffset = at;
    await put(local);
    let crc = 0;
    await produce(async (b) => {
      crc = crc32(b, crc);
      await put(b);
    });
    const patch = new Uint8Array(4);
    new DataView(patch.buffer).setUint32(0, crc, true);
    await file.write(patch, 0, 4, localOffset + 14);
    const c = new Uint8Array(46 + nameBytes.length + 28);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 45, true);
    cv.setUint16(6, 45, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, 0xffffffff, true);
    cv.setUint32(24, 0xffffffff, true);
    cv.setUint16(28, nameBytes.length, true);
    cv.setUint16(30, 28, true);
    cv.setUint32(42, 0xffffffff, true);
    c.set(nameBytes, 46);
    const x = 46 + nameBytes.length;
    cv.setUint16(x, 1, true);
    cv.setUint16(x + 2, 24, true);
    cv.setBigUint64(x + 4, BigInt(size), true);
    cv.setBigUint64(x + 12, BigInt(size), true);
    cv.setBigUint64(x + 20, BigInt(localOffset), true);
    central.push(c);
  };
  const pkl = statePickle();
  await entry('archive/data.pkl', pkl.length, (write) => write(pkl));
  const chunk = new Uint32Array(1 << 22);
  let total = 0;
  for (const [k, s] of specs.entries()) {
    const bytes = 2 * s.shape.reduce((a, b) => a * b, 1);
    total += bytes;
    await entry(`archive/data/${k}`, bytes, async (write) => {
      for (let left = bytes; left > 0; ) {
        const n = Math.min(left, chunk.byteLength);
        fill(chunk, n, s.shape.length === 1);
        await write(new Uint8Array(chunk.buffer, 0, n));
        left -= n;
      }
    });
  }
  const version = new TextEncoder().encode('3\n');
  await entry('archive/version', version.length, (write) => write(version));
  const cdOffset = at;
  for (const c of central) await put(c);
  const cdSize = at - cdOffset;
  const tail = new Uint8Array(56 + 20 + 22);
  const tv = new DataView(tail.buffer);
  tv.setUint32(0, 0x06064b50, true); // ZIP64 end of central directory
  tv.setBigUint64(4, 44n, true);
  tv.setUint16(12, 45, true);
  tv.setUint16(14, 45, true);
  tv.setBigUint64(24, BigInt(central.length), true);
  tv.setBigUint64(32, BigInt(central.length), true);
  tv.setBigUint64(40, BigInt(cdSize), true);
  tv.setBigUint64(48, BigInt(cdOffset), true);
  tv.setUint32(56, 0x07064b50, true); // its locator
  tv.setBigUint64(64, BigInt(at), true);
  tv.setUint32(72, 1, true);
  tv.setUint32(76, 0x06054b50, true); // end of central directory, every field deferring to ZIP64
  tv.setUint16(84, 0xffff, true);
  tv.setUint16(86, 0xffff, true);
  tv.setUint32(88, 0xffffffff, true);
  tv.setUint32(92, 0xffffffff, true);
  await put(tail);
  await file.close();
  console.log(
    `wrote ${path}: ${specs.length} tensors, ${(total / 1e9).toFixed(2)} GB of BF16 weights, ${layers} layers`,
  );
}

if (format === 'bin') await writeTorchBin(join(out, 'pytorch_model.bin'));
