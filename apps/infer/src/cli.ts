#!/usr/bin/env node
// The `dcformer` bin. Sets process.exitCode rather than calling process.exit(), so stdout and
// stderr finish flushing when they are pipes.
// A reader that stops early (`| head`) ends the process quietly rather than with an EPIPE trace.
import { exitQuietlyOnClosedStdout } from '@dcformer/cli-utils';
import { main } from './main.js';

exitQuietlyOnClosedStdout();
process.exitCode = await main(process.argv.slice(2));
