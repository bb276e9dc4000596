/**
 * The `dcformer-bench` command line as a function: `main(argv, io)` returns the exit code and writes
 * only through `io`. `cli.ts` is the thin process wrapper.
 */
import { EXIT_OK, packageVersion, reportError, type Io } from '@dcformer/cli-utils';
import { parseArgs, resolveBenchBackend, runBench, summaryTable, usage } from './bench.js';

export async function main(
  argv: readonly string[],
  io: Io = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  try {
    const args = parseArgs(argv);
    if (args.help) {
      io.stdout.write(usage());
      return EXIT_OK;
    }
    if (args.version) {
      io.stdout.write(`${packageVersion(import.meta.url)}\n`);
      return EXIT_OK;
    }
    const { backend, label } = await resolveBenchBackend(args.backend);
    io.stderr.write(`dcformer-bench: backend ${label}\n`);
    const { describePath } = await import('./suites/common.js');
    const records = await runBench({ ...args, backend }, (r) => io.stdout.write(`${JSON.stringify(r)}\n`));
    io.stderr.write(`\nkernels: ${describePath()}\n${summaryTable(records)}\n`);
    return EXIT_OK;
  } catch (error) {
    return reportError('dcformer-bench', error, io);
  }
}
