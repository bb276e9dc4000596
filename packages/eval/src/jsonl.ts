/**
 * Reading data files row by row, so that a malformed row is reported with its file and 1-based line
 * ("piqa.jsonl:17: 'gold' must be an integer in [0, 1]; got 2") instead of a crash far away.
 */
import { describeValue } from '@dcformer/checkpoint';
import { DataError } from './errors.js';

export interface JsonRow {
  line: number;
  value: unknown;
}

/** Non-blank lines of a JSON-lines text, each parsed; a line that is not JSON is a DataError. */
export function parseJsonl(text: string, source: string): JsonRow[] {
  const rows: JsonRow[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    try {
      rows.push({ line: i + 1, value: JSON.parse(line) });
    } catch (e) {
      throw new DataError(source, i + 1, `not valid JSON (${(e as Error).message})`);
    }
  });
  if (rows.length === 0) throw new DataError(source, undefined, 'holds no rows');
  return rows;
}

/** Typed access to one JSON object row; every failure names the key, what was expected and what was there. */
export class Fields {
  private readonly object: Record<string, unknown>;

  constructor(
    readonly source: string,
    readonly line: number,
    value: unknown,
    readonly expected: string,
  ) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new DataError(source, line, `expected an object ${expected}; got ${describeValue(value)}`);
    }
    this.object = value as Record<string, unknown>;
  }

  has(key: string): boolean {
    return Object.hasOwn(this.object, key);
  }

  fail(message: string): never {
    throw new DataError(this.source, this.line, message);
  }

  private get(key: string): unknown {
    if (!this.has(key)) this.fail(`missing '${key}' (expected ${this.expected})`);
    return this.object[key];
  }

  string(key: string): string {
    const v = this.get(key);
    if (typeof v !== 'string') this.fail(`'${key}' must be a string; got ${describeValue(v)}`);
    return v;
  }

  strings(key: string, minLength = 1): string[] {
    const v = this.get(key);
    if (!Array.isArray(v) || v.length < minLength || !v.every((s) => typeof s === 'string')) {
      this.fail(`'${key}' must be an array of at least ${minLength} strings; got ${describeValue(v)}`);
    }
    return v as string[];
  }

  integer(key: string, min = -Infinity, max = Infinity): number {
    const v = this.get(key);
    // Some exports write labels as strings ("1"); accept those, nothing looser.
    const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      const range = Number.isFinite(max) ? ` in [${min}, ${max}]` : Number.isFinite(min) ? ` ≥ ${min}` : '';
      this.fail(`'${key}' must be an integer${range}; got ${describeValue(v)}`);
    }
    return n;
  }

  ids(key: string, minLength = 0): number[] {
    const v = this.get(key);
    if (
      !Array.isArray(v) ||
      v.length < minLength ||
      !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0)
    ) {
      this.fail(
        `'${key}' must be an array of ${minLength > 0 ? `at least ${minLength} ` : ''}token ids (integers ≥ 0); got ${describeValue(v)}`,
      );
    }
    return v as number[];
  }

  boolean(key: string): boolean {
    const v = this.get(key);
    if (typeof v !== 'boolean') this.fail(`'${key}' must be true or false; got ${describeValue(v)}`);
    return v;
  }
}
