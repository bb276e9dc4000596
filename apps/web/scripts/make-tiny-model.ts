/**
 * Writes public/models/tiny/: the `tiny` preset initialised with a fixed seed (initModel, official
 * init), the byte-level tokenizer of @dcformer/tokenizer, config.json with the official keys. Weights
 * are stored as F16 (the loader computes in float32): 2.2 MB instead of 4.4 MB in the repository.
 * The Node cpu reference in test/e2e.test.ts loads these same files, so both sides see the same
 * float16-rounded numbers. Run: npm run make-tiny-model -w @dcformer/web
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { configToJson, initModel, presetConfig } from '@dcformer/model';
import { encodeF16Safetensors } from './f16.js';

export const TINY_SEED = 20240501;

const out = new URL('../public/models/tiny/', import.meta.url);
await tf.setBackend('cpu');
const model = initModel(presetConfig('tiny'), TINY_SEED);
const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
for (const [name, v] of model.variables) tensors.set(name, { shape: [...v.shape], data: v.dataSync() as Float32Array });
mkdirSync(out, { recursive: true });
writeFileSync(
  new URL('model.safetensors', out),
  encodeF16Safetensors(tensors, { producer: 'dcformer-ts apps/web make-tiny-model', seed: String(TINY_SEED) }),
);
writeFileSync(new URL('config.json', out), `${JSON.stringify(configToJson(model.config), null, 2)}\n`);
const require = createRequire(import.meta.url);
copyFileSync(require.resolve('@dcformer/tokenizer/assets/byte-level/tokenizer.json'), new URL('tokenizer.json', out));
model.dispose();
console.log(`wrote ${out.pathname}`);
