#!/usr/bin/env node
// The `dcformer-train` bin (bin/dcformer-train.js loads it). Training runs V8's garbage collector on
// the main thread, so the process starts itself once more under --single-threaded-gc (why, and the
// DCFORMER_GC_THREADS=1 opt-out: @dcformer/cli-utils relaunch.ts).
// A reader that stops early (`--json | head`) ends the process quietly rather than with an EPIPE trace.
import { exitQuietlyOnClosedStdout, relaunchWithSingleThreadedGc } from '@dcformer/cli-utils';
import { main } from './main.js';

exitQuietlyOnClosedStdout();
await relaunchWithSingleThreadedGc(main);
