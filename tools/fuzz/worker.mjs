/**
 * A fuzz worker (forked by run.mjs): builds each input from (seed, target, index), writes its files
 * into a fresh folder, runs the target's parser and reports how it ended. The supervisor watches
 * its exit status (aborts), its time per input (hangs) and its RSS (memory bombs).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rng } from './mutate.mjs';
import { TARGETS } from './targets.mjs';

const MARKER = Symbol.for('@dcformer/error');
// Under the supervisor, inside the run's folder (which it removes even after killing us); alone
// (--replay), a folder of our own removed on exit.
const runRoot = process.env.DCF_FUZZ_ROOT;
const root =
  runRoot !== undefined && process.send !== undefined
    ? mkdtempSync(join(runRoot, 'w-'))
    : mkdtempSync(join(tmpdir(), 'dcf-fuzz-'));
process.on('exit', () => rmSync(root, { recursive: true, force: true }));

/** Typed = one of the project's error classes (DcformerError or TokenizerError), one line. */
export function classify(error) {
  const typed = typeof error === 'object' && error !== null && error[MARKER] === true;
  const message = String(error?.message ?? error);
  if (typed && !message.includes('\n')) return { outcome: 'typed', message };
  const where = (error?.stack ?? '')
    .split('\n')
    .slice(1, 4)
    .map((l) => l.trim())
    .join(' < ');
  return {
    outcome: 'untyped',
    message: `${error?.name ?? typeof error}: ${message.slice(0, 300)}${typed ? ' (multi-line)' : ''} at ${where}`,
  };
}

/** Runs one input; returns { outcome, message, ms, bytes }. */
export async function runOne(seed, target, index) {
  const t = TARGETS[target];
  let files;
  try {
    files = t.generate(rng(seed, target, index));
  } catch (error) {
    // A bug in the harness, not in a parser: reported apart so it is never mistaken for either.
    return { outcome: 'harness', message: `generator: ${error?.stack ?? error}`.slice(0, 500), ms: 0, bytes: 0 };
  }
  const dir = join(root, `${target}-${index}`);
  mkdirSync(dir);
  let bytes = 0;
  for (const [name, data] of Object.entries(files)) {
    writeFileSync(join(dir, name), data);
    bytes += data.length;
  }
  const started = performance.now();
  let result;
  try {
    await t.run(dir);
    result = { outcome: 'ok', message: '' };
  } catch (error) {
    result = classify(error);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { ...result, ms: performance.now() - started, bytes };
}

if (process.send !== undefined) {
  // Load the packages before the first input, so import time never counts as a hang.
  // Only the packages under test: the tokenizer's smoke run must not need the model's build.
  const which = process.argv[2] ?? 'all';
  if (which === 'all' || which === 'checkpoint') await import('@dcformer/checkpoint/node');
  if (which === 'all' || which === 'model') await import('@dcformer/model/node');
  if (which === 'all' || which === 'tokenizer') await import('@dcformer/tokenizer/node');
  process.on('message', async (job) => {
    const r = await runOne(job.seed, job.target, job.index);
    // maxRSS is the peak since the worker started, so a bomb freed before the supervisor's next poll
    // still shows (attributed to the input during which the peak first passed the limit).
    process.send({ ...job, ...r, rss: process.memoryUsage().rss, maxRss: process.resourceUsage().maxRSS * 1024 });
  });
  process.send({ ready: true });
}
