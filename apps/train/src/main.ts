/**
 * The `dcformer-train` command line as a function: `main(argv, io)` returns the exit code and writes
 * only through `io`, so tests run it in-process. `cli.ts` is the thin process wrapper.
 */
import { EXIT_USAGE, reportError, type Io } from '@dcformer/cli-utils';

export type { Io } from '@dcformer/cli-utils';

/** Errors whose message is written for the user, by class name (they come from several packages). */
const USER_FACING = ['TrainingError', 'TokenizerError'];

export async function main(
  argv: readonly string[],
  io: Io = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  if (argv.length === 0) {
    // Bare `dcformer-train` asks what this is: the usage, on stderr and exit 2, as nothing ran.
    const { usage } = await import('./usage.js');
    io.stderr.write(usage());
    return EXIT_USAGE;
  }
  try {
    // Loaded here rather than imported at the top so `--help` and usage errors stay fast.
    const { runTrain } = await import('./train-command.js');
    return await runTrain(argv, io);
  } catch (error) {
    return reportError('dcformer-train', error, io, { userFacing: USER_FACING });
  }
}
