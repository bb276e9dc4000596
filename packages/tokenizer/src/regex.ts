/**
 * Translates the regex dialects of tokenizer.json (Oniguruma in HF `tokenizers`, fancy-regex in
 * tiktoken; both Unicode-aware) into an equivalent JavaScript `u` regex. The differences that
 * matter for real tokenizers:
 * - `\s` is White_Space (JS adds U+FEFF and omits U+0085), `\d` is \p{Nd}, `\w` is Unicode word;
 * - `(?i:...)` scoped case-insensitivity (Qwen, Llama-3) is not in Node 20: letters are expanded
 *   to classes, including the Unicode simple case folds `s`/U+017F and `k`/U+212A;
 * - possessive quantifiers (`x++`) and atomic groups (`(?>x)`) are emulated with a lookahead
 *   capture and a back-reference, the standard JS idiom for "match this and never give it back".
 *
 * Patterns come from files, and a JS regex cannot be interrupted, so what could backtrack
 * exponentially is refused here (UnsafeRegex, a TokenizerError): a repeated group that contains a
 * repetition or an alternation (`(a+)+`, `(a|ab)*`), unless the group is atomic. What remains is
 * polynomial per match; pre-tokenizers.ts bounds the number of matches' total time per input.
 */
import { TokenizerError } from './errors.js';

const WORD_CLASS_BODY = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}';

// Unicode simple case folding beyond ASCII for ASCII letters (Rust regex and Oniguruma apply it).
const EXTRA_FOLDS: Record<string, string> = { s: '\u017F', k: '\u212A' };

function caseVariants(ch: string): string {
  const lower = ch.toLowerCase();
  const upper = ch.toUpperCase();
  if (lower === upper || lower.length !== 1 || upper.length !== 1 || !/[a-z]/.test(lower)) return ch;
  return lower + upper + (EXTRA_FOLDS[lower] ?? '');
}

interface Group {
  outStart: number;
  atomic: boolean;
  caseInsensitive: boolean; // the flag in force outside this group, restored at ')'
  /** Contains a (backtracking) quantifier, directly or in a nested group. */
  hasQuantifier: boolean;
  /** Contains `|` directly. */
  hasAlternation: boolean;
}

/**
 * Unbounded repetitions (`*`, `+`, `{n,}`, `{m,n}` with n > 16) one after another in one alternative
 * make one match cost O(length^k): a chain of k. Real tokenizers have at most 2 (`\s*[\r\n]+`); more
 * than MAX_REPETITION_CHAIN is refused before the load-time probe would have to time it.
 */
export const MAX_REPETITION_CHAIN = 3;

function unbounded(q: string): boolean {
  if (q === '*' || q === '+') return true;
  const m = /^\{(\d*)(,(\d*))?\}$/.exec(q);
  return m !== null && m[2] !== undefined && (m[3] === '' || Number(m[3]) > 16);
}

/** `?`, `{0,1}`, `{1}`… do not repeat; anything else may match its atom many times. */
function repeats(q: string): boolean {
  if (q === '?') return false;
  const m = /^\{(\d*)(,(\d*))?\}$/.exec(q);
  if (m === null) return true;
  if (m[2] === undefined) return Number(m[1]) > 1;
  return m[3] === '' || Number(m[3]) > 1;
}

function fail(pattern: string, at: number, what: string, field: string): never {
  throw new TokenizerError(`${field}: unsupported regex syntax ${what} at ${at} in ${JSON.stringify(pattern)}`, {
    field,
  });
}

/** Translates one escape sequence starting at pattern[i] === '\\'. Returns [js text, chars consumed]. */
function translateEscape(pattern: string, i: number, inClass: boolean, field: string): [string, number] {
  const c = pattern[i + 1];
  if (c === undefined) fail(pattern, i, 'trailing backslash', field);
  switch (c) {
    case 's':
      return ['\\p{White_Space}', 2];
    case 'S':
      return ['\\P{White_Space}', 2];
    case 'd':
      return ['\\p{Nd}', 2];
    case 'D':
      return ['\\P{Nd}', 2];
    case 'w':
      return [inClass ? WORD_CLASS_BODY : `[${WORD_CLASS_BODY}]`, 2];
    case 'W':
      if (inClass) fail(pattern, i, '\\W inside a class', field);
      return [`[^${WORD_CLASS_BODY}]`, 2];
    case 'A':
      if (inClass) fail(pattern, i, '\\A inside a class', field);
      return ['^', 2];
    case 'z':
      if (inClass) fail(pattern, i, '\\z inside a class', field);
      return ['$', 2];
    case 'p':
    case 'P': {
      if (pattern[i + 2] === '{') {
        const close = pattern.indexOf('}', i + 3);
        if (close < 0) fail(pattern, i, 'unterminated \\p{', field);
        return [pattern.slice(i, close + 1), close + 1 - i];
      }
      return [`\\${c}{${pattern[i + 2]}}`, 3];
    }
    case 'x': {
      if (pattern[i + 2] === '{') {
        const close = pattern.indexOf('}', i + 3);
        if (close < 0) fail(pattern, i, 'unterminated \\x{', field);
        return [`\\u{${pattern.slice(i + 3, close)}}`, close + 1 - i];
      }
      return [pattern.slice(i, i + 4), 4];
    }
    default:
      if (/[nrtfv0bBu]/.test(c)) return [`\\${c}`, 2];
      if (/[A-Za-z0-9]/.test(c)) fail(pattern, i, `\\${c}`, field);
      // Rust and Oniguruma allow escaping any punctuation; JS `u` mode only syntax characters.
      if ('^$\\.*+?()[]{}|/'.includes(c)) return [`\\${c}`, 2];
      return [inClass && c === '-' ? '\\-' : c, 2];
  }
}

/**
 * Translates a tokenizer.json regex into a JS RegExp source (use with flags 'gu' or 'yu').
 * `field` names the JSON field in errors.
 */
export function translateRegex(pattern: string, field = 'pattern'): string {
  let out = '';
  let caseInsensitive = false;
  let lastAtomStart = -1;
  /** The group that just closed, while it is the atom a quantifier would apply to. */
  let lastGroup: Group | null = null;
  let helper = 0;
  const groups: Group[] = [];
  // Repetition chains: [repetitions in the current alternative, most in any finished alternative] per group.
  const chains: Array<{ seq: number; best: number }> = [{ seq: 0, best: 0 }];
  const open = (outStart: number, atomic: boolean): void => {
    groups.push({ outStart, atomic, caseInsensitive, hasQuantifier: false, hasAlternation: false });
    chains.push({ seq: 0, best: 0 });
  };
  const addToChain = (n: number, at: number): void => {
    const frame = chains[chains.length - 1];
    frame.seq += n;
    if (frame.seq > MAX_REPETITION_CHAIN) {
      throw new TokenizerError(
        `${field}: regex ${JSON.stringify(pattern)} has ${frame.seq} unbounded repetitions in a row (at ${at}), whose matching time grows like length^${frame.seq + 1}; at most ${MAX_REPETITION_CHAIN} are allowed`,
        { field },
      );
    }
  };
  let i = 0;
  const wrapAtomic = (start: number, end: number): void => {
    const name = `atomic${helper++}`;
    out = `${out.slice(0, start)}(?=(?<${name}>${out.slice(start, end)}))\\k<${name}>${out.slice(end)}`;
  };
  while (i < pattern.length) {
    const c = pattern[i];
    const closed = lastGroup;
    lastGroup = null;
    if (c === '\\') {
      const [text, used] = translateEscape(pattern, i, false, field);
      lastAtomStart = out.length;
      out += text;
      i += used;
    } else if (c === '[') {
      lastAtomStart = out.length;
      let j = i + 1;
      let body = '[';
      if (pattern[j] === '^') {
        body += '^';
        j++;
      }
      if (pattern[j] === ']') {
        body += '\\]';
        j++;
      }
      while (j < pattern.length && pattern[j] !== ']') {
        if (pattern[j] === '\\') {
          const [text, used] = translateEscape(pattern, j, true, field);
          body += text;
          j += used;
        } else if (pattern[j] === '[') {
          fail(pattern, j, 'nested class', field);
        } else {
          body += caseInsensitive ? caseVariants(pattern[j]) : pattern[j];
          j++;
        }
      }
      if (j >= pattern.length) fail(pattern, i, 'unterminated class', field);
      out += `${body}]`;
      i = j + 1;
    } else if (c === '(') {
      if (pattern.startsWith('(?', i)) {
        const m = /^\(\?([a-zA-Z-]*)(:|\))/.exec(pattern.slice(i));
        if (m !== null && m[1] !== '' && /^-?i$/.test(m[1])) {
          const flagOn = m[1] === 'i';
          if (m[2] === ')') {
            caseInsensitive = flagOn; // (?i) turns it on to the end of the enclosing group
            i += m[0].length;
            continue;
          }
          open(out.length, false);
          caseInsensitive = flagOn;
          out += '(?:';
          i += m[0].length;
          continue;
        }
        if (m !== null && m[1] !== '') fail(pattern, i, `flags (?${m[1]})`, field);
        if (pattern.startsWith('(?>', i)) {
          open(out.length, true);
          out += '(?:';
          i += 3;
          continue;
        }
        if (pattern.startsWith('(?P<', i)) {
          open(out.length, false);
          out += '(?<';
          i += 4;
          continue;
        }
        const opener = /^\(\?(?::|=|!|<=|<!|<(?=[A-Za-z_]))/.exec(pattern.slice(i));
        if (opener === null) fail(pattern, i, 'group', field);
        open(out.length, false);
        out += opener[0];
        i += opener[0].length;
        continue;
      }
      open(out.length, false);
      out += '(';
      i++;
    } else if (c === ')') {
      const group = groups.pop();
      if (group === undefined) fail(pattern, i, 'unbalanced )', field);
      out += ')';
      if (group.atomic) wrapAtomic(group.outStart, out.length);
      caseInsensitive = group.caseInsensitive;
      lastAtomStart = group.outStart;
      // An atomic group never gives back what it matched, so its inside cannot backtrack from outside.
      if (!group.atomic && group.hasQuantifier && groups.length > 0) groups[groups.length - 1].hasQuantifier = true;
      const chain = chains.pop()!;
      addToChain(Math.max(chain.best, chain.seq), i);
      lastGroup = group;
      i++;
    } else if (c === '*' || c === '+' || c === '?' || c === '{') {
      let q = c;
      let j = i + 1;
      if (c === '{') {
        const close = pattern.indexOf('}', i);
        if (close < 0 || !/^\{\d*(,\d*)?\}$/.test(pattern.slice(i, close + 1))) {
          // A literal brace, as Oniguruma reads a '{' that does not start a counted repetition.
          lastAtomStart = out.length;
          out += '\\{';
          i++;
          continue;
        }
        q = pattern.slice(i, close + 1);
        j = close + 1;
      }
      if (lastAtomStart < 0) fail(pattern, i, `quantifier ${q} with nothing to repeat`, field);
      const possessive = pattern[j] === '+';
      if (closed !== null && !closed.atomic && repeats(q) && (closed.hasQuantifier || closed.hasAlternation)) {
        const what = closed.hasQuantifier ? 'a repetition' : 'an alternation';
        throw new TokenizerError(
          `${field}: regex ${JSON.stringify(pattern)} repeats a group containing ${what} (quantifier ${q} at ${i}), which can take exponential time on some inputs; make the group atomic (?>…) or rewrite it`,
          { field },
        );
      }
      if (!possessive && groups.length > 0) groups[groups.length - 1].hasQuantifier = true;
      if (!possessive && unbounded(q)) addToChain(1, i);
      if (pattern[j] === '+') {
        out += q;
        wrapAtomic(lastAtomStart, out.length);
        j++;
      } else if (pattern[j] === '?') {
        out += `${q}?`;
        j++;
      } else {
        out += q;
      }
      lastAtomStart = -1;
      i = j;
    } else if (c === '|') {
      if (groups.length > 0) groups[groups.length - 1].hasAlternation = true;
      const frame = chains[chains.length - 1];
      frame.best = Math.max(frame.best, frame.seq);
      frame.seq = 0;
      out += '|';
      lastAtomStart = -1;
      i++;
    } else {
      lastAtomStart = out.length;
      const variants = caseInsensitive ? caseVariants(c) : c;
      out += variants.length > 1 ? `[${variants}]` : c === ']' || c === '}' ? `\\${c}` : c;
      i++;
    }
  }
  if (groups.length > 0) fail(pattern, pattern.length, 'unbalanced (', field);
  return out;
}

/** A global JS RegExp for a tokenizer.json regex; errors name `field`. */
export function compileRegex(pattern: string, field: string): RegExp {
  const source = translateRegex(pattern, field);
  try {
    return new RegExp(source, 'gu');
  } catch (error) {
    throw new TokenizerError(`${field}: cannot compile regex ${JSON.stringify(pattern)}: ${(error as Error).message}`, {
      field,
    });
  }
}

const PROBE_UNITS = [
  ' ',
  'a',
  'A',
  '1',
  '\n',
  '\r\n',
  '\t',
  '!',
  "'",
  '\u00e9',
  '\u4e2d',
  '\u{1F600}',
  ' a',
  'a1',
  'a ',
];
const LINEAR = /[\s\S]/gu;

function findAll(regex: RegExp, text: string): void {
  regex.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = regex.exec(text)) !== null) {
    if (m[0].length === 0)
      regex.lastIndex +=
        text.charCodeAt(regex.lastIndex) >= 0xd800 && text.charCodeAt(regex.lastIndex) <= 0xdbff ? 2 : 1;
  }
}

/**
 * Refuses a regex whose matching time grows faster than linearly with the input (backtracking such
 * as `\s*[\r\n]+` alone on a long run of spaces): it is run over runs of common characters of
 * growing length (64, 512, 4096, 16384), each followed by a character that forces backtracking, and
 * timed against a linear scan of the same texts. Polynomial patterns are refused within a few seconds
 * of loading (quadratic ones at the last length at worst), before any input is encoded. A linear
 * pattern costs a few milliseconds.
 */
export function checkRegexScales(regex: RegExp, pattern: string, field: string): void {
  const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());
  for (let length = 16; length <= 16384; length *= 2) {
    const texts = PROBE_UNITS.map((u) => `${u.repeat(Math.ceil(length / u.length))}\u0000`);
    const started = now();
    for (const t of texts) findAll(regex, t);
    const took = now() - started;
    const linearStarted = now();
    for (const t of texts) findAll(LINEAR, t);
    const linear = now() - linearStarted;
    if (took > 50 + 10 * linear) {
      throw new TokenizerError(
        `${field}: regex ${JSON.stringify(pattern.length > 80 ? `${pattern.slice(0, 77)}...` : pattern)} took ${took.toFixed(0)} ms over ${texts.length} probe texts of ${length} characters (a linear scan: ${linear.toFixed(1)} ms); it backtracks polynomially or worse, refusing it`,
        { field },
      );
    }
  }
}

/** Escapes a literal string for use inside a JS regex. */
export function escapeRegex(literal: string): string {
  return literal.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}
