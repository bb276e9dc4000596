export { registerCpuKernels, unregisterCpuKernels, fastPathInfo, type FastPathInfo } from './register-all.js';
export { loadNative, type NativeAddon } from './native.js';
export { fusedComposeKernel, fusedComposeBackwardKernel } from './compose.js';
export { fusedCrossEntropyKernel, fusedCrossEntropyBackwardKernel } from './cross-entropy.js';
export { gemmKernel } from './matmul.js';
export { overrideKernel, restoreKernels, overriddenKernels, type FastKernelFunc } from './override.js';
export { fusedAdamWKernel } from './adamw.js';
export { fusedRmsNormKernel, fusedRmsNormBackwardKernel } from './rms-norm.js';
export { fusedRopeKernel } from './rope.js';
