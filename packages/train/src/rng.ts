/**
 * A seeded random source whose whole state is one uint32, so a checkpoint can store it and a resumed
 * run draws exactly the numbers the uninterrupted run would have drawn (mulberry32, the same
 * generator `@dcformer/model`'s init uses).
 */
export class Rng {
  private a: number;

  constructor(seed: number) {
    this.a = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0;
    let t = this.a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). n ≤ 2^32; the bias of the float product is below 2^-20 for n < 2^12·2^20. */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  get state(): number {
    return this.a;
  }

  set state(value: number) {
    this.a = value >>> 0;
  }
}

/**
 * Independent streams from one user seed (model init, data order, sampling) so that changing, say,
 * the number of generated characters never changes which batches are drawn.
 */
export function deriveSeed(seed: number, stream: 'data' | 'sample' | 'eval'): number {
  const salt = stream === 'data' ? 0x9e3779b9 : stream === 'sample' ? 0x85ebca6b : 0xc2b2ae35;
  let h = (seed ^ salt) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
