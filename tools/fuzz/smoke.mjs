// One fuzz run as a child process, for the packages' smoke tests (packages/model and
// packages/tokenizer test/fuzz-smoke.test.ts): its exit code and the JSON summary it prints last.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export async function runFuzz(args, env = process.env) {
  const child = spawn(process.execPath, ['tools/fuzz/run.mjs', ...args, '--json'], { cwd: ROOT, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise((resolve) => child.on('close', resolve));
  const last = stdout.trim().split('\n').pop() ?? '';
  if (!last.startsWith('{')) throw new Error(`fuzz harness printed no summary (exit ${code}): ${stderr.slice(-2000)}`);
  return { code, summary: JSON.parse(last) };
}

/** The smoke run over one package's parsers; prints its one-line count. */
export async function runSmoke(pkg) {
  const { code, summary } = await runFuzz(['--smoke', '--package', pkg]);
  const t = summary.totals;
  console.log(
    `fuzz smoke (${pkg}): ${t.inputs} inputs in ${summary.seconds.toFixed(0)} s, ${t.ok} loaded, ${t.typed} typed errors, ${t.untyped} untyped, ${t.aborts} aborts, ${t.hangs} hangs, ${t.overBudget} over budget`,
  );
  return { code, failures: summary.failures };
}
