/**
 * JSON from untrusted files. `JSON.parse` itself copes with deep nesting, but everything that walks
 * the result afterwards (validation, error previews through JSON.stringify) recurses, and 20k levels
 * of `[[[…]]]` overflow the stack with an untyped RangeError. So the text is scanned first, once and
 * without recursion, and anything nested deeper than `MAX_JSON_DEPTH` is refused before parsing.
 * Every JSON file a checkpoint brings (config.json, a safetensors header, a shard index) goes through
 * `parseJsonBounded`; @dcformer/tokenizer uses the same scan for tokenizer.json and its companions.
 * Pure and browser-safe.
 */

/** No file this project reads nests deeper than ~8 levels (tokenizer.json); 64 leaves ample room. */
export const MAX_JSON_DEPTH = 64;

/** Where the text first nests deeper than `maxDepth` (the offset of the opening bracket), or -1. */
export function jsonDepthViolation(text: string, maxDepth = MAX_JSON_DEPTH): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip a string, escapes included; an unterminated one is JSON.parse's error to report.
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

/**
 * `JSON.parse` with the depth limit. `fail(message)` must throw the caller's typed error; it is
 * called for too-deep nesting and for syntax errors, with a one-line message that reads after a
 * subject ("header is not valid JSON (…)", "config.json nests deeper than 64 levels …")
 */
export function parseJsonBounded(text: string, fail: (message: string) => never, maxDepth = MAX_JSON_DEPTH): unknown {
  const at = jsonDepthViolation(text, maxDepth);
  if (at >= 0) fail(`nests deeper than ${maxDepth} levels (at character ${at}); refusing to parse it`);
  try {
    return JSON.parse(text);
  } catch (e) {
    // V8 quotes the text around the error, newlines included: escape them to keep the error one line
    fail(
      `is not valid JSON (${(e as Error).message.replace(/[\u0000-\u001f\u2028\u2029]/g, (c) => JSON.stringify(c).slice(1, -1))})`,
    );
  }
}
