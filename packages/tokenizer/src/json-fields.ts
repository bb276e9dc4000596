/**
 * Typed access to parsed JSON with errors that name the field (`pre_tokenizer.pretokenizers[1].type`),
 * so a malformed tokenizer.json says where, not just "undefined is not a function".
 */
import { describeValue } from '@dcformer/checkpoint';
import { TokenizerError } from './errors.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function bad(field: string, expected: string, got: unknown): never {
  throw new TokenizerError(`tokenizer.json: '${field}' must be ${expected}; got ${describeValue(got)}`, { field });
}

export function asObject(value: unknown, field: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad(field, 'an object', value);
  return value as JsonObject;
}

export function asArray(value: unknown, field: string): Json[] {
  if (!Array.isArray(value)) bad(field, 'an array', value);
  return value;
}

export function asString(value: unknown, field: string): string {
  if (typeof value !== 'string') bad(field, 'a string', value);
  return value;
}

export function asBool(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') bad(field, 'true or false', value);
  return value;
}

/** Ids index dense tables; no real vocabulary comes near 2^24 (16.7M) tokens. */
export const MAX_ID = 0xffffff;

export function asId(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_ID) {
    bad(field, `an integer id in 0..${MAX_ID}`, value);
  }
  return value;
}

export function optionalString(value: unknown, field: string): string | null {
  return value === undefined || value === null ? null : asString(value, field);
}

/** The `type` of a component, checked against the supported list. */
export function typeOf(value: JsonObject, field: string, supported: readonly string[]): string {
  const type = asString(value.type, `${field}.type`);
  if (!supported.includes(type)) {
    throw new TokenizerError(
      `tokenizer.json: '${field}.type' is ${JSON.stringify(type)}, which this package does not support (supported: ${supported.join(', ')})`,
      { field: `${field}.type` },
    );
  }
  return type;
}
