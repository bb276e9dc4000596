/**
 * The bounded smoke run of the fuzz harness (tools/fuzz, issue 16) over this package's parsers:
 * a few hundred mutated inputs per parser, from the fixtures, through the built package (turbo
 * builds it before `test`). Fails on any untyped error, abort, hang (> 5 s per input) or worker RSS
 * over 3 GB. The long mode is run by hand: `node tools/fuzz/run.mjs --long`.
 */
import { expect, it } from 'vitest';
import { runFuzz, runSmoke } from '../../../tools/fuzz/smoke.mjs';

it('fuzz smoke over the model parsers: no untyped error, abort, hang or memory bomb', async () => {
  const { code, failures } = await runSmoke('model');
  expect(failures).toEqual([]);
  expect(code).toBe(0);
}, 300_000);

it('the fuzz supervisor sees each kind of failure (self-test targets)', async () => {
  const { code, summary } = await runFuzz(
    ['--package', 'selftest', '--count', '1', '--timeout-ms', '10000', '--rss-limit-mb', '400'],
    { ...process.env, DCF_FUZZ_SELFTEST: '1' },
  );
  const { stats } = summary;
  expect(code).toBe(1);
  expect(stats['selftest-untyped'].untyped).toBe(1);
  expect(stats['selftest-hang'].hangs).toBe(1);
  expect(stats['selftest-abort'].aborts).toBe(1);
  expect(stats['selftest-memory'].overBudget, JSON.stringify(stats['selftest-memory'])).toBe(1);
  expect(stats['selftest-peak'].overBudget, JSON.stringify(stats['selftest-peak'])).toBe(1);
}, 120_000);
