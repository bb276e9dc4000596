/**
 * The small pieces of a DCFormer attention block besides Compose: RMSNorm (QK-norm, pre-norm) and
 * rotary position embedding, through @dcformer/kernels' `DcRmsNorm` and `DcRope` kernels (fused where
 * a backend package registers them, differentiable everywhere), the same code @dcformer/model runs.
 */
import type { Tensor } from '@tensorflow/tfjs-core';
import { applyRope } from '@dcformer/kernels';

/** RMSNorm over the last axis: x·rsqrt(mean(x²) + eps)·scale. */
export { rmsNorm } from '@dcformer/kernels';

/**
 * Rotary embedding, "half" mode, on the first R dims of each head of x [B,T,N,E] at positions
 * 0 … T−1; the last E − R dims pass through. Dim j pairs with dim j + R/2. The reference interleaves
 * the rotated pairs on output (out[2j], out[2j+1]); we leave them in place. Applied to both q and k, that
 * is one fixed permutation of the head dims on both sides, so every q·k — and so the attention — is
 * the same.
 */
export function rope(x_BTNE: Tensor, R: number, base: number): Tensor {
  return applyRope(x_BTNE, R, base, 0);
}
