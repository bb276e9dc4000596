/**
 * The `dcformer` command line as a function: `main(argv, io)` returns the exit code and writes only
 * through `io`, so tests and other tools run it in-process. `cli.ts` is the thin process wrapper.
 */
import { EXIT_OK, EXIT_USAGE, packageVersion, reportError, UsageError, type Io } from '@dcformer/cli-utils';
import { COMMANDS, commandUsage, IMPLEMENTED, mainUsage, type CommandName } from './usage.js';

export type { Io } from '@dcformer/cli-utils';

type Runner = (argv: readonly string[], io: Io) => Promise<number>;

// Loaded on demand: `dcformer --help` and usage errors should not pay for importing tfjs.
const RUNNERS: Partial<Record<CommandName, () => Promise<Runner>>> = {
  logits: async () => (await import('./commands/logits.js')).runLogits,
  grads: async () => (await import('./commands/grads.js')).runGrads,
  generate: async () => (await import('./commands/generate.js')).runGenerate,
  eval: async () => (await import('./commands/eval.js')).runEval,
  convert: async () => (await import('./commands/convert.js')).runConvert,
  tokenize: async () => (await import('./commands/tokenize.js')).runTokenize,
};

function isCommand(name: string): name is CommandName {
  return (COMMANDS as readonly string[]).includes(name);
}

/**
 * Runs one `dcformer` invocation.
 *
 * @example await main(['logits', '--model', 'ckpt', '--input', 'ids.json', '--out', 'out.json'])
 */
export async function main(
  argv: readonly string[],
  io: Io = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version') {
    io.stdout.write(`${packageVersion(import.meta.url)}\n`);
    return EXIT_OK;
  }
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    if (command === undefined) {
      io.stderr.write(`dcformer: missing command (one of: ${COMMANDS.join(', ')}); see dcformer --help\n`);
      return EXIT_USAGE;
    }
    io.stdout.write(mainUsage());
    return EXIT_OK;
  }
  if (!isCommand(command)) {
    io.stderr.write(`dcformer: unknown command '${command}' (one of: ${COMMANDS.join(', ')})\n`);
    return EXIT_USAGE;
  }
  const prefix = `dcformer ${command}`;
  try {
    const load = RUNNERS[command];
    if (load === undefined || !IMPLEMENTED.includes(command)) {
      if (rest.includes('--help') || rest.includes('-h')) {
        io.stdout.write(commandUsage(command));
        return EXIT_OK;
      }
      throw new UsageError('not implemented yet (see the project issues)');
    }
    return await (await load())(rest, io);
  } catch (error) {
    return reportError(prefix, error, io);
  }
}
