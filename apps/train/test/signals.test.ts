/**
 * dcformer-train re-spawns node under --single-threaded-gc: the two processes must behave as one.
 * SIGINT to the parent, SIGTERM to the child, and SIGKILL of the parent each end in one checkpoint
 * and one exit, and the child never outlives its parent. Run on the built bin, as a user's shell
 * or process manager would signal it (Linux: processes are found through /proc).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { microFlags, workspace } from './support.js';

const APP_DIR = fileURLToPath(new URL('..', import.meta.url));
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const w = workspace();
const linux = process.platform === 'linux';

beforeAll(() => {
  if (!existsSync(CLI)) execFileSync('npx', ['tsup'], { cwd: APP_DIR, stdio: 'ignore' });
});
afterAll(() => rmSync(w.dir, { recursive: true, force: true }));

/** Pids whose parent is `pid`, from /proc/<pid>/stat (field 4). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Started {
  parent: ChildProcess;
  child: number;
  out: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Starts a long run through the relaunching bin and resolves once it has logged a step. */
async function startRun(name: string): Promise<Started> {
  const out = join(w.dir, name);
  const args = microFlags(w, out, [
    '--steps',
    '100000',
    '--checkpoint-every',
    '100000',
    '--eval-every',
    '100000',
    '--sample-tokens',
    '0',
    '--json',
    '--progress',
    'none',
  ]);
  const env: NodeJS.ProcessEnv = { ...process.env, DCF_DEBUG: '' };
  delete env.DCFORMER_GC_THREADS;
  const parent = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  parent.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => parent.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    parent.stdout!.on('data', (d) => {
      stdout += d;
      if (stdout.includes('"step":1,')) resolve();
    });
    parent.on('exit', () => reject(new Error(`exited before its first step: ${stderr}`)));
  });
  const [child] = childrenOf(parent.pid!);
  return { parent, child, out, stdout: () => stdout, stderr: () => stderr, exited };
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  for (const start = Date.now(); Date.now() - start < ms; ) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !alive(pid);
}

function checkpoints(out: string): string[] {
  return existsSync(join(out, 'checkpoints'))
    ? readdirSync(join(out, 'checkpoints')).filter((n) => n.startsWith('step-'))
    : [];
}

describe.skipIf(!linux)('dcformer-train and its re-spawned child under signals', () => {
  it('SIGINT to the parent, SIGTERM to the child, SIGKILL of the parent: one checkpoint, one exit, no orphan', async () => {
    const [int, term, killed] = await Promise.all([startRun('int'), startRun('term'), startRun('killed')]);
    for (const r of [int, term, killed]) expect(r.child, 'the child process').toBeGreaterThan(0);

    int.parent.kill('SIGINT');
    process.kill(term.child, 'SIGTERM');
    killed.parent.kill('SIGKILL');

    expect(await int.exited).toBe(130);
    expect(await term.exited).toBe(130);
    for (const r of [int, term]) {
      expect(alive(r.child), 'the child after the parent exited').toBe(false);
      const summaries = r
        .stdout()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((l) => 'checkpoint' in l);
      expect(summaries).toHaveLength(1);
      expect(checkpoints(r.out)).toEqual([`step-${String(summaries[0].step).padStart(6, '0')}`]);
      expect(r.stderr().match(/stopping after this step and writing a checkpoint/g)).toHaveLength(1);
    }
    expect(term.stderr()).toContain('dcformer-train: SIGTERM: stopping after this step');

    expect(await waitGone(killed.child, 20_000), 'the child of a SIGKILLed parent').toBe(true);
    expect(checkpoints(killed.out)).toHaveLength(1);
  });
});
