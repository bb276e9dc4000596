/**
 * `dcformer tokenize --file big.txt | head`: once the reader has gone, every write to stdout fails
 * with EPIPE, which Node raises as an unhandled 'error' event (a stack trace, exit 1). The output was
 * not wanted any more, so the process ends quietly instead, as `yes | head` does, with exit 0 (the
 * code a pipeline under `set -o pipefail` should see for a reader that stopped on purpose).
 */

/** Makes a closed stdout (EPIPE) end the process at once, quietly, with exit code 0. */
export function exitQuietlyOnClosedStdout(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}
