/**
 * Flag parsing for dcformer-train: `--flag value`, `--flag=value`, boolean `--flag`, integers,
 * numbers, and repeatable flags (`--data a --data b`). Every mistake is one line naming the flag.
 */

/** Bad usage: exit code 2, like getopt tools. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type FlagType = 'string' | 'integer' | 'number' | 'boolean' | 'list';
export type FlagSpecs = Readonly<Record<string, FlagType>>;
type ValueOf<T extends FlagType> = T extends 'boolean' ? boolean : T extends 'integer' | 'number' ? number : T extends 'list' ? string[] : string;
export type ParsedFlags<S extends FlagSpecs> = { -readonly [K in keyof S]?: ValueOf<S[K]> };

function convert(name: string, type: FlagType, raw: string): string | number | boolean {
  if (type === 'boolean') {
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    throw new UsageError(`--${name} takes no value or =true/=false; got '${raw}'`);
  }
  if (raw === '') throw new UsageError(`--${name} needs a value`);
  if (type === 'integer') {
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(n)) throw new UsageError(`--${name} must be an integer; got '${raw}'`);
    return n;
  }
  if (type === 'number') {
    const n = Number(raw);
    if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number; got '${raw}'`);
    return n;
  }
  return raw;
}

/** Parses `argv` against `specs`; `-h` means `--help` when the specs have one. */
export function parseArgs<S extends FlagSpecs>(argv: readonly string[], specs: S): ParsedFlags<S> {
  const out: Record<string, unknown> = {};
  const valid = () => Object.keys(specs).map((n) => `--${n}`).join(', ');
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] === '-h' && 'help' in specs ? '--help' : argv[i];
    if (!arg.startsWith('--') || arg === '--') throw new UsageError(`unexpected argument '${arg}' (see --help)`);
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const type = Object.hasOwn(specs, name) ? specs[name] : undefined;
    if (type === undefined) throw new UsageError(`unknown flag --${name} (valid: ${valid()})`);
    if (type !== 'list' && Object.hasOwn(out, name)) throw new UsageError(`--${name} given twice`);
    let raw: string;
    if (eq !== -1) raw = arg.slice(eq + 1);
    else if (type === 'boolean') raw = 'true';
    else {
      // `--out --json` is a forgotten value, not a directory called --json.
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
