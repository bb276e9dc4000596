/**
 * Writes a DCFormer-2.8B-shaped (or DCPythia-6.9B-shaped, --preset dcpythia-6.9b) checkpoint with random
 * BF16 weights for the loading-memory measurement of issue 18, streaming tensor by tensor (the file is
 * never held in memory). Not committed anywhere: write it to a scratch folder.
 *
 *   node --import tsx src/decode-compact-checkpoint.ts --out DIR [--preset dcformer-2.8b] [--layers N]
 *
 * then e.g. `/usr/bin/time -v dcformer generate --model DIR --dtype bf16 --input ids.json ...` for the
 * peak RSS of loading and decoding.
 */
import { open } from 'node:fs/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configToJson, presetConfig, weightSpecs } from '@dcformer/model';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const out = flag('out', '');
if (out === '') throw new Error('--out DIR is required');
const base = presetConfig(flag('preset', 'dcformer-2.8b'));
const layers = Number(flag('layers', String(base.nLayer)));
const config = { ...base, nLayer: layers };
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
