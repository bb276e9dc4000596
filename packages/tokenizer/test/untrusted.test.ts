/**
 * Regression tests for issue 16 (tokenizer files from strangers): every failure class ends in a
 * TokenizerError, quickly, without allocating gigabytes. tools/fuzz keeps the input space honest.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { byteLevelTokenizerJson, gpt2FromFiles, TokenizerError, tokenizerFromJson } from '../src/index.js';
import { loadTokenizerSync } from '../src/node.js';
import { GZIP_EXPANSION } from '../src/files.js';
import { MAX_JSON_DEPTH } from '@dcformer/checkpoint';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'dcf-tok-untrusted-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function expectTokenizerError(run: () => unknown, pattern: RegExp): void {
  let error: unknown;
  try {
    run();
  } catch (e) {
    error = e;
  }
  expect(TokenizerError.isInstance(error), `expected a TokenizerError, got ${String(error)}`).toBe(true);
  expect((error as Error).message).toMatch(pattern);
  expect((error as Error).message).not.toContain('\n');
}

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

/** The byte-level tokenizer.json with `preTokenizer` run before its (regex-less) ByteLevel step. */
function withPreTokenizer(preTokenizer: unknown): Record<string, unknown> {
  const json = byteLevelTokenizerJson();
  return { ...json, pre_tokenizer: { type: 'Sequence', pretokenizers: [preTokenizer, json.pre_tokenizer] } };
}

describe('class 2: deep JSON', () => {
  it('a tokenizer.json nested 20k levels is a TokenizerError', () => {
    const dir = tempDir();
    const json = JSON.stringify(byteLevelTokenizerJson()).replace('"normalizer":null', `"normalizer":${deep(20_000)}`);
    expect(json).toContain(deep(3));
    writeFileSync(join(dir, 'tokenizer.json'), json);
    expectTokenizerError(() => loadTokenizerSync(dir), new RegExp(`nests deeper than ${MAX_JSON_DEPTH} levels`));
  });

  it('a parsed object (the browser path) with a 20k-level normalizer is a TokenizerError', () => {
    let deepValue: unknown = { type: 'NFC' };
    for (let i = 0; i < 20_000; i++) deepValue = { type: 'Sequence', normalizers: [deepValue] };
    expectTokenizerError(
      () => tokenizerFromJson({ ...byteLevelTokenizerJson(), normalizer: deepValue }),
      /'normalizer' nests deeper than 64 levels/,
    );
  });

  it('an encoder.json nested 20k levels is a TokenizerError', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'encoder.json'), `{"a": ${deep(20_000)}}`);
    writeFileSync(join(dir, 'vocab.bpe'), '#version: 0.2\n');
    expectTokenizerError(() => loadTokenizerSync(dir), /nests deeper than 64 levels/);
    expectTokenizerError(
      () => gpt2FromFiles(`{"a": ${deep(20_000)}}`, '#version: 0.2\n'),
      /nests deeper than 64 levels/,
    );
  });
});

describe('class 4: memory bombs', () => {
  it('a gzip bomb is refused at a limit derived from its compressed size', () => {
    const dir = tempDir();
    const gz = gzipSync(Buffer.alloc(64 << 20, 0x20)); // ~64 KB inflating to 64 MiB
    writeFileSync(join(dir, 'tokenizer.json.gz'), gz);
    const before = process.memoryUsage().rss;
    expectTokenizerError(
      () => loadTokenizerSync(join(dir, 'tokenizer.json.gz')),
      new RegExp(`inflates past \\d+ bytes \\(${GZIP_EXPANSION}× its ${gz.length} compressed bytes`),
    );
    expect(process.memoryUsage().rss - before).toBeLessThan(512 << 20);
  });

  it('/dev/zero as the tokenizer is refused before reading', () => {
    const started = Date.now();
    expectTokenizerError(
      () => loadTokenizerSync('/dev/zero'),
      /\/dev\/zero is a character device; expected a regular file/,
    );
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('class 6: file-supplied regexes cannot hang the tokenizer', () => {
  const text = 'a😀b 😀😀 x🎉';

  it.each([[''], ['x*'], ['(?:)']])(
    'a Split with pattern %j (matching empty) terminates on surrogate pairs',
    (pattern) => {
      const tok = tokenizerFromJson(
        withPreTokenizer({ type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false }),
      );
      expect(tok.decode(tok.encode(text))).toBe(text);
    },
  );

  it('a Metaspace replacement of "" is refused', () => {
    expectTokenizerError(
      () =>
        tokenizerFromJson(
          withPreTokenizer({ type: 'Metaspace', replacement: '', prepend_scheme: 'always', split: true }),
        ),
      /'pre_tokenizer\.pretokenizers\[0\]\.replacement' must be one character; got ""/,
    );
  });

  it.each([['(a+)+$'], ['(a|aa)*b'], ['(?:x*y*)*z'], ['(\\s+)+$']])(
    'exponential pattern %j is refused with a typed error',
    (pattern) => {
      expectTokenizerError(
        () =>
          tokenizerFromJson(
            withPreTokenizer({ type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false }),
          ),
        /repeats a group containing (a repetition|an alternation) .*exponential time/,
      );
    },
  );

  it.each([['\\s*[\\r\\n]+'], ['a*a*b'], ['\\s*\\s*\\s*x']])(
    'polynomial pattern %j is refused at load, within seconds',
    (pattern) => {
      const started = Date.now();
      expectTokenizerError(
        () =>
          tokenizerFromJson(
            withPreTokenizer({ type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false }),
          ),
        /took \d+ ms over 15 probe texts of \d+ characters .*backtracks polynomially or worse, refusing it/,
      );
      expect(Date.now() - started).toBeLessThan(5000);
    },
  );

  it.each([['\\s*\\s*\\s*\\s*x'], ['a+b*(?:c*d+)'], ['x{2,}y*z+w*']])(
    'a chain of 4+ unbounded repetitions %j is refused before probing',
    (pattern) => {
      expectTokenizerError(
        () =>
          tokenizerFromJson(
            withPreTokenizer({ type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false }),
          ),
        /has 4 unbounded repetitions in a row .*at most 3 are allowed/,
      );
    },
  );

  it('a Replace normalizer pattern is probed too', () => {
    expectTokenizerError(
      () =>
        tokenizerFromJson({
          ...byteLevelTokenizerJson(),
          normalizer: { type: 'Replace', pattern: { Regex: 'a*a*b' }, content: 'x' },
        }),
      /normalizer\.pattern\.Regex: regex "a\*a\*b" took/,
    );
  });

  it.each([['(?>a+)+'], ['(a+)?'], ["(?i:'s|'t)"], ['\\p{N}{1,3}']])('pattern %j stays allowed', (pattern) => {
    const tok = tokenizerFromJson(
      withPreTokenizer({ type: 'Split', pattern: { Regex: pattern }, behavior: 'Isolated', invert: false }),
    );
    expect(tok.decode(tok.encode("aaa 123 it's"))).toBe("aaa 123 it's");
  });
});

describe('class 4: a Replace normalizer cannot turn a short text into gigabytes', () => {
  it('an empty-matching pattern with a 1 MB content is refused at the output limit', () => {
    const json = {
      ...byteLevelTokenizerJson(),
      normalizer: { type: 'Replace', pattern: { Regex: '(?:)' }, content: 'x'.repeat(1 << 20) },
    };
    const tok = tokenizerFromJson(json);
    expectTokenizerError(
      () => tok.encode('a'.repeat(10_000)),
      /'normalizer' Replace would grow a 10000-character text past \d+ characters/,
    );
  });
});

describe('class 7: only regular files', () => {
  it('a FIFO as tokenizer.json (direct or in a folder) is refused without blocking', () => {
    const dir = tempDir();
    execFileSync('mkfifo', [join(dir, 'tokenizer.json')]);
    expectTokenizerError(
      () => loadTokenizerSync(join(dir, 'tokenizer.json')),
      /tokenizer\.json is a FIFO \(named pipe\); expected a regular file/,
    );
    expectTokenizerError(() => loadTokenizerSync(dir), /is a FIFO \(named pipe\); expected a regular file/);
  });
});

describe('class 8: symlinks in a tokenizer folder', () => {
  it('a link outside the folder is refused; links inside and into HF cache blobs load', () => {
    const outside = tempDir();
    const dir = tempDir();
    const json = JSON.stringify(byteLevelTokenizerJson());
    writeFileSync(join(outside, 'tokenizer.json'), json);
    symlinkSync(join(outside, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    expectTokenizerError(() => loadTokenizerSync(dir), /tokenizer\.json is a symlink to .*, outside the folder/);

    const repo = join(tempDir(), 'models--org--name');
    mkdirSync(join(repo, 'blobs'), { recursive: true });
    mkdirSync(join(repo, 'snapshots', 'abc'), { recursive: true });
    writeFileSync(join(repo, 'blobs', 'f00d'), json);
    symlinkSync('../../blobs/f00d', join(repo, 'snapshots', 'abc', 'tokenizer.json'));
    expect(loadTokenizerSync(join(repo, 'snapshots', 'abc')).encode('hi')).toEqual([104, 105]);
  });
});

describe('fuzz finding (long run, tokenizer-json-gz:5120 seed 1): a syntax error quoting a newline', () => {
  it('is still one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dcf-json-newline-'));
    try {
      const file = join(dir, 'tokenizer.json.gz');
      writeFileSync(file, gzipSync(Buffer.from('{"model": {"byte_fallback": fa\nse, "ignore_merges": false}}')));
      let message = '';
      try {
        loadTokenizerSync(file);
      } catch (e) {
        expect(e).toBeInstanceOf(TokenizerError);
        message = (e as Error).message;
      }
      expect(message).toMatch(/not valid JSON/);
      expect(message).not.toMatch(/\n/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
