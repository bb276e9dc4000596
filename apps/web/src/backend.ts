/**
 * Picks the tfjs backend for the page: WebGPU (with our WGSL kernels) when the browser has an
 * adapter, else wasm, else cpu, with a visible notice for every fallback. `?backend=NAME` forces one.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
// tfjs-backend-webgpu registers its backend at import time, only if navigator.gpu exists.
import '@tensorflow/tfjs-backend-webgpu';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import '@dcformer/kernels-webgpu/register';
import { tuneForAdapter, webgpuAdapter } from '@dcformer/kernels-webgpu';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
});

export type BackendName = 'webgpu' | 'wasm' | 'cpu';
export const BACKENDS: readonly BackendName[] = ['webgpu', 'wasm', 'cpu'];

export interface BackendChoice {
  name: BackendName;
  /** Shown prominently: why the page is not on WebGPU, or that the adapter is a software one. */
  notice: string | null;
  /** e.g. "webgpu (google swiftshader)". */
  label: string;
  /** Largest single tensor in bytes the backend accepts (a model with a larger one is refused). */
  maxTensorBytes: number;
  /** Bytes of weights the backend can hold while leaving room to run; the model-size limit shown. */
  maxWeightBytes: number;
}

const GiB = 1024 ** 3;

async function whyNoWebGPU(): Promise<string> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (gpu === undefined) return 'this browser does not expose WebGPU (navigator.gpu is missing)';
  try {
    return (await gpu.requestAdapter()) === null
      ? 'the browser found no WebGPU adapter'
      : 'the WebGPU backend failed to start';
  } catch (e) {
    return `requestAdapter failed: ${(e as Error).message}`;
  }
}

/**
 * Makes dataSync()/arraySync() of a GPU-resident tensor throw instead of returning wrong numbers.
 * tfjs-backend-webgpu reads synchronously by drawing the buffer into a canvas; in headless
 * Chromium on SwiftShader (--disable-gpu) that returns zeros with no error. Tensors whose values
 * are still on the CPU (fresh uploads, results already read) keep working.
 */
function forbidSyncGpuReads(): void {
  const b = tf.backend() as WebGPUBackend;
  const original = b.readSync.bind(b);
  b.readSync = (dataId) => {
    const d = b.tensorMap.get(dataId);
    if (d === undefined || d.values != null || d.dtype === 'string' || d.dtype === 'complex64') return original(dataId);
    throw new Error(
      'a synchronous read (dataSync/arraySync) of a tensor on the GPU: WebGPU pages must read with await data()',
    );
  };
}

/**
 * WebGPU validation errors do not throw: the command buffer is dropped and its tensors read as
 * zeros. Report them loudly (console.error, and the page shows them) instead of showing wrong text.
 */
function reportGpuErrors(): void {
  const device = (tf.backend() as WebGPUBackend).device;
  device.addEventListener('uncapturederror', (e) => {
    const message = `WebGPU error (results after this point are unreliable): ${(e as GPUUncapturedErrorEvent).error.message}`;
    console.error(message);
    const notice = document.getElementById('notice');
    if (notice) {
      notice.hidden = false;
      notice.textContent = message;
    }
  });
}

function describe(name: BackendName): BackendChoice {
  if (name === 'webgpu') {
    forbidSyncGpuReads();
    reportGpuErrors();
    const adapter = webgpuAdapter();
    const limits = (tf.backend() as WebGPUBackend).device.limits;
    const software = tuneForAdapter();
    return {
      name,
      label: `webgpu (${[adapter?.vendor, adapter?.architecture].filter(Boolean).join(' ') || 'unknown adapter'})`,
      notice: software ? 'WebGPU runs on SwiftShader, a CPU emulation of a GPU: correct, but slow.' : null,
      maxTensorBytes: Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize),
      // Browsers do not report GPU memory; weights plus activations must fit in what the GPU has.
      maxWeightBytes: 2 * GiB,
    };
  }
  // wasm32: one heap of at most 4 GiB holds weights, activations and gradients.
  if (name === 'wasm')
    return { name, label: 'wasm (SIMD)', notice: null, maxTensorBytes: 2 * GiB, maxWeightBytes: 1.5 * GiB };
  return { name, label: 'cpu (plain JavaScript)', notice: null, maxTensorBytes: 2 * GiB, maxWeightBytes: 1.5 * GiB };
}

/** Starts the first backend of `order` that works; every skipped one adds to the notice. */
export async function chooseBackend(requested: string | null): Promise<BackendChoice> {
  const order: BackendName[] =
    requested && (BACKENDS as readonly string[]).includes(requested) ? [requested as BackendName] : [...BACKENDS];
  const skipped: string[] = [];
  for (const name of order) {
    let ok = false;
    try {
      ok = await tf.setBackend(name);
      await tf.ready();
    } catch {
      ok = false;
    }
    if (ok) {
      const choice = describe(name);
      if (skipped.length > 0) {
        const fallback = `Running on ${name} instead of WebGPU: ${skipped.join('; ')}. Generation works, only slower.`;
        choice.notice = choice.notice ? `${fallback} ${choice.notice}` : fallback;
      }
      return choice;
    }
    skipped.push(name === 'webgpu' ? await whyNoWebGPU() : `${name} failed to start`);
  }
  throw new Error(`no tfjs backend could start (${skipped.join('; ')})`);
}
