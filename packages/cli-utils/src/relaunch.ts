/**
 * The process wrapper of the CLIs that run the native kernels for long (dcformer-train,
 * dcformer-bench): V8's collector on the main thread (--single-threaded-gc). Its concurrent marking
 * threads otherwise take a core from the OpenMP threads of @dcformer/kernels-cpu (bench-small on 2
 * cores: 1090 → 1284 tokens/s). Node accepts that flag only on its own command line, so the process
 * starts itself once more with it. DCFORMER_GC_THREADS=1 keeps V8's default.
 *
 * The two processes behave as one: SIGINT and SIGTERM sent to the parent are passed to the child
 * over an IPC channel (stop.ts decides what they mean, so Ctrl-C, which reaches both, counts once),
 * the parent exits with the child's status, and a child whose parent is gone (even by SIGKILL: the
 * channel closes) stops as if interrupted and never runs on alone.
 */
import { spawn } from 'node:child_process';
import { installStopSignals, type StopMessage } from './stop.js';

const FLAG = '--single-threaded-gc';

async function runHere(main: (argv: readonly string[]) => Promise<number>): Promise<void> {
  process.exitCode = await main(process.argv.slice(2));
}

/**
 * Runs `main(argv)` under --single-threaded-gc and sets process.exitCode (never process.exit(), so
 * piped stdout and stderr finish flushing).
 */
export async function relaunchWithSingleThreadedGc(main: (argv: readonly string[]) => Promise<number>): Promise<void> {
  if (process.execArgv.includes(FLAG) || process.env.DCFORMER_GC_THREADS === '1') {
    if (typeof process.send === 'function') {
      // the re-spawned child: stop requests and the parent's disappearance are handled from the start
      const uninstall = installStopSignals();
      try {
        await runHere(main);
      } finally {
        // the channel would keep this process alive after main returns; closing it is no stop request
        uninstall();
        if (process.connected) process.disconnect();
      }
      return;
    }
    await runHere(main);
    return;
  }
  const child = spawn(process.execPath, [FLAG, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
  });
  const started = await new Promise<boolean>((resolve) => {
    child.once('spawn', () => resolve(true));
    child.once('error', () => resolve(false));
  });
  if (!started) {
    // could not start a second node: run in this process with V8's default collector
    await runHere(main);
    return;
  }
  let signals = 0;
  const forward = (signal: 'SIGINT' | 'SIGTERM') => () => {
    signals++;
    const message: StopMessage = { dcformerStop: signal, force: signals >= 2 };
    if (child.connected) child.send(message, () => {});
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('exit', (c, s) => resolve([c, s])),
  );
  process.off('SIGINT', onInt);
  process.off('SIGTERM', onTerm);
  if (signal !== null) process.kill(process.pid, signal);
  else process.exitCode = code ?? 1;
}
