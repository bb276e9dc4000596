export * from './errors.js';
export * from './compose/compose-spec.js';
export { composeReference, composeReferenceGrad, type ComposeGrads } from './compose/compose-reference.js';
export {
  dcmhaCompose,
  dcmhaComposeBackward,
  composeGradConfig,
  referenceComposeKernel,
  isReferenceCompose,
} from './compose/compose-op.js';
export {
  DcSoftmaxCrossEntropy,
  DcSoftmaxCrossEntropyBackward,
  softmaxCrossEntropy,
  softmaxCrossEntropyBackward,
  crossEntropyReference,
  crossEntropyReferenceGrad,
  crossEntropyGradConfig,
  referenceCrossEntropyKernel,
  isReferenceCrossEntropy,
} from './cross-entropy/cross-entropy-op.js';
export {
  DcAdamWUpdate,
  adamWUpdate,
  adamWReference,
  adamWAttrsOf,
  referenceAdamWKernel,
  type AdamWUpdateAttrs,
} from './optimizer/adamw-op.js';
export {
  DcRmsNorm,
  DcRmsNormBackward,
  rmsNorm,
  rmsNormBackward,
  rmsNormReference,
  rmsNormReferenceGrad,
  rmsNormGradConfig,
  referenceRmsNormKernel,
  isReferenceRmsNorm,
} from './norm/rms-norm-op.js';
export { DcRope, rope, ropeReference, ropeGradConfig, referenceRopeKernel } from './rope/rope-op.js';
export {
  DcGelu,
  DcGeluBackward,
  gelu,
  geluReference,
  geluReferenceGrad,
  geluGradConfig,
  referenceGeluKernel,
} from './activation/gelu-op.js';
export {
  DcmhaAttention,
  DcmhaAttentionBackward,
  attentionInputNames,
  attentionInputList,
  attentionKernelAttrs,
  attentionAttrsOf,
  validateAttentionInputs,
  composeCallWeights,
  type AttentionWeights,
  type ComposeSideWeights,
  type DynamicSide,
  type FusedAttentionAttrs,
  type FusedAttentionInputs,
} from './attention/attention-spec.js';
export { dcmhaAttentionFused, hasFusedAttention, attentionGradConfig } from './attention/attention-op.js';
export * from './compact-matmul/compact-format.js';
export {
  DcCompactMatMul,
  compactMatMul,
  compactMatMulReference,
  compactMatMulAttrsOf,
  referenceCompactMatMulKernel,
  isReferenceCompactMatMul,
  isCompactWeight,
  compactWeight,
  disposeCompactWeight,
  compactWeightBytes,
  packedOf,
  type CompactWeight,
  type CompactMatMulAttrs,
} from './compact-matmul/compact-matmul-op.js';
export {
  hostF32,
  hostI32,
  hostOutput,
  isHostBackend,
  inputList,
  listAsInputs,
  hostKernelConfig,
  type KernelArgs,
  type KernelResult,
} from './host-kernel.js';
export * from './host-kernels-fused.js';
export { batchBroadcast, type BatchBroadcast } from './batch-broadcast.js';
export { MASKED_LOGIT } from './masking.js';
export { applyRope, ropeTable } from './rope/rope-table.js';
export { runKernelWithList } from './run-kernel.js';
export {
  registerDecodeLayer,
  decodeLayerFor,
  DECODE_LAYER_MAX_ROWS,
  type DecodeLayerCall,
  type DecodeLayerFn,
  type DecodeLayerRows,
  type DecodeLayerShape,
  type DecodeLayerWeights,
  type DecodeMatrix,
} from './decode-layer.js';
