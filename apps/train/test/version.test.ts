// `dcformer-train --version`: the package version on stdout, exit 0, nothing else.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { run } from './support.js';

it('dcformer-train --version prints the package version', async () => {
  const r = await run(['--version']);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe('');
  expect(r.stdout).toBe(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
});
