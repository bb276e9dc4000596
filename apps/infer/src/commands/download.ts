/**
 * `dcformer download org/name[@revision]`: fetches a model from the Hugging Face Hub into the Hub's
 * cache (config, tokenizer files, weights with every shard; hub.ts in @dcformer/cli-utils), without
 * running it. `--model org/name` elsewhere does the same on first use.
 */
import {
  CliError,
  EXIT_OK,
  hubCacheDir,
  parseHubId,
  resolveHubModel,
  stderrProgress,
  UsageError,
  type Io,
} from '@dcformer/cli-utils';
import { commandFlags } from '../usage.js';

const FLAGS = { json: 'boolean', help: 'boolean' } as const;
const PREFIX = 'dcformer download';

export async function runDownload(argv: readonly string[], io: Io): Promise<number> {
  const positional = argv.filter((a) => !a.startsWith('-'));
  const flags = commandFlags(
    'download',
    argv.filter((a) => a.startsWith('-')),
    FLAGS,
    io,
  );
  if (flags === null) return EXIT_OK;
  if (positional.length !== 1)
    throw new UsageError(
      positional.length === 0
        ? 'give the model: dcformer download org/name[@revision]'
        : `give one model; got ${positional.length}`,
    );
  const id = parseHubId(positional[0]);
  if (id === null)
    throw new UsageError(`'${positional[0]}' is not a Hub model id (expected org/name or org/name@revision)`);
  const snapshot = await resolveHubModel(id, stderrProgress(io, PREFIX));
  if (snapshot.files.length === 0)
    throw new CliError(
      `${positional[0]}: HF_HUB_OFFLINE is set; nothing was fetched (the cached copy is ${snapshot.dir})`,
    );
  io.stderr.write(
    `${PREFIX}: ${id.repo}@${id.revision} is commit ${snapshot.commit} in ${hubCacheDir()}: ${snapshot.downloaded.length} of ${snapshot.files.length} files fetched now\n`,
  );
  if (flags.json) {
    io.stdout.write(
      `${JSON.stringify({ path: snapshot.dir, commit: snapshot.commit, files: snapshot.files, downloaded: snapshot.downloaded })}\n`,
    );
  } else {
    io.stdout.write(`${snapshot.dir}\n`);
  }
  return EXIT_OK;
}
