/**
 * The bench as functions: flags, the suites, the summary table. `dcformer-bench` (src/cli.ts, and
 * `npm run bench`) prints JSON lines on stdout (DESIGN.md format, plus min/max/runs of the median),
 * then the table on stderr. docs/benchmarks.md says what each figure means.
 */
import { chooseDefaultBackend, parseArgs as parseFlags, UsageError } from '@dcformer/cli-utils';
import type { BenchRecord, Suite, SuiteOptions } from './suites/common.js';

/** Loaded when they run: --help, --version and usage errors do not wait for tfjs. */
export const SUITES: Record<string, () => Promise<Suite>> = {
  gemm: async () => (await import('./suites/gemm.js')).gemmSuite,
  compose: async () => (await import('./suites/compose.js')).composeSuite,
  train: async () => (await import('./suites/train.js')).trainSuite,
  decode: async () => (await import('./suites/decode.js')).decodeSuite,
  'decode-compact': async () => (await import('./suites/decode-compact.js')).decodeCompactSuite,
  memory: async () => (await import('./suites/memory.js')).memorySuite,
  attention: async () => (await import('./suites/attention.js')).attentionSuite,
};

export const BENCH_BACKENDS = ['cpu', 'cpu-native', 'wasm'] as const;

export interface BenchArgs extends Omit<SuiteOptions, 'emit' | 'backend'> {
  suites: string[];
  /** 'default': cpu-native when the native addon loads, else wasm (see resolveBenchBackend). */
  backend: SuiteOptions['backend'] | 'default';
  help: boolean;
  version: boolean;
}

export const FLAGS = {
  suite: 'string',
  backend: 'string',
  runs: 'integer',
  warmup: 'integer',
  smoke: 'boolean',
  help: 'boolean',
  version: 'boolean',
} as const;

export function usage(): string {
  return `dcformer-bench: DCFormer.ts benchmarks, one JSON object per line on stdout, a summary on stderr

usage: dcformer-bench [--suite NAME[,NAME...]|all] [--backend B] [--runs N] [--warmup N] [--smoke]

  --suite S      ${Object.keys(SUITES).join(', ')} or all (default all); gemm and compose compare
                 the stock cpu kernels with cpu-native in one process whatever --backend says
  --backend B    ${BENCH_BACKENDS.join(' | ')}: cpu = stock tfjs kernels, cpu-native = with
                 @dcformer/kernels-cpu (its native addon when built), wasm = tfjs-backend-wasm
                 (default: cpu-native with the native addon, else wasm, said on stderr)
  --runs N       measured runs per figure; the median is reported (default 5)
  --warmup N     unmeasured runs first (default 1)
  --smoke        tiny sizes, at most 2 runs: checks that every suite works, measures nothing
  --help         this text
  --version      print the version and exit

Records: {"bench", "backend", "config", "metric", "value", "unit", "min", "max", "runs"}.
`;
}

function atLeast(value: number | undefined, min: number, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (value < min) throw new UsageError(`--${flag} must be at least ${min}; got ${value}`);
  return value;
}

export function parseArgs(argv: readonly string[]): BenchArgs {
  const f = parseFlags(argv, FLAGS);
  const out: BenchArgs = {
    suites: Object.keys(SUITES),
    backend: 'default',
    smoke: f.smoke ?? false,
    runs: atLeast(f.runs, 1, 'runs', 5),
    warmup: atLeast(f.warmup, 0, 'warmup', 1),
    help: f.help ?? false,
    version: f.version ?? false,
  };
  if (f.suite !== undefined) {
    out.suites = f.suite === 'all' ? Object.keys(SUITES) : f.suite.split(',');
    const bad = out.suites.filter((s) => !Object.hasOwn(SUITES, s));
    if (bad.length)
      throw new UsageError(`unknown suite ${bad.join(', ')}; --suite takes ${Object.keys(SUITES).join(', ')} or all`);
  }
  if (f.backend !== undefined) {
    if (!(BENCH_BACKENDS as readonly string[]).includes(f.backend)) {
      throw new UsageError(`--backend must be cpu (stock tfjs kernels), cpu-native or wasm; got '${f.backend}'`);
    }
    out.backend = f.backend as SuiteOptions['backend'];
  }
  if (out.smoke) {
    out.runs = Math.min(out.runs, 2);
    out.warmup = Math.min(out.warmup, 1);
  }
  return out;
}

/** The backend the suites get, and the label of the line that names it. */
export async function resolveBenchBackend(
  requested: BenchArgs['backend'],
): Promise<{ backend: SuiteOptions['backend']; label: string }> {
  if (requested !== 'default') return { backend: requested, label: requested };
  const chosen = await chooseDefaultBackend();
  return chosen.name === 'wasm'
    ? { backend: 'wasm', label: chosen.label }
    : { backend: 'cpu-native', label: 'cpu-native' };
}

export async function runBench(args: BenchArgs, emit: (r: BenchRecord) => void): Promise<BenchRecord[]> {
  const { backend } = await resolveBenchBackend(args.backend);
  const all: BenchRecord[] = [];
  for (const name of args.suites) {
    const suite = await SUITES[name]();
    await suite({
      backend,
      smoke: args.smoke,
      runs: args.runs,
      warmup: args.warmup,
      emit: (r) => {
        all.push(r);
        emit(r);
      },
    });
  }
  return all;
}

export function summaryTable(records: BenchRecord[]): string {
  const rows = records.map((r) => [
    r.bench,
    r.backend,
    r.config,
    r.metric,
    `${r.value}`,
    r.min !== undefined && r.runs && r.runs > 1 ? `${r.min}–${r.max} (n=${r.runs})` : '',
    r.unit,
  ]);
  const head = ['bench', 'backend', 'config', 'metric', 'median', 'spread', 'unit'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
