/**
 * Added tokens (tokenizer.json `added_tokens`, GPT-2's `<|endoftext|>`): literal strings matched
 * in the text before the model sees it, as HF's AddedVocabulary does:
 * - leftmost-longest matching over all contents (an Aho-Corasick LeftmostLongest automaton there,
 *   a trie walked from each position here: same result);
 * - `single_word`: only when not preceded or followed by a word character (Unicode \w);
 * - `lstrip` / `rstrip`: the match swallows the whitespace to its left / right;
 * - when specials are not to be matched, a special match is skipped (its text stays plain text)
 *   but still consumes the position, exactly like HF's `encode_special_tokens`.
 */
import { charClass, CLASS_SPACE } from './unicode.js';

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  singleWord: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
}

interface TrieNode {
  next: Map<number, TrieNode>;
  token: AddedToken | null;
}

const WORD = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]/u;

function isWordAt(text: string, i: number): boolean {
  const cp = text.codePointAt(i);
  return cp !== undefined && WORD.test(String.fromCodePoint(cp));
}

function isWordBefore(text: string, i: number): boolean {
  if (i === 0) return false;
  const c = text.charCodeAt(i - 1);
  const start = (c & 0xfc00) === 0xdc00 && i >= 2 && (text.charCodeAt(i - 2) & 0xfc00) === 0xd800 ? i - 2 : i - 1;
  return isWordAt(text, start);
}

function isSpace(text: string, i: number): boolean {
  return charClass(text.charCodeAt(i)) === CLASS_SPACE; // every White_Space character is in the BMP
}

/** A set of added tokens compiled for matching. */
export class AddedTokenMatcher {
  private readonly root: TrieNode = { next: new Map(), token: null };
  /** first[c] = 1 when some token starts with UTF-16 unit c: the fast reject for most positions. */
  private readonly first = new Uint8Array(0x10000);
  readonly size: number;

  /** `contents` gives the string to match for each token (its normalized form for normalized tokens). */
  constructor(tokens: readonly AddedToken[], contents: readonly string[] = tokens.map((t) => t.content)) {
    let size = 0;
    tokens.forEach((token, k) => {
      const content = contents[k];
      if (content.length === 0) return;
      let node = this.root;
      for (let i = 0; i < content.length; i++) {
        const c = content.charCodeAt(i);
        let child = node.next.get(c);
        if (child === undefined) {
          child = { next: new Map(), token: null };
          node.next.set(c, child);
        }
        node = child;
      }
      // HF keeps the first token of a content; a duplicate content never wins.
      if (node.token === null) {
        node.token = token;
        size++;
      }
      this.first[content.charCodeAt(0)] = 1;
    });
    this.size = size;
  }

  /** The longest token starting at i, with its end, or null. */
  private longestAt(text: string, i: number): { token: AddedToken; end: number } | null {
    let node: TrieNode | undefined = this.root;
    let best: { token: AddedToken; end: number } | null = null;
    for (let j = i; j < text.length; j++) {
      node = node.next.get(text.charCodeAt(j));
      if (node === undefined) break;
      if (node.token !== null) best = { token: node.token, end: j + 1 };
    }
    return best;
  }

  /**
   * Splits text into plain runs (onText(start, end), never empty) and added tokens (onToken(id)),
   * in order. `matchSpecial` false: special tokens are left as text.
   */
  split(
    text: string,
    matchSpecial: boolean,
    onText: (start: number, end: number) => void,
    onToken: (id: number) => void,
  ): void {
    if (this.size === 0) {
      if (text.length > 0) onText(0, text.length);
      return;
    }
    const first = this.first;
    let consumed = 0; // end of the last emitted piece
    let i = 0;
    while (i < text.length) {
      if (first[text.charCodeAt(i)] === 0) {
        i++;
        continue;
      }
      const hit = this.longestAt(text, i);
      if (hit === null) {
        i++;
        continue;
      }
      const { token } = hit;
      let start = i;
      let stop = hit.end;
      i = stop; // matches never overlap, accepted or not
      if (token.special && !matchSpecial) continue;
      if (token.singleWord && (isWordBefore(text, start) || (stop < text.length && isWordAt(text, stop)))) continue;
      if (token.lstrip) {
        while (start > consumed && isSpace(text, start - 1)) start--;
      }
      if (token.rstrip) {
        while (stop < text.length && isSpace(text, stop)) stop++;
        i = stop;
      }
      if (start > consumed) onText(consumed, start);
      onToken(token.id);
      consumed = stop;
    }
    if (consumed < text.length) onText(consumed, text.length);
  }
}
