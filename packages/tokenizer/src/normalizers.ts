/**
 * tokenizer.json normalizers: text -> text before pre-tokenization. Only the output text matters
 * here (no offsets are tracked), so each one is a plain string function.
 */
import { TokenizerError } from './errors.js';
import { asArray, asBool, asObject, asString, typeOf, type JsonObject } from './json-fields.js';
import { boundedReplace, patternRegex } from './pre-tokenizers.js';
import { isAscii } from './unicode.js';

export type Normalizer = (text: string) => string;

const SUPPORTED = [
  'NFC',
  'NFD',
  'NFKC',
  'NFKD',
  'Lowercase',
  'Strip',
  'StripAccents',
  'Replace',
  'Prepend',
  'Sequence',
] as const;

// ASCII text is invariant under every Unicode normal form; skipping the call saves a copy.
function unicodeForm(form: 'NFC' | 'NFD' | 'NFKC' | 'NFKD'): Normalizer {
  return (text) => (isAscii(text) ? text : text.normalize(form));
}

const LEADING_SPACE = /^\p{White_Space}+/u;
const TRAILING_SPACE = /\p{White_Space}+$/u;
const MARKS = /\p{M}/gu;

function buildOne(config: JsonObject, field: string): Normalizer {
  const type = typeOf(config, field, SUPPORTED);
  switch (type) {
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      return unicodeForm(type);
    case 'Lowercase':
      return (text) => text.toLowerCase();
    case 'Strip': {
      const left = asBool(config.strip_left, `${field}.strip_left`, true);
      const right = asBool(config.strip_right, `${field}.strip_right`, true);
      return (text) => {
        let s = text;
        if (left) s = s.replace(LEADING_SPACE, '');
        if (right) s = s.replace(TRAILING_SPACE, '');
        return s;
      };
    }
    case 'StripAccents':
      // HF removes combining marks from whatever form the text is in (usually after NFD/NFKD).
      return (text) => (isAscii(text) ? text : text.replace(MARKS, ''));
    case 'Replace': {
      const { regex } = patternRegex(config.pattern, `${field}.pattern`);
      const content = asString(config.content, `${field}.content`);
      return (text) => boundedReplace(text, regex, content, field);
    }
    case 'Prepend': {
      const prepend = asString(config.prepend, `${field}.prepend`);
      return (text) => (text.length > 0 ? prepend + text : text);
    }
    default: {
      const list = asArray(config.normalizers, `${field}.normalizers`);
      const parts = list.map((item, k) =>
        buildOne(asObject(item, `${field}.normalizers[${k}]`), `${field}.normalizers[${k}]`),
      );
      return (text) => parts.reduce((s, normalize) => normalize(s), text);
    }
  }
}

/** The normalizer of a tokenizer.json, or null when it has none. */
export function buildNormalizer(config: unknown, field = 'normalizer'): Normalizer | null {
  if (config === null || config === undefined) return null;
  const object = asObject(config, field);
  if (object.type === 'Precompiled') {
    throw new TokenizerError(
      `tokenizer.json: '${field}.type' ${JSON.stringify(object.type)} is not supported; load the SentencePiece .model instead of its tokenizer.json conversion`,
      { field: `${field}.type` },
    );
  }
  return buildOne(object, field);
}
