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

it('fuzz smoke over the tokenizer parsers: no untyped error, abort, hang or memory bomb', async () => {
  const child = spawn(process.execPath, ['tools/fuzz/run.mjs', '--smoke', '--package', 'tokenizer', '--json'], { cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const last = stdout.trim().split('\n').pop() ?? '';
  expect(last.startsWith('{'), `fuzz harness printed no summary (exit ${code}): ${stderr.slice(-2000)}`).toBe(true);
  const summary = JSON.parse(last) as { seconds: number; totals: Record<string, number>; failures: unknown[] };
  const t = summary.totals;
  console.log(`fuzz smoke (tokenizer): ${t.inputs} inputs in ${summary.seconds.toFixed(0)} s, ${t.ok} loaded, ${t.typed} typed errors, ${t.untyped} untyped, ${t.aborts} aborts, ${t.hangs} hangs, ${t.overBudget} over budget`);
  expect(summary.failures).toEqual([]);
  expect(code).toBe(0);
}, 300_000);
