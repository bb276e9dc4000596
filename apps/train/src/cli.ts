#!/usr/bin/env node
// The `dcformer-train` bin. Sets process.exitCode rather than calling process.exit(), so stdout and
// stderr finish flushing when they are pipes.
//
// Training runs V8's garbage collector on the main thread (--single-threaded-gc): its concurrent
// marking threads otherwise take a core from the OpenMP threads of @dcformer/kernels-cpu's native
// kernels (bench-small on 2 cores: 1090 → 1284 tokens/s). Node accepts that flag only on its own
// command line, so the bin starts itself once more with it. DCFORMER_GC_THREADS=1 keeps V8's default.
import { spawnSync } from 'node:child_process';
import { main } from './main.js';

const FLAG = '--single-threaded-gc';

if (process.execArgv.includes(FLAG) || process.env.DCFORMER_GC_THREADS === '1') {
  process.exitCode = await main(process.argv.slice(2));
} else {
  const child = spawnSync(process.execPath, [FLAG, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
  if (child.error) {
    // could not start a second node: train in this process with V8's default collector
    process.exitCode = await main(process.argv.slice(2));
  } else if (child.signal) {
    process.kill(process.pid, child.signal);
  } else {
    process.exitCode = child.status ?? 1;
  }
}
