/**
 * Choosing and starting a tfjs backend. Every name of the contract is recognised so that a script
 * written for a fuller build fails with "not available" rather than "unknown"; only the backends
 * this build can register are in AVAILABLE, fastest first (the default is the first).
 */
import { UsageError } from './args.js';
import { debugEnabled } from './report.js';

export const KNOWN_BACKENDS = ['cpu', 'wasm', 'webgpu', 'cuda'] as const;
export type BackendName = (typeof KNOWN_BACKENDS)[number];

/** Fastest first. wasm, webgpu and cuda join when their @dcformer/kernels-* packages exist. */
export const AVAILABLE: readonly BackendName[] = ['cpu'];

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

/**
 * Loads tfjs (lazily, so `--help` and usage errors stay instant), selects `name` and waits for it.
 * The full `@tensorflow/tfjs` bundle is imported because it registers the cpu backend *and* every
 * gradient in Node; tfjs-core alone registers no gradients (DESIGN.md "Backends").
 */
export async function startBackend(name: BackendName): Promise<void> {
  const tf = await import('@tensorflow/tfjs');
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
}
