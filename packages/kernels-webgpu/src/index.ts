/**
 * WGSL kernels for DCFormer on tfjs's 'webgpu' backend. This entry registers nothing; import
 * '@dcformer/kernels-webgpu/register' (or call registerWebGPUKernels()) for that.
 */
export { registerWebGPUKernels, unregisterWebGPUKernels, WEBGPU_KERNEL_CONFIGS } from './kernels.js';
export {
  DcmhaComposeBackward,
  composeWebGPU,
  composeBackwardWebGPU,
  composeWebGPUConfig,
  composeBackwardWebGPUConfig,
} from './compose/compose-kernels.js';
export {
  ComposeProgram,
  ComposeWeightGradProgram,
  ComposeGateGradProgram,
  type ComposeSide,
} from './compose/compose-program.js';
export { webgpuAdapter, isSoftwareAdapter, tuneForAdapter } from './adapter.js';
export {
  DcmhaDecodeAttention,
  dcmhaDecodeAttention,
  decodeVisibility,
  decodeAttentionWebGPU,
  decodeAttentionWebGPUConfig,
  type DecodeAttentionOptions,
} from './decode/decode-attention.js';
export { DecodeAttentionProgram } from './decode/decode-program.js';
export {
  CompactMatMulProgram,
  compactMatMulWebGPU,
  compactMatMulWebGPUConfig,
} from './compact/compact-matmul.js';
