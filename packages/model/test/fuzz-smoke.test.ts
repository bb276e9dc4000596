/**
 * The bounded smoke run of the fuzz harness (tools/fuzz, issue 16) over this package's parsers:
 * a few hundred mutated inputs per parser, from the fixtures, through the built package (turbo
 * builds it before `test`). Fails on any untyped error, abort, hang (> 5 s per input) or worker RSS
 * over 3 GB. The long mode is run by hand: `node tools/fuzz/run.mjs --long`.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

it('fuzz smoke over the model parsers: no untyped error, abort, hang or memory bomb', async () => {
  const child = spawn(process.execPath, ['tools/fuzz/run.mjs', '--smoke', '--package', 'model', '--json'], { cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const last = stdout.trim().split('\n').pop() ?? '';
  expect(last.startsWith('{'), `fuzz harness printed no summary (exit ${code}): ${stderr.slice(-2000)}`).toBe(true);
  const summary = JSON.parse(last) as { seconds: number; totals: Record<string, number>; failures: unknown[] };
  const t = summary.totals;
  console.log(`fuzz smoke (model): ${t.inputs} inputs in ${summary.seconds.toFixed(0)} s, ${t.ok} loaded, ${t.typed} typed errors, ${t.untyped} untyped, ${t.aborts} aborts, ${t.hangs} hangs, ${t.overBudget} over budget`);
  expect(summary.failures).toEqual([]);
  expect(code).toBe(0);
}, 300_000);

it('the fuzz supervisor sees each kind of failure (self-test targets)', async () => {
  const child = spawn(process.execPath, ['tools/fuzz/run.mjs', '--package', 'selftest', '--count', '1', '--timeout-ms', '10000', '--rss-limit-mb', '400', '--json'], {
    cwd: ROOT,
    env: { ...process.env, DCF_FUZZ_SELFTEST: '1' },
  });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const { stats } = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { stats: Record<string, Record<string, number>> };
  expect(code).toBe(1);
  expect(stats['selftest-untyped'].untyped).toBe(1);
  expect(stats['selftest-hang'].hangs).toBe(1);
  expect(stats['selftest-abort'].aborts).toBe(1);
  expect(stats['selftest-memory'].overBudget, JSON.stringify(stats['selftest-memory'])).toBe(1);
  expect(stats['selftest-peak'].overBudget, JSON.stringify(stats['selftest-peak'])).toBe(1);
}, 120_000);
