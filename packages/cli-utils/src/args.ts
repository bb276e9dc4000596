/**
 * A small command-line flag parser: `--flag value`, `--flag=value`, boolean `--flag` (or
 * `--flag=true|false`), integers, numbers, and repeatable flags (`--data a --data b`). Hand-written
 * because the CLIs need only this much and every mistake must become one line naming the flag and
 * listing the valid ones.
 */

/** Bad usage (unknown flag, missing value, unknown subcommand): exit code 2, like getopt tools. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** `list` flags may repeat; every other flag given twice is an error. */
export type FlagType = 'string' | 'integer' | 'number' | 'boolean' | 'list';
/** Flag name (without `--`, kebab-case) -> type. */
export type FlagSpecs = Readonly<Record<string, FlagType>>;
type ValueOf<T extends FlagType> = T extends 'boolean' ? boolean : T extends 'integer' | 'number' ? number : T extends 'list' ? string[] : string;
export type ParsedFlags<S extends FlagSpecs> = { -readonly [K in keyof S]?: ValueOf<S[K]> };

function validList(specs: FlagSpecs): string {
  return Object.keys(specs).map((n) => `--${n}`).join(', ');
}

function convert(name: string, type: FlagType, raw: string): string | number | boolean {
  if (type === 'boolean') {
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    throw new UsageError(`--${name} takes no value or =true/=false; got '${raw}'`);
  }
  if (raw === '') throw new UsageError(`--${name} needs a value`);
  if (type === 'number') {
    const n = Number(raw);
    if (!Number.isFinite(n) || raw.trim() !== raw) throw new UsageError(`--${name} must be a number; got '${raw}'`);
    return n;
  }
  if (type === 'integer') {
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(n)) {
      throw new UsageError(`--${name} must be an integer; got '${raw}'`);
    }
    return n;
  }
  return raw;
}

/**
 * Parses `argv` (the arguments after the subcommand, if any) against `specs`.
 * `-h` is accepted as `--help` when the specs have a `help` flag.
 *
 * @example parseArgs(['--model', 'ckpt', '--json'], { model: 'string', json: 'boolean' })
 *          // -> { model: 'ckpt', json: true }
 */
export function parseArgs<S extends FlagSpecs>(argv: readonly string[], specs: S): ParsedFlags<S> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] === '-h' && 'help' in specs ? '--help' : argv[i];
    if (!arg.startsWith('--') || arg === '--') {
      throw new UsageError(`unexpected argument '${arg}' (flags: ${validList(specs)})`);
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const type = Object.hasOwn(specs, name) ? specs[name] : undefined;
    if (type === undefined) throw new UsageError(`unknown flag --${name} (valid: ${validList(specs)})`);
    if (type !== 'list' && Object.hasOwn(out, name)) throw new UsageError(`--${name} given twice`);
    let raw: string;
    if (eq !== -1) {
      raw = arg.slice(eq + 1);
    } else if (type === 'boolean') {
      raw = 'true';
    } else {
      // A following `--x` is the next flag, not this one's value: `--model --input f` is a forgotten value.
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) throw new UsageError(`--${name} needs a value`);
      raw = next;
      i++;
    }
    if (type === 'list') {
      if (raw === '') throw new UsageError(`--${name} needs a value`);
      out[name] = [...((out[name] as string[] | undefined) ?? []), raw];
    } else {
      out[name] = convert(name, type, raw);
    }
  }
  return out as ParsedFlags<S>;
}

/** The value of a required flag, or a UsageError naming it. */
export function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new UsageError(`missing --${name}`);
  return value;
}
