import { AddN, getKernel, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { inputList, listAsInputs } from '@dcformer/kernels';

/**
 * AddN for 'webgpu' that stays within the device's storage-buffer limit. tfjs-backend-webgpu 4.22
 * compiles all N inputs into one shader; past maxStorageBuffersPerShaderStage − 1 inputs (7 under
 * the default limit of 8) the pipeline is invalid, the whole queued command buffer is dropped with
 * only a console warning, and every tensor computed in it reads as zeros. tf.addN over the ~50
 * per-parameter squared norms of a training step (global-norm clipping) hits this. Here larger
 * sums are reduced in groups through the original kernel.
 */
export function safeAddNConfig(original: KernelFunc): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const inputs = inputList(args);
    const backend = args.backend as { device: GPUDevice; disposeData: (id: object) => void };
    const group = Math.max(2, backend.device.limits.maxStorageBuffersPerShaderStage - 1);
    if (inputs.length <= group) return original(args);
    let level = inputs;
    const temporaries: TensorInfo[] = [];
    while (level.length > group) {
      const next: TensorInfo[] = [];
      for (let i = 0; i < level.length; i += group) {
        const part = level.slice(i, i + group);
        if (part.length === 1) {
          next.push(part[0]);
        } else {
          const sum = original({ ...args, inputs: listAsInputs(part) }) as TensorInfo;
          temporaries.push(sum);
          next.push(sum);
        }
      }
      level = next;
    }
    const out = original({ ...args, inputs: listAsInputs(level) }) as TensorInfo;
    for (const t of temporaries) backend.disposeData(t.dataId);
    return out;
  };
  return { kernelName: AddN, backendName: 'webgpu', kernelFunc };
}

/** The AddN replacement, built around whatever AddN tfjs-backend-webgpu registered; null if none yet. */
export function addNReplacement(): KernelConfig | null {
  const current = getKernel(AddN, 'webgpu');
  if (current === undefined) return null;
  if ((current as KernelConfig & { safe?: boolean }).safe) return current;
  return Object.assign(safeAddNConfig(current.kernelFunc), { safe: true });
}
