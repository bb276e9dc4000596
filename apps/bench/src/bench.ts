/**
 * `npm run bench -- [--suite train|decode|gemm|compose|all] [--backend cpu|cpu-native] [--runs N]
 *  [--warmup N] [--smoke]` — JSON lines on stdout (DESIGN.md format, plus min/max/runs of the
 * median), then a summary table on stderr. docs/benchmarks.md says what each figure means.
 */
import { describePath, type BenchRecord, type Suite, type SuiteOptions } from './suites/common.js';
import { composeSuite } from './suites/compose.js';
import { decodeSuite } from './suites/decode.js';
import { gemmSuite } from './suites/gemm.js';
import { trainSuite } from './suites/train.js';

export const SUITES: Record<string, Suite> = { gemm: gemmSuite, compose: composeSuite, train: trainSuite, decode: decodeSuite };

export interface BenchArgs extends Omit<SuiteOptions, 'emit'> {
  suites: string[];
}

export function parseArgs(argv: string[]): BenchArgs {
  const out: BenchArgs = { suites: Object.keys(SUITES), backend: 'cpu-native', smoke: false, runs: 5, warmup: 1 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`bench: ${flag} needs a value`);
      return v;
    };
    if (flag === '--suite') {
      const v = value();
      out.suites = v === 'all' ? Object.keys(SUITES) : v.split(',');
      const bad = out.suites.filter((s) => !SUITES[s]);
      if (bad.length) throw new Error(`bench: unknown suite ${bad.join(', ')}; one of ${Object.keys(SUITES).join(', ')}, all`);
    } else if (flag === '--backend') {
      const v = value();
      if (v !== 'cpu' && v !== 'cpu-native') throw new Error(`bench: --backend must be cpu (stock tfjs kernels) or cpu-native; got ${v}`);
      out.backend = v;
    } else if (flag === '--runs') out.runs = Math.max(1, Number.parseInt(value(), 10));
    else if (flag === '--warmup') out.warmup = Math.max(0, Number.parseInt(value(), 10));
    else if (flag === '--smoke') out.smoke = true;
    else throw new Error(`bench: unknown argument ${flag}`);
  }
  if (out.smoke) {
    out.runs = Math.min(out.runs, 2);
    out.warmup = Math.min(out.warmup, 1);
  }
  return out;
}

export async function runBench(args: BenchArgs, emit: (r: BenchRecord) => void): Promise<BenchRecord[]> {
  const all: BenchRecord[] = [];
  for (const name of args.suites) {
    await SUITES[name]({ ...args, emit: (r) => (all.push(r), emit(r)) });
  }
  return all;
}

export function summaryTable(records: BenchRecord[]): string {
  const rows = records.map((r) => [r.bench, r.backend, r.config, r.metric, `${r.value}`, r.min !== undefined && r.runs && r.runs > 1 ? `${r.min}–${r.max} (n=${r.runs})` : '', r.unit]);
  const head = ['bench', 'backend', 'config', 'metric', 'median', 'spread', 'unit'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/^.*[\\/]/, ''));
if (isMain) {
  const args = parseArgs(process.argv.slice(2));
  const records = await runBench(args, (r) => console.log(JSON.stringify(r)));
  console.error(`\nkernels: ${describePath()}\n${summaryTable(records)}`);
}
