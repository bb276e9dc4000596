/**
 * A restricted unpickler for the `data.pkl` that `torch.save` writes for a state dict (pickle
 * protocol 2, plus the cheap protocol-4 opcodes). It never evaluates anything: the few "callables" a
 * state dict needs (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`,
 * `torch._utils._rebuild_parameter`) are our own functions producing plain descriptors, and storage
 * classes are only accepted as tags inside torch's persistent-id tuples. Every other global or opcode
 * is a CheckpointError naming it and its byte offset, the promise `torch.load(weights_only=True)` makes.
 *
 * The stream is decoded and checked in full (opcodes, GLOBAL names, lengths) before the first opcode is
 * interpreted, so a refused pickle is refused before anything runs. STACK_GLOBAL takes its names from
 * the stack and is checked when reached; interpretation itself only builds inert JS values.
 */
import { CheckpointError } from './errors.js';
import type { SafetensorsDtype } from './safetensors.js';

/** `module.name` of a class or function named by GLOBAL / STACK_GLOBAL. */
export interface GlobalRef {
  readonly kind: 'global';
  readonly module: string;
  readonly name: string;
}

/** One storage from a persistent id `('storage', torch.XStorage, key, location, numel)`. */
export interface StorageRef {
  readonly kind: 'storage';
  readonly dtype: SafetensorsDtype;
  /** The storage's file is `<archive>/data/<key>`. */
  readonly key: string;
  readonly location: string;
  /** Number of elements (not bytes). */
  readonly numel: number;
}

/** A tensor view of a storage, as `_rebuild_tensor_v2` would build it. */
export interface TensorRef {
  readonly kind: 'tensor';
  readonly storage: StorageRef;
  /** In elements. */
  readonly storageOffset: number;
  readonly shape: number[];
  /** In elements, one per dimension. */
  readonly stride: number[];
}

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | Map<PickleValue, PickleValue>
  | GlobalRef
  | StorageRef
  | TensorRef;

export const STORAGE_DTYPES: Readonly<Record<string, SafetensorsDtype>> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

const CALLABLES = ['collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter'];

/** Every global a state-dict pickle may name. */
export const ALLOWED_GLOBALS: readonly string[] = [
  ...CALLABLES,
  ...Object.keys(STORAGE_DTYPES).map((s) => `torch.${s}`),
];
const ALLOWED = new Set(ALLOWED_GLOBALS);

// Opcode -> argument layout. Only these opcodes are accepted; names of the refused ones are in REFUSED.
type ArgKind =
  | 'none'
  | 'u8'
  | 'u16'
  | 'i32'
  | 'u32'
  | 'u64'
  | 'f64be'
  | 'long1'
  | 'long4'
  | 'str1'
  | 'str4'
  | 'str8'
  | 'bytes1'
  | 'bytes4'
  | 'lines';
const OPS: Record<number, [string, ArgKind]> = {
  0x80: ['PROTO', 'u8'],
  0x95: ['FRAME', 'u64'],
  0x2e: ['STOP', 'none'],
  0x28: ['MARK', 'none'],
  0x7d: ['EMPTY_DICT', 'none'],
  0x5d: ['EMPTY_LIST', 'none'],
  0x29: ['EMPTY_TUPLE', 'none'],
  0x58: ['BINUNICODE', 'str4'],
  0x8c: ['SHORT_BINUNICODE', 'str1'],
  0x8d: ['BINUNICODE8', 'str8'],
  0x43: ['SHORT_BINBYTES', 'bytes1'],
  0x42: ['BINBYTES', 'bytes4'],
  0x4a: ['BININT', 'i32'],
  0x4b: ['BININT1', 'u8'],
  0x4d: ['BININT2', 'u16'],
  0x8a: ['LONG1', 'long1'],
  0x8b: ['LONG4', 'long4'],
  0x47: ['BINFLOAT', 'f64be'],
  0x88: ['NEWTRUE', 'none'],
  0x89: ['NEWFALSE', 'none'],
  0x4e: ['NONE', 'none'],
  0x74: ['TUPLE', 'none'],
  0x85: ['TUPLE1', 'none'],
  0x86: ['TUPLE2', 'none'],
  0x87: ['TUPLE3', 'none'],
  0x73: ['SETITEM', 'none'],
  0x75: ['SETITEMS', 'none'],
  0x61: ['APPEND', 'none'],
  0x65: ['APPENDS', 'none'],
  0x71: ['BINPUT', 'u8'],
  0x72: ['LONG_BINPUT', 'u32'],
  0x68: ['BINGET', 'u8'],
  0x6a: ['LONG_BINGET', 'u32'],
  0x94: ['MEMOIZE', 'none'],
  0x63: ['GLOBAL', 'lines'],
  0x93: ['STACK_GLOBAL', 'none'],
  0x52: ['REDUCE', 'none'],
  0x81: ['NEWOBJ', 'none'],
  0x51: ['BINPERSID', 'none'],
  0x62: ['BUILD', 'none'],
};
const REFUSED: Record<number, string> = {
  0x69: 'INST',
  0x6f: 'OBJ',
  0x92: 'NEWOBJ_EX',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x50: 'PERSID',
  0x30: 'POP',
  0x31: 'POP_MARK',
  0x32: 'DUP',
  0x46: 'FLOAT',
  0x49: 'INT',
  0x4c: 'LONG',
  0x53: 'STRING',
  0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE',
  0x64: 'DICT',
  0x6c: 'LIST',
  0x67: 'GET',
  0x70: 'PUT',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x8e: 'BINBYTES8',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

interface Op {
  name: string;
  pos: number;
  arg: PickleValue;
}

/**
 * A state dict's pickle has ~50 opcodes per tensor (25k for a 7B model); a stream of millions of
 * one-byte opcodes is an attempt to make the interpreter allocate, not a checkpoint.
 */
export const MAX_PICKLE_OPS = 4_000_000;

/** Unpickles a torch state-dict pickle into inert values; tensors come back as TensorRef descriptors. */
export function unpickleTorch(bytes: Uint8Array, label = '<pickle>'): PickleValue {
  return new Interpreter(decode(bytes, label), label).run();
}

function failAt(label: string, pos: number, message: string): never {
  throw new CheckpointError(`pickle ${label}: ${message} at byte ${pos}`, { file: label });
}

function globalName(g: GlobalRef): string {
  return `${g.module}.${g.name}`;
}

function checkGlobal(g: GlobalRef, label: string, pos: number): GlobalRef {
  if (!ALLOWED.has(globalName(g))) {
    failAt(label, pos, `refused global ${globalName(g)} (a state dict only needs ${ALLOWED_GLOBALS.join(', ')})`);
  }
  return g;
}

/** Pass 1: splits the stream into opcodes with decoded arguments, refusing anything not allowed. */
function decode(bytes: Uint8Array, label: string): Op[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const ops: Op[] = [];
  let p = 0;
  let pos = 0;
  let name = '';
  /** Consumes n bytes of argument and returns where they start. */
  const take = (n: number | bigint): number => {
    if (BigInt(n) > BigInt(bytes.length - p)) {
      failAt(
        label,
        pos,
        `${name} needs ${n} more bytes but the pickle ends after ${bytes.length - p}; it is truncated`,
      );
    }
    p += Number(n);
    return p - Number(n);
  };
  const text = (n: number | bigint): string => {
    const at = take(n);
    try {
      return utf8.decode(bytes.subarray(at, p));
    } catch {
      failAt(label, pos, `${name} holds invalid UTF-8`);
    }
  };
  const long = (n: number): number | bigint => {
    // Building a BigInt is quadratic in its length; no tensor index needs more than 8 bytes.
    if (n < 0 || n > 255) failAt(label, pos, `${name} with length ${n}; expected 0..255 bytes`);
    return readLong(bytes.subarray(take(n), p));
  };
  for (;;) {
    if (p >= bytes.length) failAt(label, p, 'pickle ends without STOP; it is truncated');
    pos = p;
    const code = bytes[p++];
    const spec = OPS[code];
    if (spec === undefined) {
      const refused = REFUSED[code];
      failAt(
        label,
        pos,
        refused === undefined
          ? `unknown opcode 0x${code.toString(16)}`
          : `refused opcode ${refused} (not used by torch.save state dicts)`,
      );
    }
    const kind = spec[1];
    name = spec[0];
    let arg: PickleValue = null;
    switch (kind) {
      case 'none':
        break;
      case 'u8':
        arg = bytes[take(1)];
        break;
      case 'u16':
        arg = view.getUint16(take(2), true);
        break;
      case 'i32':
        arg = view.getInt32(take(4), true);
        break;
      case 'u32':
        arg = view.getUint32(take(4), true);
        break;
      case 'u64':
        arg = Number(view.getBigUint64(take(8), true));
        break;
      case 'f64be':
        arg = view.getFloat64(take(8), false);
        break;
      case 'str1':
        arg = text(bytes[take(1)]);
        break;
      case 'str4':
        arg = text(view.getUint32(take(4), true));
        break;
      case 'str8':
        arg = text(view.getBigUint64(take(8), true));
        break;
      case 'bytes1':
        arg = bytes.slice(take(bytes[take(1)]), p);
        break;
      case 'bytes4':
        arg = bytes.slice(take(view.getUint32(take(4), true)), p);
        break;
      case 'long1':
        arg = long(bytes[take(1)]);
        break;
      case 'long4':
        arg = long(view.getInt32(take(4), true));
        break;
      case 'lines': {
        const module = readLine(bytes, p, pos, label);
        p += module.length + 1;
        const member = readLine(bytes, p, pos, label);
        p += member.length + 1;
        arg = checkGlobal({ kind: 'global', module, name: member }, label, pos);
        break;
      }
    }
    if (name === 'PROTO' && (arg as number) > 5)
      failAt(label, pos, `pickle protocol ${arg} is newer than any torch.save writes`);
    if (ops.length >= MAX_PICKLE_OPS)
      failAt(label, pos, `pickle has more than ${MAX_PICKLE_OPS} opcodes; expected a state dict (~50 per tensor)`);
    ops.push({ name, pos, arg });
    if (name === 'STOP') return ops;
  }
}

function readLine(bytes: Uint8Array, start: number, pos: number, label: string): string {
  const end = bytes.indexOf(0x0a, start);
  if (end < 0 || end - start > 256)
    failAt(label, pos, 'GLOBAL without a newline-terminated name; the pickle is truncated or corrupt');
  let s = '';
  for (let i = start; i < end; i++) {
    if (bytes[i] < 0x20 || bytes[i] > 0x7e) failAt(label, pos, 'GLOBAL name holds a non-ASCII byte');
    s += String.fromCharCode(bytes[i]);
  }
  return s;
}

/** Little-endian two's-complement integer; a plain number when it fits exactly. */
function readLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

const MARK = Symbol('mark');
type Slot = PickleValue | typeof MARK;

function isKind<K extends string>(v: unknown, kind: K): v is { kind: K } {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    !(v instanceof Map) &&
    (v as { kind?: unknown }).kind === kind
  );
}

function describe(v: PickleValue): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return `a sequence of ${v.length}`;
  if (v instanceof Map) return 'a dict';
  if (v instanceof Uint8Array) return 'bytes';
  if (typeof v === 'object') return v.kind === 'global' ? globalName(v) : `a ${v.kind}`;
  return `${typeof v} ${JSON.stringify(typeof v === 'bigint' ? String(v) : v)}`;
}

/** Pass 2: a stack machine over the decoded opcodes, building values without side effects. */
class Interpreter {
  private stack: Slot[] = [];
  private readonly memo = new Map<number, PickleValue>();
  /** Tuples are immutable in Python; APPEND/SETITEM on one is corruption. */
  private readonly tuples = new WeakSet<PickleValue[]>();
  /** Persistent ids naming the same key must agree, since torch writes each storage once. */
  private readonly storages = new Map<string, StorageRef>();
  private pos = 0;

  constructor(
    private readonly ops: Op[],
    private readonly label: string,
  ) {}

  private fail(message: string): never {
    failAt(this.label, this.pos, message);
  }

  private pop(): PickleValue {
    const v = this.stack.pop();
    if (v === undefined) this.fail('stack underflow');
    if (v === MARK) this.fail('unexpected MARK on the stack');
    return v;
  }

  private top(): PickleValue {
    const v = this.stack[this.stack.length - 1];
    if (v === undefined || v === MARK) this.fail('expected a value on the stack');
    return v;
  }

  private popMark(): PickleValue[] {
    const at = this.stack.lastIndexOf(MARK);
    if (at < 0) this.fail('no MARK on the stack');
    const items = this.stack.slice(at + 1) as PickleValue[];
    this.stack.length = at;
    return items;
  }

  private tuple(items: PickleValue[]): PickleValue[] {
    this.tuples.add(items);
    return items;
  }

  run(): PickleValue {
    for (const op of this.ops) {
      this.pos = op.pos;
      const s = this.stack;
      switch (op.name) {
        case 'PROTO':
        case 'FRAME':
          break;
        case 'STOP': {
          const result = this.pop();
          if (s.length !== 0) this.fail(`STOP with ${s.length} values left on the stack`);
          return result;
        }
        case 'MARK':
          s.push(MARK);
          break;
        case 'EMPTY_DICT':
          s.push(new Map());
          break;
        case 'EMPTY_LIST':
          s.push([]);
          break;
        case 'EMPTY_TUPLE':
          s.push(this.tuple([]));
          break;
        case 'NONE':
          s.push(null);
          break;
        case 'NEWTRUE':
          s.push(true);
          break;
        case 'NEWFALSE':
          s.push(false);
          break;
        case 'TUPLE':
          s.push(this.tuple(this.popMark()));
          break;
        case 'TUPLE1':
        case 'TUPLE2':
        case 'TUPLE3': {
          const n = Number(op.name[5]);
          const items: PickleValue[] = [];
          for (let i = 0; i < n; i++) items.unshift(this.pop());
          s.push(this.tuple(items));
          break;
        }
        case 'APPEND': {
          const v = this.pop();
          this.list().push(v);
          break;
        }
        case 'APPENDS': {
          // One by one: push(...items) spreads its argument on the call stack, and 500k items overflow it.
          const vs = this.popMark();
          const list = this.list();
          for (const v of vs) list.push(v);
          break;
        }
        case 'SETITEM': {
          const v = this.pop();
          const k = this.pop();
          this.dict().set(k, v);
          break;
        }
        case 'SETITEMS': {
          const kv = this.popMark();
          if (kv.length % 2 !== 0) this.fail('SETITEMS with an odd number of items');
          const d = this.dict();
          for (let i = 0; i < kv.length; i += 2) d.set(kv[i], kv[i + 1]);
          break;
        }
        case 'BINPUT':
        case 'LONG_BINPUT':
          this.memo.set(op.arg as number, this.top());
          break;
        case 'MEMOIZE':
          this.memo.set(this.memo.size, this.top());
          break;
        case 'BINGET':
        case 'LONG_BINGET': {
          if (!this.memo.has(op.arg as number)) this.fail(`${op.name} of memo entry ${op.arg}, which was never stored`);
          s.push(this.memo.get(op.arg as number)!);
          break;
        }
        case 'GLOBAL':
          s.push(op.arg);
          break;
        case 'STACK_GLOBAL': {
          const name = this.pop();
          const module = this.pop();
          if (typeof module !== 'string' || typeof name !== 'string') this.fail('STACK_GLOBAL needs two strings');
          s.push(checkGlobal({ kind: 'global', module, name }, this.label, op.pos));
          break;
        }
        case 'REDUCE':
        case 'NEWOBJ': {
          const args = this.pop();
          const fn = this.pop();
          s.push(this.call(fn, args, op.name));
          break;
        }
        case 'BINPERSID':
          s.push(this.persistentLoad(this.pop()));
          break;
        case 'BUILD': {
          this.pop();
          // torch pickles a state dict's `_metadata` (module versions) as OrderedDict state; unused here.
          if (!(this.top() instanceof Map)) this.fail(`BUILD on ${describe(this.top())}; only dict state is accepted`);
          break;
        }
        case 'BINUNICODE':
        case 'SHORT_BINUNICODE':
        case 'BINUNICODE8':
        case 'SHORT_BINBYTES':
        case 'BINBYTES':
        case 'BININT':
        case 'BININT1':
        case 'BININT2':
        case 'LONG1':
        case 'LONG4':
        case 'BINFLOAT':
          s.push(op.arg);
          break;
        default:
          this.fail(`opcode ${op.name} has no handler`);
      }
    }
    this.fail('pickle ends without STOP');
  }

  private list(): PickleValue[] {
    const t = this.top();
    if (!Array.isArray(t) || this.tuples.has(t)) this.fail(`APPEND to ${describe(t)}; expected a list`);
    return t;
  }

  private dict(): Map<PickleValue, PickleValue> {
    const t = this.top();
    if (!(t instanceof Map)) this.fail(`SETITEM on ${describe(t)}; expected a dict`);
    return t;
  }

  private call(fn: PickleValue, args: PickleValue, opName: string): PickleValue {
    if (!isKind(fn, 'global') || !CALLABLES.includes(globalName(fn as GlobalRef))) {
      this.fail(`${opName} on ${describe(fn)} is not allowed; only ${CALLABLES.join(', ')} may be called`);
    }
    const name = globalName(fn as GlobalRef);
    if (!Array.isArray(args) || !this.tuples.has(args))
      this.fail(`${opName} of ${name} needs an argument tuple; got ${describe(args)}`);
    if (opName === 'NEWOBJ' && name !== 'collections.OrderedDict') this.fail(`NEWOBJ on ${name} is not allowed`);
    switch (name) {
      case 'collections.OrderedDict':
        if (args.length !== 0) this.fail(`${name} with ${args.length} arguments; torch.save passes none`);
        return new Map();
      case 'torch._utils._rebuild_parameter':
        if (args.length !== 3 || !isKind(args[0], 'tensor'))
          this.fail(`${name} needs (tensor, requires_grad, hooks); got ${args.length} arguments`);
        return args[0]; // requires_grad and hooks mean nothing for inference.
      default:
        return this.rebuildTensor(args);
    }
  }

  /** `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`. */
  private rebuildTensor(args: PickleValue[]): TensorRef {
    if (args.length !== 6 && args.length !== 7)
      this.fail(`_rebuild_tensor_v2 with ${args.length} arguments; expected 6 or 7`);
    const [storage, offset, size, stride] = args;
    if (!isKind(storage, 'storage')) this.fail(`_rebuild_tensor_v2 needs a storage first; got ${describe(storage)}`);
    const st = storage as StorageRef;
    const shape = this.ints(size, 'size');
    const strides = this.ints(stride, 'stride');
    const storageOffset = this.ints([offset], 'storage_offset')[0];
    if (strides.length !== shape.length)
      this.fail(`_rebuild_tensor_v2 size has ${shape.length} dims but stride has ${strides.length}`);
    const numel = shape.reduce((a, b) => a * b, 1);
    // A view with more elements than its storage repeats elements (stride 0, overlapping strides):
    // a few bytes of file would become gigabytes of tensor. torch.save never writes one for weights.
    if (!(numel <= st.numel)) {
      this.fail(
        `tensor view (size [${shape}], stride [${strides}]) has ${numel} elements but storage '${st.key}' holds ${st.numel}; views that repeat storage elements are not supported`,
      );
    }
    // The last element a view touches must lie inside its storage.
    const last =
      numel === 0 ? storageOffset - 1 : shape.reduce((acc, d, i) => acc + (d - 1) * strides[i], storageOffset);
    if (last >= st.numel || !Number.isSafeInteger(last)) {
      this.fail(
        `tensor view (offset ${storageOffset}, size [${shape}], stride [${strides}]) reaches element ${last} of storage '${st.key}' with ${st.numel} elements`,
      );
    }
    return { kind: 'tensor', storage: st, storageOffset, shape, stride: strides };
  }

  private ints(v: PickleValue, what: string): number[] {
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) {
      this.fail(`_rebuild_tensor_v2 ${what} must be non-negative integers; got ${describe(v)}`);
    }
    return [...(v as number[])];
  }

  /** torch's persistent id for a storage: `('storage', torch.XStorage, key, location, numel)`. */
  private persistentLoad(pid: PickleValue): StorageRef {
    if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') {
      this.fail(`persistent id ${describe(pid)} is not a ('storage', type, key, location, numel) tuple`);
    }
    const [, type, key, location, numel] = pid;
    const cls = isKind(type, 'global') ? (type as GlobalRef) : undefined;
    const dtype = cls?.module === 'torch' ? STORAGE_DTYPES[cls.name] : undefined;
    if (dtype === undefined)
      this.fail(`persistent id storage type ${describe(type)} is not a known torch storage class`);
    if (typeof key !== 'string' || key === '' || key.includes('/'))
      this.fail(`storage key ${describe(key)} is not a plain name`);
    if (typeof location !== 'string') this.fail(`storage location ${describe(location)} is not a string`);
    if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0)
      this.fail(`storage '${key}' size ${describe(numel)} is not a count`);
    const previous = this.storages.get(key);
    if (previous !== undefined) {
      if (previous.dtype !== dtype || previous.numel !== numel) {
        this.fail(`storage '${key}' is named as ${previous.dtype}[${previous.numel}] and as ${dtype}[${numel}]`);
      }
      return previous;
    }
    const ref: StorageRef = { kind: 'storage', dtype, key, location, numel };
    this.storages.set(key, ref);
    return ref;
  }
}
