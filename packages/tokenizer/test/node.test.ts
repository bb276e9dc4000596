/**
 * loadTokenizer: files and directories in every supported layout, gzip, the config files beside
 * them, and errors that name the path.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTokenizer, loadTokenizerSync, TokenizerError } from '../src/node.js';
import { fixturePath, readText } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'dcformer-tokenizer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function dir(name: string, files: Record<string, string | Uint8Array>): string {
  const d = join(work, name);
  mkdirSync(d, { recursive: true });
  for (const [file, content] of Object.entries(files)) writeFileSync(join(d, file), content);
  return d;
}

describe('loadTokenizer', () => {
  it('a tokenizer.json.gz file (gzip detected by its magic bytes) with its tokenizer_config.json beside it', async () => {
    const tok = await loadTokenizer(fixturePath('qwen3/tokenizer.json.gz'));
    expect(tok.kind).toBe('bpe-tokenizer.json');
    expect(tok.encode('Hello world')).toEqual([9707, 1879]);
    expect(tok.eosId).toBe(151645);
  });

  it('a directory with tokenizer.json (plain) and special_tokens_map.json', () => {
    const d = dir('neox', {
      'tokenizer.json': readText('gpt-neox-20b/tokenizer.json.gz'),
      'special_tokens_map.json': JSON.stringify({
        bos_token: '<|endoftext|>',
        eos_token: { content: '<|endoftext|>' },
        pad_token: null,
      }),
    });
    const tok = loadTokenizerSync(d);
    expect(tok.encode('Hello world')).toEqual([12092, 1533]);
    expect([tok.bosId, tok.eosId, tok.padId]).toEqual([0, 0, null]);
  });

  it('a directory with encoder.json + vocab.bpe, and the encoder.json path itself', () => {
    const d = dir('gpt2', {
      'encoder.json': readText('gpt2/encoder.json.gz'),
      'vocab.bpe.gz': gzipSync(readText('gpt2/vocab.bpe.gz')),
    });
    for (const p of [d, join(d, 'encoder.json')]) {
      const tok = loadTokenizerSync(p);
      expect(tok.kind).toBe('gpt2-files');
      expect(tok.encode('Hello world')).toEqual([15496, 995]);
    }
  });

  it('a SentencePiece .model (gzipped) and a directory holding one', () => {
    const tok = loadTokenizerSync(fixturePath('maxtext-c4-spm32k/tokenizer.model.gz'));
    expect(tok.kind).toBe('sentencepiece-unigram');
    expect(loadTokenizerSync(fixturePath('maxtext-c4-spm32k')).kind).toBe('sentencepiece-unigram');
  });

  it('tokenizer_config.json overrides a SentencePiece model’s own ids', () => {
    const d = dir('spm', {});
    cpSync(fixturePath('maxtext-c4-spm32k/tokenizer.model.gz'), join(d, 'tokenizer.model.gz'));
    writeFileSync(join(d, 'tokenizer_config.json'), JSON.stringify({ pad_token: '</s>' }));
    const tok = loadTokenizerSync(d);
    expect(tok.padId).toBe(tok.tokenToId('</s>'));
    expect(tok.eosId).toBe(loadTokenizerSync(fixturePath('maxtext-c4-spm32k')).eosId);
  });

  it('errors name the path: missing, empty directory, truncated, corrupt gzip, bad vocab.bpe line', () => {
    expect(() => loadTokenizerSync(join(work, 'nope'))).toThrow(/nope: no such file/);
    const empty = dir('empty', { 'README.md': 'nothing' });
    expect(() => loadTokenizerSync(empty)).toThrow(/no tokenizer found/);
    const truncated = dir('truncated', { 'tokenizer.json': readText('gpt-neox-20b/tokenizer.json.gz').slice(0, 1000) });
    const e = (() => {
      try {
        loadTokenizerSync(truncated);
      } catch (err) {
        return err as TokenizerError;
      }
      return null;
    })();
    expect(TokenizerError.isInstance(e)).toBe(true);
    expect(e!.message).toContain(join(truncated, 'tokenizer.json'));
    expect(e!.offset).toBe(1000);
    const gz = dir('badgz', { 'tokenizer.json.gz': gzipSync('{"model": {}}').subarray(0, 12) });
    expect(() => loadTokenizerSync(gz)).toThrow(/gzip/);
    const bpe = dir('badbpe', { 'encoder.json': '{"a": 0, "b": 1}', 'vocab.bpe': '#version: 0.2\na b c\n' });
    expect(() => loadTokenizerSync(bpe)).toThrow(new RegExp(`${join(bpe, 'vocab.bpe')}: line 2`));
  });
});
