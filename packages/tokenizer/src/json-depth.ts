/**
 * A depth limit for JSON from files. `JSON.parse` copes with 20k levels of `[[[…]]]`, but the code
 * that walks the result (building nested normalizers and pre-tokenizers, error previews through
 * JSON.stringify) recurses and would overflow the stack with an untyped RangeError. The text is
 * scanned first, without recursion, and anything nested deeper than MAX_JSON_DEPTH is refused.
 * The same scan as @dcformer/model's checkpoint/json.ts; this package depends on nothing, so it keeps
 * its own copy.
 */

/** A tokenizer.json nests ~8 levels (Sequence inside Sequence); 64 leaves ample room. */
export const MAX_JSON_DEPTH = 64;

/** Offset of the first bracket nested deeper than `maxDepth`, or -1. */
export function jsonDepthViolation(text: string, maxDepth = MAX_JSON_DEPTH): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return i;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return -1;
}

/** Whether an already-parsed value nests deeper than `maxDepth` (iteratively; for object inputs). */
export function valueTooDeep(value: unknown, maxDepth = MAX_JSON_DEPTH): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth + 1 > maxDepth) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}
