/**
 * Where one decode step of the 2.8B-shaped random model goes (issue 18), kernel by kernel:
 *
 *   node --single-threaded-gc --import tsx src/decode-step-profile.ts [--dtype int4|int8|bf16|f16|f32]
 *       [--layers N] [--steps N]
 *
 * Every kernel the step runs is re-registered on `cpu` behind a wall-clock timer (tf.profile reads each
 * output back and so distorts small kernels), and so is the decode layer (@dcformer/kernels), whose
 * blocks the addon times phase by phase (DCFORMER_DECODE_LAYER_PROFILE=1, set here). After one
 * unmeasured generation, one generation of a 4-token prompt and `--steps` new tokens is measured; per
 * kernel (compact matmuls per [M,K]×[N] shape) it prints calls and milliseconds per step and, for
 * compact matmuls, the GB/s of weights read; then the decode layer's phases. The prefill's calls are
 * included (their share is 1/steps). Prints to stdout; nothing is written.
 */
import * as tf from '@tensorflow/tfjs';
import { loadNative, registerCpuKernels } from '@dcformer/kernels-cpu';
import { type WeightDtype, decodeLayerFor, registerDecodeLayer } from '@dcformer/kernels';
import { generate, presetConfig } from '@dcformer/model';
import { randomModel } from './suites/decode-compact.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const dtype = flag('dtype', 'int4') as WeightDtype;
const layers = Number(flag('layers', '32'));
const steps = Number(flag('steps', '16'));

process.env.DCFORMER_DECODE_LAYER_PROFILE = '1'; // read once, when the addon loads
await tf.setBackend('cpu');
tf.enableProdMode();
registerCpuKernels('cpu');

interface Tally {
  calls: number;
  ms: number;
  bytes: number;
}
const tallies = new Map<string, Tally>();
let measuring = false;

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Puts kernel `name` of `cpu` behind a timer (keeps the kernel it wraps). */
function timeKernel(name: string): void {
  const kernel = tf.getKernel(name, 'cpu');
  if (kernel === undefined) return;
  tf.unregisterKernel(name, 'cpu');
  tf.registerKernel({
    ...kernel,
    kernelFunc: (args) => {
      const t0 = performance.now();
      const out = kernel.kernelFunc(args);
      const ms = performance.now() - t0;
      if (!measuring) return out;
      const { x, data, scales } = args.inputs as Record<string, tf.TensorInfo | undefined>;
      const compact = name === 'DcCompactMatMul' && x !== undefined && data !== undefined;
      const key = compact ? `${name} x[${x.shape}] w[${data.shape}]` : name;
      const t = tallies.get(key) ?? { calls: 0, ms: 0, bytes: 0 };
      t.calls++;
      t.ms += ms;
      if (compact) t.bytes += 4 * (sizeOf(data.shape) + (scales === undefined ? 0 : sizeOf(scales.shape)));
      tallies.set(key, t);
      return out;
    },
  });
}

for (const k of tf.getKernelsForBackend('cpu')) timeKernel(k.kernelName);
const layer = decodeLayerFor('cpu');
if (layer !== null)
  registerDecodeLayer('cpu', (call) => {
    const t0 = performance.now();
    layer(call);
    const t = tallies.get('decode layer') ?? { calls: 0, ms: 0, bytes: 0 };
    if (!measuring) return;
    t.calls++;
    t.ms += performance.now() - t0;
    tallies.set('decode layer', t);
  });
type Phases = { calls: number; phases: Record<string, number> };
const phasesOf = () => (loadNative().addon as unknown as { decodeLayerProfile?: () => Phases }).decodeLayerProfile?.();

const model = randomModel({ ...presetConfig('dcformer-2.8b'), nLayer: layers }, dtype);
const prompt = [[7, 138, 269, 400]];
generate(model, prompt, { maxNewTokens: 4 });
const stamps: number[] = [];
phasesOf(); // drops the unmeasured generation's sums
measuring = true;
generate(model, prompt, { maxNewTokens: steps, onToken: () => stamps.push(performance.now()) });
measuring = false;
const stepMs = (stamps[stamps.length - 1] - stamps[0]) / (stamps.length - 1);
const perStep = (ms: number) => (ms / steps).toFixed(2);
let kernelMs = 0;
console.log(
  `${dtype}, ${layers} layers: ${stepMs.toFixed(1)} ms per decode step (${(1000 / stepMs).toFixed(2)} tokens/s)`,
);
for (const [key, t] of [...tallies].sort((a, b) => b[1].ms - a[1].ms)) {
  kernelMs += t.ms;
  const rate = t.bytes > 0 ? `  ${(t.bytes / t.ms / 1e6).toFixed(1)} GB/s` : '';
  console.log(`${key}: ${(t.calls / steps).toFixed(1)} calls, ${perStep(t.ms)} ms per step${rate}`);
}
console.log(`all kernels: ${perStep(kernelMs)} ms per step; the rest of a step is tfjs's bookkeeping between kernels`);
const phases = phasesOf();
if (phases !== undefined && phases.calls > 0) {
  console.log(`decode layer phases (${(phases.calls / steps).toFixed(1)} blocks per step):`);
  for (const [name, ms] of Object.entries(phases.phases).sort((a, b) => b[1] - a[1]))
    console.log(`  ${name}: ${perStep(ms)} ms per step`);
}
model.dispose();
