#!/usr/bin/env node
/**
 * Fuzz harness for every parser of untrusted files (checkpoints, configs, tokenizers): mutated inputs
 * built from the repository's fixtures (byte flips, truncation, length/offset/stride edits, deep
 * nesting, huge numbers, type swaps) run in forked workers under a supervisor, which counts as a
 * failure any untyped error, any abort (a worker dying on a signal or a non-zero exit), any hang
 * (an input running longer than --timeout-ms, default 5000) and any input whose worker's RSS passes
 * --rss-limit-mb (default 3072) — inputs are all under 10 MB.
 *
 *   node tools/fuzz/run.mjs --smoke [--package checkpoint|model|tokenizer]   bounded: 600 inputs per parser (150 SentencePiece)
 *   node tools/fuzz/run.mjs --long [--count 10000]                 by hand: 10k inputs per parser
 *   node tools/fuzz/run.mjs --replay torch-bin:123 --seed 1        one input, in process, verbose
 * Options: --targets a,b  --seed S  --workers W  --json (one summary object on stdout)
 * Exit status 0 when there were no failures.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TARGETS } from './targets.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};

const seed = option('seed', '1');
if (option('replay') !== undefined) {
  const [target, index] = option('replay').split(':');
  const { runOne } = await import('./worker.mjs');
  const r = await runOne(seed, target, Number(index));
  console.log(
    JSON.stringify({
      target,
      index: Number(index),
      seed,
      ...r,
      rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
    }),
  );
  process.exit(r.outcome === 'untyped' || r.outcome === 'harness' ? 1 : 0);
}

const long = flag('long');
const count = Number(option('count', long ? 10000 : 600));
const pkg = option('package');
const names = (option('targets') ?? Object.keys(TARGETS).join(','))
  .split(',')
  .filter((n) => pkg === undefined || TARGETS[n]?.package === pkg);
for (const n of names)
  if (TARGETS[n] === undefined) throw new Error(`unknown target ${n}; known: ${Object.keys(TARGETS).join(', ')}`);
const workers = Number(option('workers', Math.max(1, Math.min(2, cpus().length))));
const timeoutMs = Number(option('timeout-ms', 5000));
const rssLimit = Number(option('rss-limit-mb', 3072)) * 2 ** 20;
// SentencePiece seeds are ~40× larger than the others: fewer of them in the smoke run.
const countFor = (n) => (long ? count : n === 'sentencepiece' ? Math.ceil(count / 4) : count);

const jobs = [];
for (let i = 0; jobs.length < names.reduce((s, n) => s + countFor(n), 0); i++) {
  for (const target of names) if (i < countFor(target)) jobs.push({ seed, target, index: i });
}

// One folder for the whole run: workers killed for hanging or aborting cannot clean up after themselves.
const runRoot = mkdtempSync(join(tmpdir(), 'dcf-fuzz-run-'));
process.on('exit', () => rmSync(runRoot, { recursive: true, force: true }));

const stats = Object.fromEntries(
  names.map((n) => [
    n,
    { inputs: 0, ok: 0, typed: 0, untyped: 0, aborts: 0, hangs: 0, overBudget: 0, harness: 0, maxMs: 0, maxRssMb: 0 },
  ]),
);
const failures = [];
const started = Date.now();
let next = 0;

function fail(kind, job, detail) {
  stats[job.target][kind]++;
  stats[job.target].inputs++;
  failures.push({
    kind,
    target: job.target,
    index: job.index,
    detail,
    replay: `node tools/fuzz/run.mjs --replay ${job.target}:${job.index} --seed ${seed}`,
  });
}

function vmRss(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? 0 : Number(m[1]) * 1024;
  } catch {
    return 0;
  }
}

function startWorker(done) {
  const child = fork(join(here, 'worker.mjs'), [pkg ?? 'all'], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    execArgv: ['--max-old-space-size=4096'],
    env: { ...process.env, DCF_FUZZ_ROOT: runRoot },
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-2000)));
  let job = null;
  let timer = null;
  let ended = false;
  const poll = setInterval(() => {
    if (job !== null && vmRss(child.pid) > rssLimit) end('overBudget', `RSS over ${rssLimit / 2 ** 20} MB`);
  }, 100);
  const end = (kind, detail) => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    clearInterval(poll);
    child.kill('SIGKILL');
    if (job !== null) fail(kind, job, detail);
    job = null;
    startWorker(done); // replace it and carry on
  };
  const give = () => {
    if (next >= jobs.length) {
      ended = true;
      clearInterval(poll);
      child.kill();
      done();
      return;
    }
    job = jobs[next++];
    timer = setTimeout(() => end('hangs', `no answer in ${timeoutMs} ms`), timeoutMs);
    child.send(job);
  };
  child.on('message', (m) => {
    if (m.ready) return give();
    clearTimeout(timer);
    const s = stats[m.target];
    s.maxMs = Math.max(s.maxMs, Math.round(m.ms));
    s.maxRssMb = Math.max(s.maxRssMb, Math.round(m.rss / 2 ** 20));
    if (m.maxRss > rssLimit) {
      // A peak between polls: count it, and replace the worker so the next input starts from a low peak.
      job = null;
      fail('overBudget', m, `peak RSS ${Math.round(m.maxRss / 2 ** 20)} MB`);
      ended = true;
      clearInterval(poll);
      child.kill('SIGKILL');
      startWorker(done);
      return;
    }
    if (m.outcome === 'untyped' || m.outcome === 'harness') fail(m.outcome, m, m.message);
    else {
      s.inputs++;
      s[m.outcome]++;
    }
    job = null;
    give();
  });
  child.on('exit', (code, signal) => {
    if (!ended)
      end(
        'aborts',
        `worker exited (code ${code}, signal ${signal}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
      );
  });
}

await new Promise((resolve) => {
  let running = workers;
  for (let w = 0; w < workers; w++) startWorker(() => --running === 0 && resolve());
});

const totals = Object.values(stats).reduce((t, s) => {
  for (const k of Object.keys(s)) t[k] = k.startsWith('max') ? Math.max(t[k] ?? 0, s[k]) : (t[k] ?? 0) + s[k];
  return t;
}, {});
const seconds = (Date.now() - started) / 1000;
const bad = totals.untyped + totals.aborts + totals.hangs + totals.overBudget + totals.harness;
if (flag('json')) {
  console.log(JSON.stringify({ mode: long ? 'long' : 'smoke', seed, seconds, totals, stats, failures }));
} else {
  console.log(
    `fuzz ${long ? 'long' : 'smoke'} (seed ${seed}, ${workers} workers, ${seconds.toFixed(1)} s): ${totals.inputs} inputs, ${totals.ok} loaded, ${totals.typed} typed errors; failures: ${totals.untyped} untyped, ${totals.aborts} aborts, ${totals.hangs} hangs, ${totals.overBudget} over budget${totals.harness ? `, ${totals.harness} harness bugs` : ''}`,
  );
  for (const [n, s] of Object.entries(stats)) {
    console.log(
      `  ${n.padEnd(20)} ${String(s.inputs).padStart(6)} inputs  ok ${s.ok}  typed ${s.typed}  untyped ${s.untyped}  aborts ${s.aborts}  hangs ${s.hangs}  over ${s.overBudget}  max ${s.maxMs} ms, ${s.maxRssMb} MB`,
    );
  }
  for (const f of failures.slice(0, 20))
    console.log(`  FAIL ${f.kind} ${f.target}:${f.index}: ${f.detail}\n       ${f.replay}`);
}
process.exit(bad === 0 ? 0 : 1);
