/**
 * Choosing and starting a tfjs backend. Every name of the contract is recognised so that a script
 * written for a fuller build fails with "not available" rather than "unknown"; only the backends
 * this build can register are in AVAILABLE, the default first.
 */
import { UsageError } from './args.js';
import { debugEnabled } from './report.js';

export const KNOWN_BACKENDS = ['cpu', 'wasm', 'webgpu', 'cuda'] as const;
export type BackendName = (typeof KNOWN_BACKENDS)[number];

/**
 * The default first. webgpu works in Node through Dawn (npm `webgpu`) when a Vulkan driver is found —
 * a GPU, or SwiftShader for tests — but is never the default: on a machine without a GPU it is far
 * slower than cpu. wasm and cuda join when their @dcformer/kernels-* packages exist.
 */
export const AVAILABLE: readonly BackendName[] = ['cpu', 'webgpu'];

/** Validates `--backend` without touching tfjs, so a typo fails before anything slow happens. */
export function resolveBackend(requested: string | undefined): BackendName {
  if (requested === undefined) return AVAILABLE[0];
  if (!(KNOWN_BACKENDS as readonly string[]).includes(requested)) {
    throw new UsageError(`--backend must be one of ${KNOWN_BACKENDS.join(', ')}; got '${requested}'`);
  }
  const name = requested as BackendName;
  if (!AVAILABLE.includes(name)) {
    throw new UsageError(`backend '${name}' is not available in this build (available: ${AVAILABLE.join(', ')})`);
  }
  return name;
}

export interface StartOptions {
  /**
   * Let @dcformer/kernels-cpu say once on stderr which path it took (native OpenBLAS or the tfjs
   * kernels). Default false (shown only with DCF_DEBUG=1): a command whose failing runs must print
   * exactly one stderr line keeps it quiet.
   */
  cpuPathNote?: boolean;
}

/**
 * Loads tfjs (lazily, so `--help` and usage errors stay instant), selects `name` and waits for it.
 * The full `@tensorflow/tfjs` bundle is imported because it registers the cpu backend *and* every
 * gradient in Node; tfjs-core alone registers no gradients (DESIGN.md "Backends"). On webgpu every
 * read of a result must be `await data()`: synchronous reads throw there.
 */
export async function startBackend(name: BackendName, options: StartOptions = {}): Promise<void> {
  if (name === 'webgpu') {
    // navigator.gpu must exist before tfjs-backend-webgpu is imported
    const { installNodeWebGPU } = await import('@dcformer/kernels-webgpu/node');
    const installed = await installNodeWebGPU();
    if (!installed.ok) throw new UsageError(`backend 'webgpu' has no adapter here: ${installed.reason}`);
  }
  const tf = await import('@tensorflow/tfjs');
  if (name === 'cpu') {
    // The fast path (OpenBLAS addon + copy kernels) when built; otherwise the stock kernels.
    if (!options.cpuPathNote && !debugEnabled()) process.env.DCFORMER_QUIET = '1';
    (await import('@dcformer/kernels-cpu')).registerCpuKernels('cpu');
  }
  if (name === 'webgpu') {
    await import('@tensorflow/tfjs-backend-webgpu');
    await import('@dcformer/kernels-webgpu/register');
  }
  if (!debugEnabled()) {
    // enableProdMode() is tfjs's documented switch for its console output; in 4.22 the PROD flag
    // gates only tfjs's own log/warn calls (log.ts, environment.ts), among them the cpu backend's
    // "Hi, looks like you are running TensorFlow.js in Node.js" banner, which would break the
    // one-line stderr contract. No numerical checks depend on it.
    tf.enableProdMode();
  }
  const ok = await tf.setBackend(name);
  if (!ok) throw new UsageError(`backend '${name}' failed to initialise`);
  await tf.ready();
  if (name === 'webgpu') (await import('@dcformer/kernels-webgpu')).tuneForAdapter();
}
