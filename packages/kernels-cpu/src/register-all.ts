/**
 * What `@dcformer/kernels-cpu/register` installs on the tfjs `cpu` backend, and the one line that
 * says which path runs. Idempotent.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  DcAdamWUpdate,
  DcCompactMatMul,
  DcGelu,
  DcGeluBackward,
  DcRope,
  DcRmsNorm,
  DcRmsNormBackward,
  DcmhaCompose,
  DcmhaComposeBackward,
  DcSoftmaxCrossEntropy,
  DcSoftmaxCrossEntropyBackward,
  registerDecodeLayer,
} from '@dcformer/kernels';
import { fusedComposeBackwardKernel, fusedComposeKernel } from './compose.js';
import { fusedAttentionKernels } from './attention.js';
import { fusedAdamWKernel } from './adamw.js';
import { fusedRopeKernel } from './rope.js';
import { fusedGeluBackwardKernel, fusedGeluKernel } from './gelu.js';
import { fusedRmsNormBackwardKernel, fusedRmsNormKernel } from './rms-norm.js';
import { fusedCrossEntropyBackwardKernel, fusedCrossEntropyKernel } from './cross-entropy.js';
import { gemmKernel } from './matmul.js';
import { elementwiseKernels } from './elementwise.js';
import { unsortedSegmentSum } from './js-kernels.js';
import { copyKernels } from './copy-kernels.js';
import { loadNative } from './native.js';
import { compactAddon, compactMatMulKernel } from './compact-matmul.js';
import { decodeLayerAddon, decodeLayerFn } from './decode-layer.js';
import { overrideKernel, restoreKernels } from './override.js';

export interface FastPathInfo {
  /** 'native' when the addon is loaded, 'tfjs' otherwise. */
  path: 'native' | 'tfjs';
  detail: string;
  kernels: string[];
}

let info: FastPathInfo | null = null;

function quiet(): boolean {
  return typeof process !== 'undefined' && process.env?.DCFORMER_QUIET === '1';
}

/** Registers the fast kernels for `backendName` ('cpu'); prints the chosen path once on stderr. */
export function registerCpuKernels(backendName = 'cpu'): FastPathInfo {
  if (info) return info;
  const { addon, reason } = loadNative();
  const kernels: string[] = [];
  overrideKernel('UnsortedSegmentSum', backendName, unsortedSegmentSum);
  kernels.push('UnsortedSegmentSum');
  for (const [name, fast] of copyKernels) {
    overrideKernel(name, backendName, fast);
    kernels.push(name);
  }
  if (addon) {
    const gemm = gemmKernel(addon);
    overrideKernel('BatchMatMul', backendName, gemm);
    kernels.push('BatchMatMul');
    for (const [name, fast] of elementwiseKernels(addon)) {
      overrideKernel(name, backendName, fast);
      kernels.push(name);
    }
    for (const [name, config] of [
      [DcmhaCompose, fusedComposeKernel(addon, backendName)],
      [DcmhaComposeBackward, fusedComposeBackwardKernel(addon, backendName)],
      [DcSoftmaxCrossEntropy, fusedCrossEntropyKernel(addon, backendName)],
      [DcSoftmaxCrossEntropyBackward, fusedCrossEntropyBackwardKernel(addon, backendName)],
      [DcAdamWUpdate, fusedAdamWKernel(addon, backendName)],
      [DcRmsNorm, fusedRmsNormKernel(addon, backendName)],
      [DcRmsNormBackward, fusedRmsNormBackwardKernel(addon, backendName)],
      [DcRope, fusedRopeKernel(addon, backendName)],
      [DcGelu, fusedGeluKernel(addon, backendName)],
      [DcGeluBackward, fusedGeluBackwardKernel(addon, backendName)],
      ...fusedAttentionKernels(addon, backendName),
    ] as const) {
      if (tf.getKernel(name, backendName) !== undefined) tf.unregisterKernel(name, backendName);
      tf.registerKernel(config);
      kernels.push(name);
    }
    const compact = compactAddon(addon);
    if (compact) {
      if (tf.getKernel(DcCompactMatMul, backendName) !== undefined) tf.unregisterKernel(DcCompactMatMul, backendName);
      tf.registerKernel(compactMatMulKernel(compact, backendName));
      kernels.push(DcCompactMatMul);
    }
    const decode = decodeLayerAddon(addon);
    if (decode) {
      registerDecodeLayer(backendName, decodeLayerFn(decode));
      kernels.push('decodeLayer');
    }
  }
  info = { path: addon ? 'native' : 'tfjs', detail: reason, kernels };
  if (!quiet())
    console.error(
      `@dcformer/kernels-cpu: ${addon ? `native kernels on '${backendName}' via ${reason}` : `${reason}; using the tfjs kernels`}`,
    );
  return info;
}

export function fastPathInfo(): FastPathInfo | null {
  return info;
}

/** Undoes registerCpuKernels: the original tfjs kernels (and the lazily registered reference Compose) run again. */
export function unregisterCpuKernels(backendName = 'cpu'): void {
  restoreKernels();
  registerDecodeLayer(backendName, null);
  for (const name of [
    DcmhaCompose,
    DcmhaComposeBackward,
    DcSoftmaxCrossEntropy,
    DcSoftmaxCrossEntropyBackward,
    DcAdamWUpdate,
    DcRmsNorm,
    DcRmsNormBackward,
    DcRope,
    DcGelu,
    DcGeluBackward,
    DcCompactMatMul,
    'DcmhaAttention',
    'DcmhaAttentionBackward',
  ]) {
    if (info?.kernels.includes(name) && tf.getKernel(name, backendName) !== undefined)
      tf.unregisterKernel(name, backendName);
  }
  info = null;
}
