/**
 * The process wrapper of the CLIs that run the native kernels for long (dcformer-train,
 * dcformer-bench): V8's collector on the main thread (--single-threaded-gc). Its concurrent marking
 * threads otherwise take a core from the OpenMP threads of @dcformer/kernels-cpu (bench-small on 2
 * cores: 1090 → 1284 tokens/s). Node accepts that flag only on its own command line, so the process
 * starts itself once more with it. DCFORMER_GC_THREADS=1 keeps V8's default.
 */
import { spawnSync } from 'node:child_process';

const FLAG = '--single-threaded-gc';

/**
 * Runs `main(argv)` under --single-threaded-gc and sets process.exitCode (never process.exit(), so
 * piped stdout and stderr finish flushing).
 */
export async function relaunchWithSingleThreadedGc(main: (argv: readonly string[]) => Promise<number>): Promise<void> {
  if (process.execArgv.includes(FLAG) || process.env.DCFORMER_GC_THREADS === '1') {
    process.exitCode = await main(process.argv.slice(2));
    return;
  }
  const child = spawnSync(process.execPath, [FLAG, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  if (child.error) {
    // could not start a second node: run in this process with V8's default collector
    process.exitCode = await main(process.argv.slice(2));
  } else if (child.signal) {
    process.kill(process.pid, child.signal);
  } else {
    process.exitCode = child.status ?? 1;
  }
}
