/**
 * Choosing and starting a tfjs backend. Every backend name of the contract is recognised, so a script
 * written for a fuller build fails with "not available" rather than "unknown".
 */
import { UsageError } from './args.js';
import { debugEnabled } from './report.js';

export const KNOWN_BACKENDS = ['cpu', 'wasm', 'webgpu', 'cuda'] as const;
export type BackendName = (typeof KNOWN_BACKENDS)[number];

/** Fastest first; the others join as their @dcformer/kernels-* packages land. */
export const AVAILABLE: readonly BackendName[] = ['cpu'];

export function resolveBackend(requested: string | undefined): BackendName {
  if (requested === undefined) return AVAILABLE[0];
  if (!(KNOWN_BACKENDS as readonly string[]).includes(requested)) {
    throw new UsageError(`--backend must be one of ${KNOWN_BACKENDS.join(', ')}; got '${requested}'`);
  }
  const name = requested as BackendName;
  if (!AVAILABLE.includes(name)) throw new UsageError(`backend '${name}' is not available in this build (available: ${AVAILABLE.join(', ')})`);
  return name;
}

/**
 * Imports the full `@tensorflow/tfjs` bundle (it registers the cpu backend and every gradient in
 * Node; tfjs-core alone registers no gradients) and selects `name`.
 */
export async function startBackend(name: BackendName): Promise<void> {
  const tf = await import('@tensorflow/tfjs');
  // Silences tfjs's own console banner, which would break the one-line stderr contract.
  if (!debugEnabled()) tf.enableProdMode();
  if (name === 'cpu') {
    // The fast path (OpenBLAS addon + copy kernels) when it was built, else the stock kernels; it
    // names the path it took once on stderr.
    (await import('@dcformer/kernels-cpu')).registerCpuKernels('cpu');
  }
  if (name === 'cpu') {
    // The fused/BLAS kernels of @dcformer/kernels-cpu replace tfjs's slowest cpu kernels (matMul,
    // broadcasting arithmetic, the embedding gradient): ~30× faster training steps here. It prints
    // which path it took (native OpenBLAS or the JS fallback) once on stderr.
    const { registerCpuKernels } = await import('@dcformer/kernels-cpu');
    registerCpuKernels('cpu');
  }
  if (!(await tf.setBackend(name))) throw new UsageError(`backend '${name}' failed to initialise`);
  await tf.ready();
}
