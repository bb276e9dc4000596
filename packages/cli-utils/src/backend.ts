/**
 * Choosing and starting a tfjs backend. Every name of the contract is recognised so that a script
 * written for a fuller build fails with "not available" rather than "unknown"; only the backends
 * this build can register are in AVAILABLE.
 */
import { UsageError } from './args.js';
import { debugEnabled } from './report.js';

export const KNOWN_BACKENDS = ['cpu', 'wasm', 'webgpu', 'cuda'] as const;
export type BackendName = (typeof KNOWN_BACKENDS)[number];

/**
 * webgpu works in Node through Dawn (npm `webgpu`) when a Vulkan driver is found — a GPU, or
 * SwiftShader for tests — but is never the default: on a machine without a GPU it is far slower
 * than cpu. cuda (@dcformer/kernels-cuda) needs its device addon and an NVIDIA GPU: where either
 * is missing, starting it fails with one line saying which.
 */
export const AVAILABLE: readonly BackendName[] = ['cpu', 'wasm', 'webgpu', 'cuda'];

/**
 * No `--backend`: startBackend picks cpu when @dcformer/kernels-cpu's native addon loads, wasm
 * otherwise. Deciding needs the addon itself (it may exist and still fail to load), so the choice
 * waits for startBackend instead of happening here.
 */
export type BackendRequest = BackendName | 'default';

/** Validates `--backend` without touching tfjs, so a typo fails before anything slow happens. */
export function resolveBackend(requested: string | undefined): BackendRequest {
  if (requested === undefined) return 'default';
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
   * Let @dcformer/kernels-cpu say once on stderr which path it took (native or the tfjs kernels).
   * Default false (shown only with DCF_DEBUG=1): a command whose failing runs must print exactly
   * one stderr line keeps it quiet.
   */
  cpuPathNote?: boolean;
  /**
   * Bytes of the model's weight files, when the caller knows them. The default never picks wasm for
   * more than WASM_WEIGHT_LIMIT: wasm32's heap is at most 4 GiB for weights (float32, so f16 files
   * double), activations and gradients together; such a model runs on the stock cpu kernels.
   */
  weightBytes?: number;
}

/** The largest weight files the default puts on wasm (float16 files of this size are 1.5 GiB in float32). */
export const WASM_WEIGHT_LIMIT = 768 * 1024 ** 2;

export interface StartedBackend {
  name: BackendName;
  /**
   * What the CLIs print after `backend ` on their one backend line: the name, and when the default
   * could not take the native cpu path, why and how to get it, e.g.
   * `wasm (SIMD, one thread; native addon unavailable (…); build it with …)`.
   */
  label: string;
}

/** The native-addon reason plus, unless it already says so, how to get the fast path. */
function fastPathHint(reason: string): string {
  if (process.env.DCFORMER_NATIVE === '0') return `${reason}; unset DCFORMER_NATIVE for the native cpu kernels`;
  if (reason.includes('npx dcformer-kernels-cpu')) return reason;
  return `${reason}; for the native cpu kernels install a C++ compiler (g++) and run \`npx dcformer-kernels-cpu\``;
}

/** The default's name, its label, and why the native path is off (null when it is on). */
async function decideDefault(weightBytes: number | undefined): Promise<StartedBackend & { why: string | null }> {
  const { loadNative } = await import('@dcformer/kernels-cpu');
  const native = loadNative();
  if (native.addon !== null) return { name: 'cpu', label: 'cpu', why: null };
  const why = fastPathHint(native.reason);
  if (weightBytes !== undefined && weightBytes > WASM_WEIGHT_LIMIT) {
    const gib = (weightBytes / 1024 ** 3).toFixed(1);
    return {
      name: 'cpu',
      label: `cpu (stock tfjs kernels, slow: ${gib} GiB of weights is too much for wasm's 4 GiB heap; ${why})`,
      why,
    };
  }
  return { name: 'wasm', label: `wasm (SIMD, one thread; ${why})`, why };
}

/**
 * The default, decided without starting it: cpu when @dcformer/kernels-cpu's native addon loads,
 * else tfjs-backend-wasm (SIMD, one thread in Node: several times the stock cpu kernels, DESIGN.md
 * "Backends"), else — for weights that wasm32's heap cannot hold — the stock cpu kernels. The label
 * says which and, off the native path, why and how to get it.
 */
export async function chooseDefaultBackend(options: Pick<StartOptions, 'weightBytes'> = {}): Promise<StartedBackend> {
  const { name, label } = await decideDefault(options.weightBytes);
  return { name, label };
}

/** The default, started; if wasm itself fails to start, the stock cpu kernels, saying so. */
async function startDefault(options: StartOptions): Promise<StartedBackend> {
  const { name, label, why } = await decideDefault(options.weightBytes);
  // Off the native path, kernels-cpu's own "using the tfjs kernels" line would be a second one.
  const cpuOptions = why === null ? options : { ...options, cpuPathNote: false };
  if (name === 'cpu') {
    await startNamed('cpu', cpuOptions);
    return { name, label };
  }
  try {
    await startNamed('wasm', options);
    return { name, label };
  } catch (e) {
    await startNamed('cpu', cpuOptions);
    return { name: 'cpu', label: `cpu (stock tfjs kernels, slow; wasm failed: ${(e as Error).message}; ${why})` };
  }
}

/**
 * Loads tfjs (lazily, so `--help` and usage errors stay instant), selects the backend and waits for
 * it. Returns what started: with 'default' that is cpu or wasm (see startDefault), and `label`
 * says which and why in one line. The full `@tensorflow/tfjs` bundle is imported because it
 * registers the cpu backend *and* every gradient in Node; tfjs-core alone registers no gradients
 * (DESIGN.md "Backends"). On webgpu every read of a result must be `await data()`: synchronous
 * reads throw there.
 */
export async function startBackend(request: BackendRequest, options: StartOptions = {}): Promise<StartedBackend> {
  if (request === 'default') return startDefault(options);
  await startNamed(request, options);
  return { name: request, label: request };
}

async function startNamed(name: BackendName, options: StartOptions): Promise<void> {
  if (name === 'webgpu') {
    // navigator.gpu must exist before tfjs-backend-webgpu is imported
    const { installNodeWebGPU } = await import('@dcformer/kernels-webgpu/node');
    const installed = await installNodeWebGPU();
    if (!installed.ok) throw new UsageError(`backend 'webgpu' has no adapter here: ${installed.reason}`);
  }
  const tf = await import('@tensorflow/tfjs');
  if (name === 'cpu') {
    // The fast path (native addon + copy kernels) when built; otherwise the stock kernels.
    if (!options.cpuPathNote && !debugEnabled()) process.env.DCFORMER_QUIET = '1';
    (await import('@dcformer/kernels-cpu')).registerCpuKernels('cpu');
  }
  if (name === 'wasm') {
    // Registers the 'wasm' backend; its .wasm files load from the package's dist/ in Node. The
    // @dcformer/kernels reference kernels register themselves there on first use (no package ships
    // fused wasm kernels), gradients included; wasm-kernels.ts adds what training needs and wasm lacks.
    await import('@tensorflow/tfjs-backend-wasm');
    const { wasmKernels } = await import('./wasm-kernels.js');
    for (const k of wasmKernels()) tf.registerKernel(k);
  }
  if (name === 'webgpu') {
    await import('@tensorflow/tfjs-backend-webgpu');
    await import('@dcformer/kernels-webgpu/register');
  }
  if (name === 'cuda') {
    // after @tensorflow/tfjs: the cpu backend it registers is the cuda backend's per-kernel fallback
    const cuda = await import('@dcformer/kernels-cuda');
    const registered = cuda.registerCudaBackend();
    if (!registered.registered) throw new UsageError(`backend 'cuda' has no usable device here: ${registered.reason}`);
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
