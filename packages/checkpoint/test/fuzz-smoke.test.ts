/**
 * The bounded smoke run of the fuzz harness (tools/fuzz, issue 16) over this package's parsers
 * (safetensors single, sharded and in memory; PyTorch .bin single and sharded): a few hundred mutated
 * inputs per parser, from the fixtures, through the built package (turbo builds it before `test`).
 * Fails on any untyped error, abort, hang (> 5 s per input) or worker RSS over 3 GB. The long mode
 * is run by hand: `node tools/fuzz/run.mjs --long`.
 */
import { expect, it } from 'vitest';
import { runSmoke } from '../../../tools/fuzz/smoke.mjs';

it('fuzz smoke over the checkpoint parsers: no untyped error, abort, hang or memory bomb', async () => {
  const { code, failures } = await runSmoke('checkpoint');
  expect(failures).toEqual([]);
  expect(code).toBe(0);
}, 300_000);
