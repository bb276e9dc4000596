/**
 * Writes a DCFormer-2.8B-shaped (or DCPythia-6.9B-shaped, --preset dcpythia-6.9b) checkpoint with random
 * BF16 weights for the loading-memory measurement of issue 18, streaming tensor by tensor (the file is
 * never held in memory). Not committed anywhere: write it to a scratch folder.
 *
 *   node --import tsx src/decode-compact-checkpoint.ts --out DIR [--preset dcformer-2.8b] [--layers N]
 *       [--dtype bf16|int8|int4] [--group-size G]
 *
 * then e.g. `/usr/bin/time -v dcformer generate --model DIR --dtype bf16 --input ids.json ...` for the
 * peak RSS of loading and decoding.
 *
 * With `--dtype int8|int4 [--group-size G]` it writes a quantised checkpoint instead (what `dcformer
 * quantize` writes) through writeQuantizedFrom: random float32 rows quantised slice by slice, so the
 * float32 form of the model never exists (a 6.9B model's would be 27.6 GB).
 */
import { open } from 'node:fs/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configToJson, presetConfig, weightSpecs } from '@dcformer/model';
import { writeQuantizedFrom } from '@dcformer/model/node';

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
const header: Record<string, unknown> = {
  __metadata__: { format: 'pt', producer: 'decode-compact-checkpoint (random)' },
};
let offset = 0;
for (const s of specs) {
  const bytes = 2 * s.shape.reduce((a, b) => a * b, 1);
  header[s.official] = { dtype: 'BF16', shape: s.shape, data_offsets: [offset, offset + bytes] };
  offset += bytes;
}
const json = new TextEncoder().encode(JSON.stringify(header));
const headerLength = Math.ceil(json.length / 8) * 8;
const prefix = new Uint8Array(8 + headerLength).fill(0x20);
new DataView(prefix.buffer).setBigUint64(0, BigInt(headerLength), true);
prefix.set(json, 8);
const file = await open(join(out, 'model.safetensors'), 'w');
await file.write(prefix);
let seed = 12345;
const chunk = new Uint32Array(1 << 22); // 16 MiB of random bf16 pairs at a time
for (const s of specs) {
  let left = 2 * s.shape.reduce((a, b) => a * b, 1);
  const norm = s.shape.length === 1;
  while (left > 0) {
    const n = Math.min(left, chunk.byteLength);
    for (let i = 0; i < n / 4; i++) {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      // norms: 1.0; the rest: ±[2^-7, 2^-6) with random mantissa
      chunk[i] = norm ? 0x3f803f80 : ((seed >>> 0) & 0x807f807f) | 0x3c003c00;
    }
    await file.write(new Uint8Array(chunk.buffer, 0, n));
    left -= n;
  }
}
await file.close();
console.log(`wrote ${out}: ${specs.length} tensors, ${(offset / 1e9).toFixed(2)} GB of BF16 weights, ${layers} layers`);
