/**
 * WebGPU in Node: installs `navigator.gpu` from the npm `webgpu` package (Dawn's `dawn.node`) so that
 * `@tensorflow/tfjs-backend-webgpu` finds an adapter. Must run before that package is imported: it
 * reads `navigator.gpu` and the GPU* globals when its backend factory runs.
 *
 * Without a GPU, Dawn needs a Vulkan driver it accepts. Debian's Mesa lavapipe is rejected (it lacks
 * shaderUniform*ArrayDynamicIndexing); SwiftShader from `chromium-common` works, so when no ICD is
 * chosen explicitly we point the Vulkan loader at it (DESIGN.md "Backends").
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

export interface NodeWebGPUInfo {
  /** Adapter vendor/architecture/description as Dawn reports them, e.g. "google swiftshader (SwiftShader driver 5.0.0)". */
  adapter: string;
  /** True when the adapter is SwiftShader: correct but slow (~0.3–0.5 GFLOP/s), for tests only. */
  software: boolean;
}

export type NodeWebGPUResult = ({ ok: true } & NodeWebGPUInfo) | { ok: false; reason: string };

export interface InstallOptions {
  /**
   * Use SwiftShader even when VK_ICD_FILENAMES is unset and another driver might be found.
   * Default: only when VK_ICD_FILENAMES is unset and SwiftShader is installed.
   */
  preferSwiftShader?: boolean;
  /** Dawn toggles passed to `create()`, e.g. ['enable-dawn-features=allow_unsafe_apis']. */
  dawnOptions?: string[];
}

let installed: Promise<NodeWebGPUResult> | null = null;

function describe(info: GPUAdapterInfo | undefined): string {
  if (info === undefined) return 'unknown adapter';
  const parts = [info.vendor, info.architecture].filter((p) => p !== undefined && p !== '');
  return `${parts.join(' ') || 'unknown adapter'}${info.description ? ` (${info.description})` : ''}`;
}

async function install(options: InstallOptions): Promise<NodeWebGPUResult> {
  if (typeof process === 'undefined' || process.versions?.node === undefined) {
    return { ok: false, reason: 'installNodeWebGPU runs in Node only; browsers bring their own navigator.gpu' };
  }
  // The Vulkan loader reads these when Dawn first enumerates adapters, i.e. after this point.
  if (
    process.env.VK_ICD_FILENAMES === undefined &&
    (options.preferSwiftShader ?? true) &&
    existsSync(SWIFTSHADER_ICD)
  ) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  // SwiftShader's WSI probes XDG_RUNTIME_DIR and prints an error per device when it is unset.
  process.env.XDG_RUNTIME_DIR ??= tmpdir();
  let dawn: typeof import('webgpu');
  try {
    dawn = await import('webgpu');
  } catch (e) {
    return {
      ok: false,
      reason: `the npm package 'webgpu' (Dawn for Node) is not installed or failed to load: ${(e as Error).message}`,
    };
  }
  const gpu = dawn.create(options.dawnOptions ?? []);
  const adapter = await gpu.requestAdapter();
  if (adapter === null) {
    const icd = process.env.VK_ICD_FILENAMES;
    return {
      ok: false,
      reason: icd
        ? `Dawn found no WebGPU adapter with VK_ICD_FILENAMES=${icd}`
        : `Dawn found no WebGPU adapter and SwiftShader is not installed (apt-get install -y libvulkan1 chromium-common provides ${SWIFTSHADER_ICD})`,
    };
  }
  // tfjs-backend-webgpu references GPUBufferUsage, GPUMapMode, … as globals, as in a browser.
  for (const [name, value] of Object.entries(dawn.globals)) {
    if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value;
  }
  // @types/node declares navigator, but Node < 21 has none.
  const nav: Navigator | undefined = globalThis.navigator;
  if (nav === undefined) {
    (globalThis as Record<string, unknown>).navigator = { gpu };
  } else if (nav.gpu === undefined) {
    // Node 21+ defines a read-only navigator getter: add the property instead of replacing it.
    Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, enumerable: true });
  }
  const adapterName = describe(adapter.info);
  return { ok: true, adapter: adapterName, software: /swiftshader/i.test(adapterName) };
}

/**
 * Makes WebGPU available to tfjs in this Node process (idempotent). Never throws for a missing
 * adapter or package: returns `{ ok: false, reason }` so callers choose between skipping and failing.
 *
 * ```js
 * const gpu = await installNodeWebGPU();
 * if (!gpu.ok) throw new Error(gpu.reason);
 * await import('@tensorflow/tfjs-backend-webgpu');
 * await import('@dcformer/kernels-webgpu/register');
 * await tf.setBackend('webgpu');
 * ```
 */
export function installNodeWebGPU(options: InstallOptions = {}): Promise<NodeWebGPUResult> {
  installed ??= install(options);
  return installed;
}
