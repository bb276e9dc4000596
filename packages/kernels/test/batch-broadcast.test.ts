import { describe, expect, it } from 'vitest';
import { batchBroadcast } from '../src/index.js';

describe('batchBroadcast', () => {
  it('[2,1] × [1,3]: output entry (i, j) takes a entry i and b entry j', () => {
    const bc = batchBroadcast([2, 1], [1, 3]);
    expect(bc?.outer).toEqual([2, 3]);
    const pairs = Array.from({ length: 6 }, (_, i) => bc?.entries(i));
    expect(pairs).toEqual([
      [0, 0],
      [0, 1],
      [0, 2],
      [1, 0],
      [1, 1],
      [1, 2],
    ]);
  });

  it('pads the shorter shape with leading ones: [3,1,1] × [4,1]', () => {
    const bc = batchBroadcast([3, 1, 1], [4, 1]);
    expect(bc?.outer).toEqual([3, 4, 1]);
    expect(bc?.entries(0)).toEqual([0, 0]);
    expect(bc?.entries(5)).toEqual([1, 1]); // (1, 1, 0)
    expect(bc?.entries(11)).toEqual([2, 3]); // (2, 3, 0)
  });

  it('shapes that do not broadcast: null', () => {
    expect(batchBroadcast([2], [3])).toBeNull();
    expect(batchBroadcast([2, 3], [3, 3])).toBeNull();
  });
});
