import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../src/errors.js';
import { unpickleTorch, type PickleValue, type TensorRef } from '../src/pickle.js';
import { openZip } from '../src/zip.js';

/** Builds pickle bytes from opcodes (numbers), raw strings (latin-1 bytes) and byte arrays. */
function pickle(...parts: Array<number | string | Uint8Array>): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') for (const c of p) out.push(c.charCodeAt(0));
    else out.push(...p);
  }
  return new Uint8Array(out);
}
const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
const shortStr = (s: string): Uint8Array => pickle(0x8c, s.length, s); // SHORT_BINUNICODE
const str = (s: string): Uint8Array => pickle(0x58, u32(s.length), s); // BINUNICODE
const int1 = (n: number): Uint8Array => pickle(0x4b, n); // BININT1
const global = (module: string, name: string): Uint8Array => pickle(0x63, `${module}\n${name}\n`);
const PROTO2 = pickle(0x80, 2);
const [MARK, TUPLE, TUPLE1, TUPLE2, REDUCE, STOP, BINPERSID, SETITEMS, EMPTY_TUPLE, NEWFALSE, BUILD] = [
  0x28, 0x74, 0x85, 0x86, 0x52, 0x2e, 0x51, 0x75, 0x29, 0x89, 0x62,
];
const ORDERED_DICT = pickle(global('collections', 'OrderedDict'), EMPTY_TUPLE, REDUCE);

function refused(bytes: Uint8Array, pattern: RegExp): void {
  let error: unknown;
  try {
    unpickleTorch(bytes, 'evil.pkl');
  } catch (e) {
    error = e;
  }
  expect(CheckpointError.isInstance(error)).toBe(true);
  expect((error as Error).message).toMatch(pattern);
}

/** `('storage', torch.<cls>, key, 'cpu', numel)` as a persistent id, then a _rebuild_tensor_v2 call. */
function tensor(
  cls: string,
  key: string,
  numel: number,
  offset: number,
  shape: number[],
  stride: number[],
): Uint8Array {
  return pickle(
    global('torch._utils', '_rebuild_tensor_v2'),
    MARK,
    MARK,
    str('storage'),
    global('torch', cls),
    str(key),
    str('cpu'),
    int1(numel),
    TUPLE,
    BINPERSID,
    int1(offset),
    MARK,
    ...shape.map(int1),
    TUPLE,
    MARK,
    ...stride.map(int1),
    TUPLE,
    NEWFALSE,
    ORDERED_DICT,
    TUPLE,
    REDUCE,
  );
}

describe('unpickleTorch refuses code execution', () => {
  it('refuses GLOBAL os.system before the REDUCE that would call it', () => {
    refused(
      pickle(PROTO2, global('os', 'system'), shortStr('echo pwned'), TUPLE1, REDUCE, STOP),
      /evil\.pkl: refused global os\.system .* at byte 2$/,
    );
  });

  for (const [module, name] of [
    ['builtins', 'eval'],
    ['posix', 'system'],
    ['__builtin__', 'getattr'],
    ['torch', 'load'],
    ['collections', 'defaultdict'],
  ]) {
    it(`refuses ${module}.${name}`, () => {
      refused(
        pickle(PROTO2, global(module, name), shortStr('x'), TUPLE1, REDUCE, STOP),
        new RegExp(`refused global ${module}\\.${name}`),
      );
    });
  }

  it('refuses the INST, OBJ and EXT opcodes by name', () => {
    refused(pickle(PROTO2, MARK, shortStr('echo'), 0x69, 'os\nsystem\n', STOP), /refused opcode INST .*at byte 9/);
    refused(pickle(PROTO2, MARK, global('collections', 'OrderedDict'), 0x6f, STOP), /refused opcode OBJ/);
    refused(pickle(PROTO2, 0x82, 1, STOP), /refused opcode EXT1 .*at byte 2/);
    refused(pickle(PROTO2, 0xff, STOP), /unknown opcode 0xff at byte 2/);
  });

  it('refuses STACK_GLOBAL naming subprocess.Popen (protocol 4)', () => {
    const bytes = pickle(
      0x80,
      4,
      0x95,
      new Uint8Array(8),
      shortStr('subprocess'),
      0x94,
      shortStr('Popen'),
      0x94,
      0x93,
      shortStr('ls'),
      TUPLE1,
      REDUCE,
      STOP,
    );
    refused(bytes, /refused global subprocess\.Popen .*at byte 32/);
  });

  it('checks the whole stream before interpreting any of it', () => {
    // The REDUCE at byte 2 would underflow the stack, but the later os.system is what gets reported.
    refused(pickle(PROTO2, REDUCE, global('os', 'system'), STOP), /refused global os\.system/);
  });

  it('refuses calling an allowed name that is not a callable, and NEWOBJ on a rebuild function', () => {
    refused(
      pickle(PROTO2, global('torch', 'FloatStorage'), EMPTY_TUPLE, REDUCE, STOP),
      /REDUCE on torch\.FloatStorage is not allowed/,
    );
    refused(
      pickle(PROTO2, global('torch._utils', '_rebuild_tensor_v2'), EMPTY_TUPLE, 0x81, STOP),
      /NEWOBJ on torch\._utils\._rebuild_tensor_v2 is not allowed/,
    );
    refused(pickle(PROTO2, str('os'), EMPTY_TUPLE, REDUCE, STOP), /REDUCE on string "os" is not allowed/);
  });

  it('refuses persistent ids that are not torch storages', () => {
    refused(pickle(PROTO2, str('anything'), BINPERSID, STOP), /persistent id string "anything" is not a \('storage'/);
    const fakeStorage = pickle(
      MARK,
      str('storage'),
      global('collections', 'OrderedDict'),
      str('0'),
      str('cpu'),
      int1(1),
      TUPLE,
      BINPERSID,
    );
    refused(pickle(PROTO2, fakeStorage, STOP), /collections\.OrderedDict is not a known torch storage class/);
  });
});

describe('unpickleTorch reads state dicts', () => {
  it('builds tensor descriptors from a torch-style protocol-2 pickle, ignoring _metadata', () => {
    const bytes = pickle(
      PROTO2,
      ORDERED_DICT,
      0x71,
      0,
      MARK,
      str('w'),
      tensor('HalfStorage', '0', 6, 0, [2, 3], [3, 1]),
      str('wt'),
      tensor('HalfStorage', '0', 6, 0, [3, 2], [1, 3]),
      str('p'),
      global('torch._utils', '_rebuild_parameter'),
      MARK,
      tensor('FloatStorage', '1', 4, 1, [3], [1]),
      NEWFALSE,
      ORDERED_DICT,
      TUPLE,
      REDUCE,
      SETITEMS,
      0x7d,
      str('_metadata'),
      ORDERED_DICT,
      0x73,
      BUILD,
      STOP,
    );
    const root = unpickleTorch(bytes) as Map<string, TensorRef>;
    expect([...root.keys()]).toEqual(['w', 'wt', 'p']);
    expect(root.get('w')).toMatchObject({ kind: 'tensor', storageOffset: 0, shape: [2, 3], stride: [3, 1] });
    expect(root.get('w')!.storage).toEqual({ kind: 'storage', dtype: 'F16', key: '0', location: 'cpu', numel: 6 });
    expect(root.get('wt')!.storage).toBe(root.get('w')!.storage);
    expect(root.get('p')).toMatchObject({ storageOffset: 1, shape: [3], storage: { dtype: 'F32', key: '1' } });
  });

  it('decodes the primitive opcodes', () => {
    const bytes = pickle(
      0x80,
      4,
      0x5d,
      MARK,
      0x4a,
      new Uint8Array(new Int32Array([-5]).buffer),
      0x4d,
      0x34,
      0x12,
      0x8a,
      9,
      new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 1]),
      0x8a,
      1,
      0xff,
      0x47,
      new Uint8Array([0x3f, 0xf8, 0, 0, 0, 0, 0, 0]),
      0x4e,
      0x88,
      0x89,
      0x43,
      2,
      new Uint8Array([7, 8]),
      0x8d,
      new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0]),
      'hi',
      MARK,
      int1(1),
      int1(2),
      int1(3),
      TUPLE,
      0x65,
      0x94,
      0x68,
      0,
      TUPLE2,
      STOP,
    );
    const [list, again] = unpickleTorch(bytes) as [PickleValue[], PickleValue[]];
    expect(again).toBe(list); // BINGET returns the memoized object itself
    expect(list).toEqual([-5, 0x1234, 2n ** 64n, -1, 1.5, null, true, false, new Uint8Array([7, 8]), 'hi', [1, 2, 3]]);
  });

  it('reports truncation, stack misuse and out-of-range views with the byte offset', () => {
    refused(
      pickle(PROTO2, str('abc')).subarray(0, 8),
      /BINUNICODE needs 3 more bytes but the pickle ends after 1; it is truncated at byte 2/,
    );
    refused(pickle(PROTO2, int1(1)), /ends without STOP; it is truncated/);
    refused(pickle(PROTO2, EMPTY_TUPLE, int1(1), 0x61, STOP), /APPEND to a sequence of 0; expected a list at byte 5/);
    refused(pickle(PROTO2, 0x68, 3, STOP), /BINGET of memo entry 3, which was never stored/);
    refused(
      pickle(PROTO2, tensor('FloatStorage', '0', 6, 1, [2, 3], [3, 1]), STOP),
      /reaches element 6 of storage '0' with 6 elements/,
    );
    const twice = pickle(
      PROTO2,
      tensor('FloatStorage', '0', 6, 0, [6], [1]),
      tensor('HalfStorage', '0', 6, 0, [6], [1]),
      TUPLE2,
      STOP,
    );
    refused(twice, /storage '0' is named as F32\[6\] and as F16\[6\]/);
  });
});

// The oracle fixtures are committed at <repo>/fixtures/oracle, so resolve them from this file (any checkout path) and
// let a missing file fail the test instead of skipping it: its absence means a broken checkout.
const ORACLE_DIR = fileURLToPath(new URL('../../../fixtures/oracle/', import.meta.url));
const REAL = join(ORACLE_DIR, 'case1_dcformer_lgll/torch_fp16/pytorch_model.bin');
describe('a real torch.save pickle', () => {
  it('holds 71 float16 tensors, each on its own storage', async () => {
    const zip = await openZip(new Uint8Array(readFileSync(REAL)));
    const root = unpickleTorch(await zip.read('pytorch_model/data.pkl')) as Map<string, TensorRef>;
    expect(root.size).toBe(71);
    const values = [...root.values()];
    expect(values.every((t) => t.kind === 'tensor' && t.storage.dtype === 'F16' && t.storage.location === 'cpu')).toBe(
      true,
    );
    expect(new Set(values.map((t) => t.storage.key)).size).toBe(71);
    expect(root.get('layers.0.attention.dyn_w_proj.dw1')).toMatchObject({
      shape: [64, 1, 4, 16],
      stride: [64, 64, 16, 1],
    });
  });
});
