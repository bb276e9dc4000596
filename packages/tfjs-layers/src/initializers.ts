/**
 * Initializers for the attention weights: the official DCFormer formulas as defaults (docs/dcmha.md
 * "Official init"), user-chosen tfjs initializers for the projections, and their (de)serialization in
 * a layer config.
 */
import { serialization } from '@tensorflow/tfjs-core';
import { initializers } from '@tensorflow/tfjs-layers';

export type Initializer = ReturnType<typeof initializers.zeros>;

/** A tfjs initializer, its identifier ('glorotUniform', 'heNormal', …) or its serialized form. */
export type InitializerLike = Initializer | string | { className: string; config: serialization.ConfigDict };

type InitializerFactory = (args?: object) => Initializer;

function isInitializer(value: unknown): value is Initializer {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Initializer).apply === 'function' &&
    typeof (value as Initializer).getClassName === 'function'
  );
}

/**
 * Resolves an InitializerLike to an instance; `fail` receives the reason when it cannot. Identifiers
 * name the factories of `tf.initializers` (camelCase or the class name), serialized forms are looked
 * up in tfjs's SerializationMap, which is where tfjs-layers itself finds them on model load.
 */
export function toInitializer(spec: InitializerLike, fail: (reason: string) => never): Initializer {
  if (isInitializer(spec)) return spec;
  if (typeof spec === 'string') {
    const key = spec.charAt(0).toLowerCase() + spec.slice(1);
    const factory: unknown = Reflect.get(initializers, key);
    if (typeof factory !== 'function') fail(`unknown initializer '${spec}'`);
    return (factory as InitializerFactory)({});
  }
  if (typeof spec === 'object' && spec !== null && typeof spec.className === 'string') {
    const entry = serialization.SerializationMap.getMap().classNameMap[spec.className];
    if (entry === undefined) fail(`unknown initializer class '${spec.className}'`);
    const [cls, fromConfig] = entry;
    const made = fromConfig(cls, spec.config ?? {});
    if (!isInitializer(made)) fail(`'${spec.className}' is not an initializer`);
    return made;
  }
  return fail(`expected an initializer, its name or {className, config}; got ${JSON.stringify(spec)}`);
}

/** The config form of an initializer (as tfjs-layers writes it), or null for "the default". */
export function serializeInitializer(init: Initializer | null): serialization.ConfigDict | null {
  return init === null ? null : { className: init.getClassName(), config: init.getConfig() };
}

const seeded = (seed: number | null, offset: number) => (seed === null ? {} : { seed: seed + offset });

/**
 * Defaults of DCMultiHeadAttention's weights, seeded when `seed` is given (one stream per weight, so
 * adding a weight never reshuffles the others):
 *   projections (wqkv, wo): xavier uniform, as nn.init.xavier_uniform_ on the official (out, in) layout —
 *     symmetric in fan-in/fan-out, so the same on our transposed (in, out) kernels;
 *   dw1 ~ N(0, √(2/(D+K))), qkw ~ N(0, 0.02/(√(4N)·(N+2))), dd ~ N(0, 0.05·√(2/(N+D))): small enough that
 *     the dynamic terms start near zero and DCMHA starts close to MHA.
 */
export function defaultInitializers(D: number, N: number, K: number, seed: number | null) {
  return {
    wqkv: initializers.glorotUniform(seeded(seed, 0)),
    wo: initializers.glorotUniform(seeded(seed, 1)),
    dw1: initializers.randomNormal({ mean: 0, stddev: Math.sqrt(2 / (D + K)), ...seeded(seed, 2) }),
    qkw: initializers.randomNormal({ mean: 0, stddev: 0.02 / (Math.sqrt(4 * N) * (N + 2)), ...seeded(seed, 3) }),
    dd: initializers.randomNormal({ mean: 0, stddev: 0.05 * Math.sqrt(2 / (N + D)), ...seeded(seed, 4) }),
  };
}
