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
type ValueOf<T extends FlagType> = T extends 'boolean'
  ? boolean
  : T extends 'integer' | 'number'
    ? number
    : T extends 'list'
      ? string[]
      : string;
export type ParsedFlags<S extends FlagSpecs> = { -readonly [K in keyof S]?: ValueOf<S[K]> };

function validList(specs: FlagSpecs): string {
  return Object.keys(specs)
    .map((n) => `--${n}`)
    .join(', ');
}

/** Edit distance with adjacent transpositions (optimal string alignment): `modle` is 1 from `model`. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidate a mistyped name most likely meant, or undefined when none is close: the only
 * candidate the name is a prefix of (`max-new` → `max-new-tokens`), else the nearest by edit
 * distance within a third of the name's length (at least 1), ties going to the first listed, as
 * git and cargo suggest.
 *
 * @example closestName('modle', ['model', 'input']) // -> 'model'
 */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  if (name.length >= 3) {
    const extended = candidates.filter((c) => c.startsWith(name));
    if (extended.length === 1) return extended[0];
  }
  const limit = Math.max(1, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    const distance = editDistance(name, c);
    if (distance < bestDistance) {
      best = c;
      bestDistance = distance;
    }
  }
  return best;
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
    if (type === undefined) {
      const guess = closestName(name, Object.keys(specs));
      const hint = guess === undefined ? '' : `; did you mean --${guess}?`;
      throw new UsageError(`unknown flag --${name}${hint} (valid: ${validList(specs)})`);
    }
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
