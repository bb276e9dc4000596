// `dcformer --version`: the package version on stdout, exit 0, before any command is looked up.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { main } from '../src/main.js';

it('dcformer --version prints the package version', async () => {
  let stdout = '';
  let stderr = '';
  const code = await main(['--version'], {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
  });
  expect(code).toBe(0);
  expect(stderr).toBe('');
  expect(stdout).toBe(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
});
