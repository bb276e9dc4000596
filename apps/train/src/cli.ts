#!/usr/bin/env node
// The `dcformer-train` bin. Sets process.exitCode rather than calling process.exit(), so stdout and
// stderr finish flushing when they are pipes.
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
