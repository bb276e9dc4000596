#!/usr/bin/env node
// The `dcformer-bench` bin (bin/dcformer-bench.js loads it; `npm run bench` runs this file through
// tsx). Under --single-threaded-gc, as dcformer-train: the figures are those of a training run.
import { relaunchWithSingleThreadedGc } from '@dcformer/cli-utils';
import { main } from './main.js';

await relaunchWithSingleThreadedGc(main);
