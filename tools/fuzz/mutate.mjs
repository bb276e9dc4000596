/**
 * Mutators for the fuzz harness: a seeded RNG, byte-level edits (flips, truncation, interesting
 * integers at random offsets, chunk duplication), and JSON-aware edits (type swaps, huge numbers,
 * deep nesting, long strings, removed or added keys) that keep the file parseable enough to reach
 * the validation behind the parser. Every input is derived from (seed, target, index) alone, so a
 * failure is reproduced with `node tools/fuzz/run.mjs --replay target:index --seed S`.
 */

/** xmur3 string hash -> 32-bit seed. */
function hash(text) {
  let h = 1779033703 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  h = Math.imul(h ^ (h >>> 16), 2246822507);
  h = Math.imul(h ^ (h >>> 13), 3266489909);
  return (h ^= h >>> 16) >>> 0;
}

/** mulberry32: small, fast, good enough to pick mutations. */
export function rng(seed, target, index) {
  let a = hash(`${seed}:${target}:${index}`);
  const next = () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (list) => list[Math.floor(next() * list.length)],
    chance: (p) => next() < p,
  };
}

/** Values that break length, offset and stride arithmetic. */
export const INTERESTING = [
  0,
  1,
  -1,
  2,
  7,
  8,
  255,
  256,
  0x7fff,
  0xffff,
  0x7fffffff,
  0x80000000,
  0xffffffff,
  2 ** 31 + 8,
  2 ** 32,
  2 ** 32 + 1,
  2 ** 40,
  2 ** 53 - 1,
  2 ** 53,
  2 ** 63,
  1e300,
  -(2 ** 31),
];

function writeInt(out, at, value, width) {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (at + width > out.length) return;
  const big = BigInt.asUintN(64, BigInt(Math.trunc(Math.min(Math.max(value, -(2 ** 63)), 2 ** 64 - 1))));
  if (width === 8) view.setBigUint64(at, big, true);
  else if (width === 4) view.setUint32(at, Number(big & 0xffffffffn), true);
  else if (width === 2) view.setUint16(at, Number(big & 0xffffn), true);
  else out[at] = Number(big & 0xffn);
}

/** One to a few byte-level edits of a copy of `bytes`. */
export function mutateBytes(bytes, r, maxLength = 10 << 20) {
  let out = Uint8Array.from(bytes);
  const edits = 1 + r.int(r.chance(0.2) ? 8 : 2);
  for (let e = 0; e < edits; e++) {
    const kind = r.int(8);
    const at = out.length === 0 ? 0 : r.int(out.length);
    if (kind === 0 || kind === 1) {
      if (out.length > 0) out[at] ^= 1 << r.int(8); // bit flip
    } else if (kind === 2) {
      if (out.length > 0) out[at] = r.int(256);
    } else if (kind === 3) {
      writeInt(out, at, r.pick(INTERESTING), r.pick([1, 2, 4, 8]));
    } else if (kind === 4) {
      // Length-prefix style edit near the start, where headers live.
      writeInt(out, r.int(Math.min(64, Math.max(1, out.length))), r.pick(INTERESTING), r.pick([4, 8]));
    } else if (kind === 5) {
      out = out.slice(0, r.int(out.length + 1)); // truncation
    } else if (kind === 6) {
      const len = Math.min(out.length - at, 1 + r.int(256));
      const chunk = out.slice(at, at + len);
      const copies = 1 + r.int(r.chance(0.1) ? 200 : 4);
      const grown = new Uint8Array(Math.min(maxLength, out.length + chunk.length * copies));
      grown.set(out.subarray(0, at));
      let p = at;
      for (let c = 0; c < copies && p + chunk.length <= grown.length; c++, p += chunk.length) grown.set(chunk, p);
      grown.set(out.subarray(at, at + Math.max(0, grown.length - p)), p);
      out = grown;
    } else {
      // Remove a chunk.
      const len = r.int(Math.min(512, out.length - at) + 1);
      out = Uint8Array.from([...out.subarray(0, at), ...out.subarray(at + len)].slice(0, maxLength));
    }
  }
  return out;
}

/** All [parent, key] slots of a parsed JSON value (bounded, breadth first). */
function slots(root, limit = 20000) {
  const out = [];
  const queue = [root];
  while (queue.length > 0 && out.length < limit) {
    const node = queue.shift();
    if (node === null || typeof node !== 'object') continue;
    for (const key of Array.isArray(node) ? node.keys() : Object.keys(node)) {
      out.push([node, key]);
      const child = node[key];
      if (child !== null && typeof child === 'object') queue.push(child);
    }
  }
  return out;
}

function deepNest(r) {
  const depth = r.pick([65, 1000, 20000]);
  const open = r.chance(0.5) ? '[' : '{"a":';
  const close = open === '[' ? ']' : '}';
  return { raw: `${open.repeat(depth)}0${close.repeat(depth)}` };
}

/** A JSON-aware edit of a deep copy of `value`; returns the new value (raw fragments marked {raw}). */
export function mutateJsonValue(value, r) {
  const root = { v: structuredClone(value) };
  const all = slots(root);
  const edits = 1 + r.int(3);
  for (let e = 0; e < edits && all.length > 0; e++) {
    const [parent, key] = r.pick(all);
    const kind = r.int(10);
    if (kind === 0) parent[key] = r.pick(INTERESTING) * (r.chance(0.2) ? -1 : 1);
    else if (kind === 1)
      parent[key] = r.pick([
        '',
        'x',
        '0',
        'F32',
        'BF16',
        'I64',
        '../x',
        '/etc/passwd',
        'pytorch_model.bin',
        null,
        true,
        false,
      ]);
    else if (kind === 2)
      parent[key] = Array.isArray(parent[key]) ? {} : typeof parent[key] === 'object' ? [] : [parent[key]];
    else if (kind === 3) parent[key] = deepNest(r);
    else if (kind === 4) parent[key] = 'a'.repeat(r.pick([1000, 100000, 1000000]));
    else if (kind === 5) {
      if (Array.isArray(parent)) parent.splice(key, 1);
      else delete parent[key];
    } else if (kind === 6) {
      if (Array.isArray(parent)) parent.push(...Array(Math.min(1000, 1 + r.int(50))).fill(parent[key] ?? 0));
      else parent[`${key}_${r.int(1000)}`] = parent[key];
    } else if (kind === 7) parent[key] = r.int(2) === 0 ? -r.int(100) : r.int(1 << 20);
    else if (kind === 8 && Array.isArray(parent[key])) parent[key] = parent[key].map(() => r.pick(INTERESTING));
    else parent[key] = r.next() * 1e6;
  }
  return root.v;
}

/** JSON text of a value that may hold {raw} fragments (deep nesting written as text). */
export function stringify(value) {
  const marks = [];
  const text = JSON.stringify(value, (_k, v) => {
    if (
      v !== null &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      Object.keys(v).length === 1 &&
      typeof v.raw === 'string'
    ) {
      marks.push(v.raw);
      return `\u0000RAW${marks.length - 1}\u0000`;
    }
    return v;
  });
  // A root that an edit removed is an empty file.
  return (text ?? '').replace(/"\\u0000RAW(\d+)\\u0000"/g, (_m, i) => marks[Number(i)]);
}

/**
 * Pickle-aware edits: the integer arguments of BININT (0x4a), BININT1 (0x4b) and BININT2 (0x4d)
 * opcodes are a state dict's storage sizes, offsets, shapes and strides; set a few of them to values
 * that break index arithmetic (or change an opcode into another), keeping the stream's framing.
 */
export function mutatePickle(bytes, r) {
  const out = Uint8Array.from(bytes);
  const view = new DataView(out.buffer);
  const ints = [];
  for (let i = 0; i < out.length - 4; i++) if (out[i] === 0x4a || out[i] === 0x4b) ints.push(i);
  const edits = 1 + r.int(4);
  for (let e = 0; e < edits && ints.length > 0; e++) {
    const at = r.pick(ints);
    if (out[at] === 0x4a)
      view.setInt32(
        at + 1,
        Number(BigInt.asIntN(32, BigInt(Math.trunc(Math.min(r.pick(INTERESTING), 2 ** 63))))),
        true,
      );
    else out[at + 1] = r.pick([0, 1, 2, 255]);
  }
  if (r.chance(0.2)) {
    // An APPENDS / SETITEMS / TUPLE bomb or a stray opcode somewhere in the stream.
    const at = r.int(out.length);
    out[at] = r.pick([0x65, 0x75, 0x74, 0x28, 0x30, 0x51, 0x52, 0x62, 0x94]);
  }
  return out;
}
