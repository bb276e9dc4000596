/**
 * tokenizer.json pre-tokenizers: split a segment of normalized text into the pieces the model
 * encodes one at a time. Supported: ByteLevel, Split, Sequence, Digits, Whitespace,
 * WhitespaceSplit, Punctuation, Metaspace. The GPT-2 and Qwen split regexes run on hand-written
 * scanners (scanners.ts); any other regex is translated to JS (regex.ts).
 */
import { TokenizerError } from './errors.js';
import { asArray, asBool, asObject, asString, optionalString, typeOf, type JsonObject } from './json-fields.js';
import { checkRegexScales, compileRegex, escapeRegex } from './regex.js';
import { GPT2_PATTERN, QWEN_PATTERN, scanGpt2, scanQwen, type Emit } from './scanners.js';

/** Splits `text` and calls emit for each non-empty piece. `first`: the segment starts the input. */
export type PreTokenizeStep = (text: string, first: boolean, emit: (piece: string) => void) => void;

export interface PreTokenizer {
  run: PreTokenizeStep;
  /** Pieces are UTF-8 encoded and mapped through the byte alphabet before the model (ByteLevel). */
  byteLevel: boolean;
  /** When the whole pre-tokenizer is one scanner over the segment, the engine calls it directly. */
  scanner: ((text: string, emit: Emit) => void) | null;
}

type Behavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';
const BEHAVIORS: readonly string[] = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];

/** Match finder: calls emit(start, end) for each (non-overlapping) match, in order. */
type Matcher = (text: string, emit: Emit) => void;

/**
 * Time one input may spend in a file-supplied regex: 2 s plus 1 s per 100k characters. regex.ts
 * refuses exponential patterns; this bounds the polynomial ones (e.g. `\s*[\r\n]+` on a long run
 * of spaces is quadratic over the matches).
 */
export function regexBudgetMs(length: number): number {
  return 2000 + length / 100;
}

function regexMatcher(regex: RegExp): Matcher {
  return (text, emit) => {
    regex.lastIndex = 0;
    const deadline = Date.now() + regexBudgetMs(text.length);
    let m: RegExpExecArray | null;
    let steps = 0;
    while ((m = regex.exec(text)) !== null) {
      if ((++steps & 0xff) === 0 && Date.now() > deadline) {
        throw new TokenizerError(
          `pre-tokenizer regex ${regex.source.length > 60 ? `${regex.source.slice(0, 57)}...` : regex.source} took more than ${regexBudgetMs(text.length)} ms on an input of ${text.length} characters; refusing to go on`,
        );
      }
      if (m[0].length === 0) {
        // Empty matches split nothing; step over one code point, as Rust's find_iter does. Stepping one
        // code unit would land inside a surrogate pair, where a `u` regex matches at the pair's start
        // again: an endless loop.
        const at = regex.lastIndex;
        const c = text.charCodeAt(at);
        regex.lastIndex = at + (c >= 0xd800 && c <= 0xdbff && at + 1 < text.length ? 2 : 1);
        continue;
      }
      emit(m.index, m.index + m[0].length);
    }
  };
}

function predicateMatcher(test: (codePoint: number) => boolean): Matcher {
  return (text, emit) => {
    for (let i = 0; i < text.length; ) {
      const cp = text.codePointAt(i)!;
      const w = cp > 0xffff ? 2 : 1;
      if (test(cp)) emit(i, i + w);
      i += w;
    }
  };
}

/** Applies a split behaviour (HF SplitDelimiterBehavior) to the matches of `find` in text. */
export function splitWith(find: Matcher, behavior: Behavior, invert: boolean): PreTokenizeStep {
  return (text, _first, emit) => {
    // (start, end, isMatch) covering the whole text, as HF builds it before applying the behaviour.
    const parts: number[] = [];
    let last = 0;
    find(text, (start, end) => {
      if (start > last) parts.push(last, start, invert ? 1 : 0);
      parts.push(start, end, invert ? 0 : 1);
      last = end;
    });
    if (last < text.length) parts.push(last, text.length, invert ? 1 : 0);
    const out: number[] = [];
    if (behavior === 'MergedWithNext') {
      let nextIsMatch = false;
      for (let k = parts.length - 3; k >= 0; k -= 3) {
        const isMatch = parts[k + 2] === 1;
        if (isMatch && !nextIsMatch && out.length > 0) out[out.length - 1] = parts[k];
        else out.push(parts[k + 1], parts[k]); // reversed (end, start) pairs
        nextIsMatch = isMatch;
      }
      for (let k = out.length - 2; k >= 0; k -= 2) if (out[k + 1] < out[k]) emit(text.slice(out[k + 1], out[k]));
      return;
    }
    let previousMatch = false;
    for (let k = 0; k < parts.length; k += 3) {
      const start = parts[k];
      const end = parts[k + 1];
      const isMatch = parts[k + 2] === 1;
      if (behavior === 'Removed') {
        if (!isMatch) out.push(start, end);
      } else if (behavior === 'Isolated') {
        out.push(start, end);
      } else if (behavior === 'MergedWithPrevious') {
        if (isMatch && !previousMatch && out.length > 0) out[out.length - 1] = end;
        else out.push(start, end);
      } else if (isMatch && previousMatch && out.length > 0) {
        out[out.length - 1] = end; // Contiguous
      } else {
        out.push(start, end);
      }
      previousMatch = isMatch;
    }
    for (let k = 0; k < out.length; k += 2) if (out[k] < out[k + 1]) emit(text.slice(out[k], out[k + 1]));
  };
}

function scannerStep(scan: (text: string, emit: Emit) => void): PreTokenizeStep {
  return (text, _first, emit) => scan(text, (start, end) => emit(text.slice(start, end)));
}

function knownScanner(pattern: string): ((text: string, emit: Emit) => void) | null {
  if (pattern === GPT2_PATTERN) return scanGpt2;
  if (pattern === QWEN_PATTERN) return scanQwen;
  return null;
}

function behaviorOf(value: unknown, field: string, fallback: Behavior): Behavior {
  if (value === undefined || value === null) return fallback;
  const b = asString(value, field);
  if (!BEHAVIORS.includes(b)) {
    throw new TokenizerError(
      `tokenizer.json: '${field}' must be one of ${BEHAVIORS.join(', ')}; got ${JSON.stringify(b)}`,
      { field },
    );
  }
  return b as Behavior;
}

/**
 * `text.replace(regex, content)` whose output may grow at most to 16× the input + 1 MiB characters: a
 * pattern that matches everywhere (even the empty string) with a long `content` from the file would
 * otherwise build gigabytes from a short text.
 */
export function boundedReplace(text: string, regex: RegExp, content: string, field: string): string {
  const limit = 16 * text.length + (1 << 20);
  let added = 0;
  return text.replace(regex, (match: string) => {
    added += content.length - match.length;
    if (text.length + added > limit) {
      throw new TokenizerError(
        `tokenizer.json: '${field}' Replace would grow a ${text.length}-character text past ${limit} characters; refusing it`,
        { field },
      );
    }
    return content;
  });
}

/** The matcher of a Split / Replace pattern: `{"Regex": "..."}` or `{"String": "..."}`. */
export function patternRegex(value: unknown, field: string): { regex: RegExp; source: string | null } {
  const pattern = asObject(value, field);
  if (typeof pattern.Regex === 'string') {
    const regex = compileRegex(pattern.Regex, `${field}.Regex`);
    // The GPT-2 and Qwen patterns run on hand-written linear scanners; any other one is probed.
    if (knownScanner(pattern.Regex) === null) checkRegexScales(regex, pattern.Regex, `${field}.Regex`);
    return { regex, source: pattern.Regex };
  }
  if (typeof pattern.String === 'string') return { regex: new RegExp(escapeRegex(pattern.String), 'gu'), source: null };
  throw new TokenizerError(`tokenizer.json: '${field}' must be {"Regex": string} or {"String": string}`, { field });
}

const NUMERIC = /^\p{N}$/u;
const PUNCTUATION = /^\p{P}$/u;

function buildOne(config: JsonObject, field: string, state: { byteLevel: boolean }): PreTokenizer {
  const type = typeOf(config, field, [
    'ByteLevel',
    'Split',
    'Sequence',
    'Digits',
    'Whitespace',
    'WhitespaceSplit',
    'Punctuation',
    'Metaspace',
  ]);
  if (state.byteLevel) {
    throw new TokenizerError(
      `tokenizer.json: '${field}' (${type}) follows a ByteLevel pre-tokenizer; only ByteLevel last is supported`,
      { field },
    );
  }
  switch (type) {
    case 'ByteLevel': {
      const addPrefixSpace = asBool(config.add_prefix_space, `${field}.add_prefix_space`, true);
      const useRegex = asBool(config.use_regex, `${field}.use_regex`, true);
      state.byteLevel = true;
      const split = useRegex
        ? scannerStep(scanGpt2)
        : (text: string, _f: boolean, emit: (p: string) => void) => emit(text);
      if (!addPrefixSpace) return { run: split, byteLevel: true, scanner: useRegex ? scanGpt2 : null };
      return {
        run: (text, first, emit) => split(text.startsWith(' ') ? text : ` ${text}`, first, emit),
        byteLevel: true,
        scanner: null,
      };
    }
    case 'Split': {
      const { regex, source } = patternRegex(config.pattern, `${field}.pattern`);
      const behavior = behaviorOf(config.behavior, `${field}.behavior`, 'Isolated');
      const invert = asBool(config.invert, `${field}.invert`, false);
      const scan = source !== null && behavior === 'Isolated' && !invert ? knownScanner(source) : null;
      if (scan !== null) return { run: scannerStep(scan), byteLevel: false, scanner: scan };
      return { run: splitWith(regexMatcher(regex), behavior, invert), byteLevel: false, scanner: null };
    }
    case 'Sequence': {
      const list = asArray(config.pretokenizers, `${field}.pretokenizers`);
      const steps = list.map((item, k) =>
        buildOne(asObject(item, `${field}.pretokenizers[${k}]`), `${field}.pretokenizers[${k}]`, state),
      );
      if (steps.length === 1) return steps[0];
      const run = steps.reduce<PreTokenizeStep>(
        (inner, next) => (text, first, emit) => inner(text, first, (piece) => next.run(piece, first, emit)),
        (text, _first, emit) => emit(text),
      );
      // A Split with a known pattern followed by a regex-less ByteLevel is still one scanner (Qwen).
      const scanner =
        steps.length === 2 &&
        steps[0].scanner !== null &&
        !steps[0].byteLevel &&
        isPlainByteLevel(list[1] as JsonObject)
          ? steps[0].scanner
          : null;
      return { run, byteLevel: state.byteLevel, scanner };
    }
    case 'Digits': {
      const individual = asBool(config.individual_digits, `${field}.individual_digits`, false);
      const find = predicateMatcher((cp) => NUMERIC.test(String.fromCodePoint(cp)));
      return { run: splitWith(find, individual ? 'Isolated' : 'Contiguous', false), byteLevel: false, scanner: null };
    }
    case 'Whitespace':
      return {
        run: splitWith(regexMatcher(compileRegex('\\w+|[^\\w\\s]+', field)), 'Removed', true),
        byteLevel: false,
        scanner: null,
      };
    case 'WhitespaceSplit':
      return { run: splitWith(regexMatcher(/\p{White_Space}+/gu), 'Removed', false), byteLevel: false, scanner: null };
    case 'Punctuation': {
      const behavior = behaviorOf(config.behavior, `${field}.behavior`, 'Isolated');
      const find = predicateMatcher(
        (cp) =>
          (cp < 0x80 && /[!-/:-@[-`{-~]/.test(String.fromCharCode(cp))) || PUNCTUATION.test(String.fromCodePoint(cp)),
      );
      return { run: splitWith(find, behavior, false), byteLevel: false, scanner: null };
    }
    default:
      return metaspace(config, field);
  }
}

function isPlainByteLevel(config: JsonObject): boolean {
  return config.type === 'ByteLevel' && config.add_prefix_space !== true && config.use_regex === false;
}

/** Metaspace: spaces become '▁' (or `replacement`), optionally prefixed, split before each one. */
function metaspace(config: JsonObject, field: string): PreTokenizer {
  const replacement = asString(config.replacement ?? '\u2581', `${field}.replacement`);
  // HF's replacement is one char; "" would match everywhere and split nothing.
  if ([...replacement].length !== 1) {
    throw new TokenizerError(
      `tokenizer.json: '${field}.replacement' must be one character; got ${JSON.stringify(replacement.slice(0, 20))}`,
      { field: `${field}.replacement` },
    );
  }
  let scheme = optionalString(config.prepend_scheme, `${field}.prepend_scheme`);
  if (scheme === null) scheme = asBool(config.add_prefix_space, `${field}.add_prefix_space`, true) ? 'always' : 'never';
  if (!['always', 'first', 'never'].includes(scheme)) {
    throw new TokenizerError(
      `tokenizer.json: '${field}.prepend_scheme' must be always, first or never; got ${JSON.stringify(scheme)}`,
      { field: `${field}.prepend_scheme` },
    );
  }
  const split = asBool(config.split, `${field}.split`, true);
  const splitter = splitWith(regexMatcher(new RegExp(escapeRegex(replacement), 'gu')), 'MergedWithNext', false);
  return {
    run: (text, first, emit) => {
      let s = text.replaceAll(' ', replacement);
      if ((scheme === 'always' || (scheme === 'first' && first)) && !s.startsWith(replacement)) s = replacement + s;
      if (split) splitter(s, first, emit);
      else if (s.length > 0) emit(s);
    },
    byteLevel: false,
    scanner: null,
  };
}

/** Builds the pre-tokenizer of a tokenizer.json (`null` = the whole segment is one piece). */
export function buildPreTokenizer(config: unknown, field = 'pre_tokenizer'): PreTokenizer {
  if (config === null || config === undefined) {
    return { run: (text, _first, emit) => emit(text), byteLevel: false, scanner: null };
  }
  return buildOne(asObject(config, field), field, { byteLevel: false });
}
