/**
 * `dcformer tokenize`: text -> token ids with any supported tokenizer (DESIGN.md contract), and with
 * --decode ids -> text. No model and no tfjs: this is the quick way to check what a model will see,
 * and (--jsonl) to tokenize a dataset record by record.
 */
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { SpecialsMode, Tokenizer } from '@dcformer/tokenizer';
import { CliError, EXIT_OK, fsReason, required, UsageError, type Io } from '@dcformer/cli-utils';
import { commandFlags } from '../usage.js';

const FLAGS = {
  tokenizer: 'string',
  text: 'string',
  file: 'string',
  jsonl: 'string',
  specials: 'string',
  decode: 'boolean',
  json: 'boolean',
  help: 'boolean',
} as const;

const PREFIX = 'dcformer tokenize';

async function checkReadable(flag: string, path: string): Promise<void> {
  try {
    if ((await stat(path)).isDirectory()) throw new CliError(`cannot read --${flag} ${path}: is a directory`);
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`cannot read --${flag} ${path}: ${fsReason(e)}`);
  }
}

/** Writes a line, waiting for a slow pipe to drain so a large dataset is not buffered in memory. */
async function writeLine(io: Io, line: string): Promise<void> {
  const out = io.stdout as Io['stdout'] & { once?: (event: 'drain', listener: () => void) => unknown };
  if (out.write(`${line}\n`) === false && typeof out.once === 'function') {
    await new Promise<void>((resolve) => out.once!('drain', resolve));
  }
}

async function tokenizeFile(
  tokenizer: Tokenizer,
  path: string,
  specials: SpecialsMode,
  json: boolean,
  io: Io,
): Promise<void> {
  let bytes: Buffer;
  // A FIFO would block the read forever, /dev/zero would never end (checked without opening; no model code here).
  const info = await stat(path).catch(() => null);
  if (info !== null && !info.isFile())
    throw new CliError(
      `cannot read --file ${path}: is ${info.isFIFO() ? 'a FIFO (named pipe)' : info.isDirectory() ? 'a directory' : 'not a regular file'}; expected a regular file`,
    );
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new CliError(`cannot read --file ${path}: ${fsReason(e)}`);
  }
  let text: string;
  try {
    // The file's text exactly (a BOM stays a character); invalid UTF-8 is an error, not U+FFFD.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new CliError(`--file ${path} is not valid UTF-8 text`);
  }
  const ids = tokenizer.encode(text, { specials });
  await writeLine(io, json ? JSON.stringify({ ids, count: ids.length, bytes: bytes.length }) : ids.join(' '));
  io.stderr.write(`${PREFIX}: ${path}: ${ids.length} tokens from ${bytes.length} bytes\n`);
}

/** "12 34, 56" or "[12, 34, 56]" → ids, each checked against the vocabulary; `where` names the input. */
export function parseIds(text: string, vocabSize: number, where: string): number[] {
  const body = text.trim().replace(/^\[/, '').replace(/\]$/, '');
  const parts = body.split(/[\s,]+/).filter((p) => p !== '');
  return parts.map((p) => {
    const id = Number(p);
    if (!/^\d+$/.test(p) || !Number.isSafeInteger(id))
      throw new CliError(
        `${where}: '${p.length > 20 ? `${p.slice(0, 20)}...` : p}' is not a token id (expected integers separated by spaces or commas)`,
      );
    if (id >= vocabSize) throw new CliError(`${where}: token id ${id} is outside the vocabulary [0, ${vocabSize})`);
    return id;
  });
}

/** --decode: ids → text. --text and --file hold ids; --jsonl holds {"ids": [...]} per line and prints {"text"}. */
async function decode(
  tokenizer: Tokenizer,
  flags: { text?: string; file?: string; jsonl?: string; json?: boolean },
  skipSpecial: boolean,
  io: Io,
): Promise<void> {
  if (flags.jsonl !== undefined) {
    const path = flags.jsonl;
    const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
    let lineNumber = 0;
    for await (const line of lines) {
      lineNumber++;
      if (line.trim() === '') continue;
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch (e) {
        throw new CliError(`--jsonl ${path}:${lineNumber} is not valid JSON (${(e as Error).message})`);
      }
      const ids = (record as { ids?: unknown } | null)?.ids;
      if (!Array.isArray(ids))
        throw new CliError(`--jsonl ${path}:${lineNumber}: expected {"ids": [int, ...]} (--decode)`);
      const checked = parseIds(ids.map(String).join(' '), tokenizer.vocabSize, `--jsonl ${path}:${lineNumber}`);
      await writeLine(io, JSON.stringify({ text: tokenizer.decode(checked, { skipSpecial }) }));
    }
    return;
  }
  let source: string;
  let where: string;
  if (flags.file !== undefined) {
    const info = await stat(flags.file).catch(() => null);
    if (info !== null && !info.isFile()) throw new CliError(`cannot read --file ${flags.file}: not a regular file`);
    source = await readFile(flags.file, 'utf8').catch((e: unknown) => {
      throw new CliError(`cannot read --file ${flags.file}: ${fsReason(e)}`);
    });
    where = `--file ${flags.file}`;
  } else {
    source = flags.text as string;
    where = '--text';
  }
  const ids = parseIds(source, tokenizer.vocabSize, where);
  const text = tokenizer.decode(ids, { skipSpecial });
  // plain: the text and a newline, as every other output; --json: the text exactly
  if (flags.json) await writeLine(io, JSON.stringify({ text, count: ids.length }));
  else await writeLine(io, text);
}

async function tokenizeJsonl(tokenizer: Tokenizer, path: string, specials: SpecialsMode, io: Io): Promise<void> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let lineNumber = 0;
  let records = 0;
  let tokens = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue; // blank lines (a trailing newline) are not records
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (e) {
      throw new CliError(`--jsonl ${path}:${lineNumber} is not valid JSON (${(e as Error).message})`);
    }
    const text = (record as { text?: unknown } | null)?.text;
    if (typeof record !== 'object' || record === null || typeof text !== 'string') {
      throw new CliError(`--jsonl ${path}:${lineNumber}: expected {"text": string}`);
    }
    const ids = tokenizer.encode(text, { specials });
    records++;
    tokens += ids.length;
    await writeLine(io, JSON.stringify({ ids }));
  }
  io.stderr.write(`${PREFIX}: ${path}: ${records} records, ${tokens} tokens\n`);
}

export async function runTokenize(argv: readonly string[], io: Io): Promise<number> {
  const flags = commandFlags('tokenize', argv, FLAGS, io);
  if (flags === null) return EXIT_OK;
  const path = required(flags.tokenizer, 'tokenizer');
  const sources = (['text', 'file', 'jsonl'] as const).filter((k) => flags[k] !== undefined);
  if (sources.length !== 1) {
    throw new UsageError(
      sources.length === 0
        ? 'give the input: one of --text, --file, --jsonl'
        : `give only one of --text, --file, --jsonl (got ${sources.map((s) => `--${s}`).join(', ')})`,
    );
  }
  if (flags.specials !== undefined && flags.specials !== 'all' && flags.specials !== 'none') {
    throw new UsageError(`--specials must be all or none; got '${flags.specials}'`);
  }
  const specials: SpecialsMode = flags.specials ?? 'default';
  // Cheapest checks first: a typo in a path never waits for a 150k-token vocabulary to load.
  if (flags.file !== undefined) await checkReadable('file', flags.file);
  if (flags.jsonl !== undefined) await checkReadable('jsonl', flags.jsonl);
  const { loadTokenizer } = await import('@dcformer/tokenizer/node');
  const tokenizer = await loadTokenizer(path);
  if (flags.decode) {
    // --specials none drops special tokens from the text; by default decode is encode's inverse
    await decode(tokenizer, flags, flags.specials === 'none', io);
  } else if (flags.text !== undefined) {
    const ids = tokenizer.encode(flags.text, { specials });
    await writeLine(io, flags.json ? JSON.stringify({ ids, count: ids.length }) : ids.join(' '));
  } else if (flags.file !== undefined) {
    await tokenizeFile(tokenizer, flags.file, specials, flags.json === true, io);
  } else {
    await tokenizeJsonl(tokenizer, required(flags.jsonl, 'jsonl'), specials, io);
  }
  return EXIT_OK;
}
