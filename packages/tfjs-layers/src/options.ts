/** Arguments of DCMultiHeadAttention, their defaults, and the checks that run before any weight exists. */
import type { layers } from '@tensorflow/tfjs-layers';
import { toInitializer, type Initializer, type InitializerLike } from './initializers.js';

/** tfjs-layers' base layer arguments (name, trainable, inputShape, batchInputShape, dtype, …). */
export type LayerArgs = NonNullable<ConstructorParameters<typeof layers.Layer>[0]>;

export interface DCMultiHeadAttentionArgs extends LayerArgs {
  /** N: attention heads. DCMHA composes across heads, so it needs N ≥ 2. */
  numHeads: number;
  /** E: size of each head (query, key and value). Default: features / numHeads, which must divide. */
  keyDim?: number | null;
  /** Each query sees itself and earlier positions only. Default true. */
  causal?: boolean;
  /**
   * W: local attention. Causal: query t sees keys t−W+1 … t (W keys, itself included), as DCFormer's local
   * layers. Not causal: keys with |t − s| < W. Default null: no window (a global layer).
   */
  window?: number | null;
  /** Dynamic composition of heads (DCMHA). false: plain multi-head attention. Default true. */
  useDcmha?: boolean;
  /** The query-side terms of both Compose calls (qw1/qw2, qdd). Default true. */
  queryWise?: boolean;
  /** The key-side terms of both Compose calls (kw1/kw2, kdd). Default true. */
  keyWise?: boolean;
  /** RMSNorm over each head of q and k (learnable scale, eps 1e-6), before RoPE. Default false. */
  useQkNorm?: boolean;
  /** Rotary position embedding on q and k, "half" mode, positions 0 … T−1. Default true. */
  useRope?: boolean;
  /** RoPE base θ. Default 10000. */
  ropeBase?: number;
  /** R: RoPE rotates the first R dims of each head (even, ≤ keyDim). Default null: all of them. */
  rotaryDims?: number | null;
  /** Biases on the qkv and output projections. Default false (DCFormer has none). */
  useBias?: boolean;
  /**
   * Queries per chunk of the causal attention; its backward pass recomputes each chunk, so a windowed
   * layer trains in O(T·(chunk + W)) attention memory. Default 128.
   */
  chunkSize?: number;
  /** Initializer of the qkv and output kernels. Default: xavier (Glorot) uniform, as the official code. */
  kernelInitializer?: InitializerLike | null;
  /** Initializer of the biases (with useBias). Default zeros. */
  biasInitializer?: InitializerLike | null;
  /** Seeds every default initializer of this layer, for reproducible weights. Default: unseeded. */
  seed?: number | null;
}

/** Every option with its default filled in and its type checked. */
export interface AttentionOptions {
  numHeads: number;
  keyDim: number | null;
  causal: boolean;
  window: number | null;
  useDcmha: boolean;
  queryWise: boolean;
  keyWise: boolean;
  useQkNorm: boolean;
  useRope: boolean;
  ropeBase: number;
  rotaryDims: number | null;
  useBias: boolean;
  chunkSize: number;
  kernelInitializer: Initializer | null;
  biasInitializer: Initializer | null;
  seed: number | null;
}

const isPositiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;
const show = (v: unknown) => (typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v)));

/**
 * Fills defaults and checks types and ranges; `fail` throws (the layer's ValueError). A config read
 * back from a saved model has null where an option was left unset, so null means "default" too.
 */
export function resolveOptions(args: DCMultiHeadAttentionArgs, fail: (message: string) => never): AttentionOptions {
  if (typeof args !== 'object' || args === null) fail(`expected an arguments object with numHeads; got ${show(args)}`);
  const pick = <T>(key: keyof DCMultiHeadAttentionArgs, fallback: T): T => {
    const value = args[key] as T | null | undefined;
    return value === undefined || value === null ? fallback : value;
  };
  const bool = (key: keyof DCMultiHeadAttentionArgs, fallback: boolean): boolean => {
    const value = pick<unknown>(key, fallback);
    if (typeof value !== 'boolean') fail(`${key} must be true or false, but got ${show(value)}.`);
    return value;
  };
  const positiveIntOrNull = (key: keyof DCMultiHeadAttentionArgs): number | null => {
    const value = pick<unknown>(key, null);
    if (value !== null && !isPositiveInt(value))
      fail(`${key} must be a positive integer or null, but got ${show(value)}.`);
    return value as number | null;
  };
  const initializer = (key: 'kernelInitializer' | 'biasInitializer'): Initializer | null => {
    const value = pick<InitializerLike | null>(key, null);
    return value === null ? null : toInitializer(value, (reason) => fail(`${key}: ${reason}.`));
  };

  const numHeads = args.numHeads;
  if (!isPositiveInt(numHeads)) fail(`numHeads must be a positive integer, but got ${show(numHeads)}.`);
  const options: AttentionOptions = {
    numHeads,
    keyDim: positiveIntOrNull('keyDim'),
    causal: bool('causal', true),
    window: positiveIntOrNull('window'),
    useDcmha: bool('useDcmha', true),
    queryWise: bool('queryWise', true),
    keyWise: bool('keyWise', true),
    useQkNorm: bool('useQkNorm', false),
    useRope: bool('useRope', true),
    ropeBase: pick('ropeBase', 10000),
    rotaryDims: positiveIntOrNull('rotaryDims'),
    useBias: bool('useBias', false),
    chunkSize: pick('chunkSize', 128),
    kernelInitializer: initializer('kernelInitializer'),
    biasInitializer: initializer('biasInitializer'),
    seed: pick('seed', null),
  };
  if (typeof options.ropeBase !== 'number' || !Number.isFinite(options.ropeBase) || options.ropeBase <= 1) {
    fail(`ropeBase must be a finite number > 1, but got ${show(options.ropeBase)}.`);
  }
  if (!isPositiveInt(options.chunkSize))
    fail(`chunkSize must be a positive integer, but got ${show(options.chunkSize)}.`);
  if (options.seed !== null && !(typeof options.seed === 'number' && Number.isInteger(options.seed))) {
    fail(`seed must be an integer or null, but got ${show(options.seed)}.`);
  }
  if (options.rotaryDims !== null && options.rotaryDims % 2 !== 0) {
    fail(`rotaryDims must be even (RoPE rotates pairs of dims), but got ${options.rotaryDims}.`);
  }
  if (options.useDcmha) {
    // The dynamic projection has rank I = N // (N // 2) (official DynamicWeightProjection): N = 1 has none.
    if (numHeads < 2)
      fail(
        `numHeads must be at least 2 with useDcmha (Compose mixes heads), but got ${numHeads}; use useDcmha: false for one head.`,
      );
    if (!options.queryWise && !options.keyWise) {
      fail(
        'queryWise and keyWise are both false, which leaves Compose with nothing to compose; use useDcmha: false for plain attention.',
      );
    }
  }
  return options;
}

/** Rank I of the dynamic projection for N heads: N // (N // 2), as the official DynamicWeightProjection. */
export function dynamicRank(numHeads: number): number {
  return Math.floor(numHeads / Math.floor(numHeads / 2));
}
