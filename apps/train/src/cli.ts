#!/usr/bin/env node
// The `dcformer-train` bin (bin/dcformer-train.js loads it). Training runs V8's garbage collector on
// the main thread, so the process starts itself once more under --single-threaded-gc (why, and the
// DCFORMER_GC_THREADS=1 opt-out: @dcformer/cli-utils relaunch.ts).
import { relaunchWithSingleThreadedGc } from '@dcformer/cli-utils';
import { main } from './main.js';

await relaunchWithSingleThreadedGc(main);
