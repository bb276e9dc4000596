/**
 * A received value as error messages quote it: its JSON text (60 characters at most) and its type —
 * `"64" (string)`, `[1,2] (array)`, `12 (number)`, `null`, `nothing` (undefined). One wording for
 * every reader of untrusted JSON (config.json, tokenizer.json, eval's JSON lines), and always one
 * line: JSON text escapes control characters and newlines.
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  // String(fn) is the function's source, many lines long; its type says enough.
  if (typeof value === 'function' || typeof value === 'symbol') return `a ${typeof value}`;
  const type = Array.isArray(value) ? 'array' : typeof value;
  let text: string;
  try {
    // numbers as themselves (NaN, Infinity are no JSON); bigint has no JSON form at all
    text =
      typeof value === 'number' || typeof value === 'bigint' ? String(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    // JSON.stringify's recursion overflows on a value nested 20k levels deep
    return `a deeply nested ${type === 'array' ? 'array' : 'value'}`;
  }
  if (text.length > 60) text = `${text.slice(0, 57)}...`;
  return `${text} (${type})`;
}
