// "Are we in CI?" and "skip here, fail in CI" for every package's tests, in one place.
//
// A plain file imported by relative path ('../../tools/test-env.mjs'), like tsup-library.mjs, rather
// than an export of @dcformer/kernels/testing: @dcformer/tokenizer and @dcformer/eval must depend on no
// other @dcformer package (tools/check-packages.mjs), and a helper this small is not worth a package.
// The variables read here (CI, VK_ICD_FILENAMES, CHROMIUM_PATH) are declared in turbo.json so that
// `npm test` passes them through and hashes them.

/**
 * True when CI is set to anything but '', '0' or 'false' (any case). GitHub Actions, GitLab CI and
 * most other runners set CI=true; `CI=1` counts too, as it does for vitest itself.
 */
export function inCI() {
  const v = process.env.CI;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/** A test's prerequisite (a browser, a Vulkan driver, a data file) is missing while CI is set. */
export class MissingTestToolError extends Error {
  constructor(label, missing) {
    super(`${label} ${label.endsWith('tests') ? 'are' : 'is'} required when CI is set, but ${missing}`);
    this.name = 'MissingTestToolError';
    this.missing = missing;
  }
}

/**
 * Decides what a test file does when `missing` (a sentence naming what is absent, or null) says it
 * cannot run here: returns false when nothing is missing; under CI throws MissingTestToolError so the
 * file fails with that sentence (CI must never pass with a suite silently untested); elsewhere
 * prints `[label] skipping: <missing>` and returns true (skip).
 *
 * ```js
 * const skip = skipUnlessCI('the browser end-to-end test', existsSync(chromium) ? null : `${chromium} not found`);
 * describe.skipIf(skip)('...', () => { ... });
 * ```
 */
export function skipUnlessCI(label, missing) {
  if (missing === null) return false;
  if (inCI()) throw new MissingTestToolError(label, missing);
  console.warn(`[${label}] skipping: ${missing}`);
  return true;
}
