/**
 * The `dcformer` command line as a function: `main(argv, io)` returns the exit code and writes only
 * through `io`, so tests and other tools run it in-process. `cli.ts` is the thin process wrapper.
 */
import {
  closestName,
  EXIT_OK,
  EXIT_USAGE,
  packageVersion,
  reportError,
  UsageError,
  type Io,
} from '@dcformer/cli-utils';
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
  quantize: async () => (await import('./quantize.js')).runQuantize,
  tokenize: async () => (await import('./commands/tokenize.js')).runTokenize,
  download: async () => (await import('./commands/download.js')).runDownload,
};

function isCommand(name: string): name is CommandName {
  return (COMMANDS as readonly string[]).includes(name);
}

function unknownCommand(name: string, io: Io): number {
  const guess = closestName(name, COMMANDS);
  const hint = guess === undefined ? '' : `; did you mean ${guess}?`;
  io.stderr.write(`dcformer: unknown command '${name}'${hint} (one of: ${COMMANDS.join(', ')})\n`);
  return EXIT_USAGE;
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
  if (command === undefined) {
    // Bare `dcformer` asks what this is: the usage, but on stderr and exit 2, as it ran nothing.
    io.stderr.write(mainUsage());
    return EXIT_USAGE;
  }
  if (command === '--help' || command === '-h') {
    io.stdout.write(mainUsage());
    return EXIT_OK;
  }
  if (command === 'help') {
    // `dcformer help generate` = `dcformer generate --help`, as git and cargo read it
    const topic = rest[0];
    if (topic === undefined) {
      io.stdout.write(mainUsage());
      return EXIT_OK;
    }
    if (!isCommand(topic) || rest.length > 1) return unknownCommand(rest.join(' '), io);
    io.stdout.write(commandUsage(topic));
    return EXIT_OK;
  }
  if (!isCommand(command)) return unknownCommand(command, io);
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
