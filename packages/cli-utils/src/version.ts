/**
 * `--version` of the CLIs: the `version` field of the app's own package.json. Read at run time from
 * the file next to the app's src/ or dist/ (both sit one level below the package root), so the
 * in-process tests, tsx and the built bin all print the same thing.
 */
import { readFileSync } from 'node:fs';

/**
 * @example packageVersion(import.meta.url) // in apps/infer/src/main.ts or dist/main.js -> '0.0.0'
 */
export function packageVersion(moduleUrl: string): string {
  const file = new URL('../package.json', moduleUrl);
  const pkg = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error(`${file.pathname}: no "version" string`);
  return pkg.version;
}
