/**
 * The package entry, and its only module with side effects (package.json "sideEffects"): it registers
 * the layer classes with tfjs's serialization map, where `tf.loadLayersModel` looks class names up.
 * Registration lives here rather than in a module of its own because "exports" offers no other way in:
 * whatever a user imports, this module runs, and a bundler that honours "sideEffects" cannot skip it
 * (it could skip a side-effect import inside a module marked side-effect free).
 */
import { serialization } from '@tensorflow/tfjs-core';
import { DCMultiHeadAttention } from './dc-multi-head-attention.js';
import { RMSNorm } from './rms-norm.js';

serialization.registerClass(DCMultiHeadAttention, 'DCFormer');
serialization.registerClass(RMSNorm, 'DCFormer');

export { DCMultiHeadAttention, RMSNorm };
export type { RMSNormArgs } from './rms-norm.js';
export { dcformerBlock, type DcformerBlockOptions } from './block.js';
export type { DCMultiHeadAttentionArgs, LayerArgs } from './options.js';
export type { Initializer, InitializerLike } from './initializers.js';
export { ValueError } from './errors.js';
