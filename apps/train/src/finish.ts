/**
 * The end of a run: loss-curve SVG, a sample of generated text, the summary (a table for
 * --compare), and the final JSON object under --json.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lossCurveSvg, sampleIdsAsync, type CurveSeries } from '@dcformer/train';
import type { LogRecord, RunResult } from '@dcformer/train/node';
import type { ModelConfig } from '@dcformer/model';
import type { Plan } from './plan.js';
import type { ProgressMode } from './progress.js';
import type { Io } from '@dcformer/cli-utils';
import type { RunTokenizer } from './tokenizers.js';

export const PLOT_FILE = 'loss.svg';

/** The family's name for plots: DCFormer++, Transformer++ (no Compose), MUDDFormer, MUDDPythia, DCPythia. */
function modelLabel(config: ModelConfig | undefined): string {
  if (config === undefined) return 'DCFormer++';
  const names: Record<ModelConfig['family'], string> = {
    dcformer: 'DCFormer++',
    dcpythia: 'DCPythia',
    muddformer: 'MUDDFormer',
    muddpythia: 'MUDDPythia',
  };
  if (config.family === 'dcformer' && !config.useDcmha) return 'Transformer++';
  return names[config.family] + (config.family.startsWith('mudd') && config.useDcmha ? '×DCMHA' : '');
}

function series(label: string, history: readonly LogRecord[]): CurveSeries {
  return {
    label,
    train: history.filter((r) => Number.isFinite(r.train_loss)).map((r) => [r.step, r.train_loss] as const),
    val: history.filter((r) => r.val_loss !== undefined).map((r) => [r.step, r.val_loss as number] as const),
  };
}

async function sampleText(plan: Plan, result: RunResult, tok: RunTokenizer): Promise<string | null> {
  if (plan.sample.tokens === 0) return null;
  const t = tok.tokenizer;
  let prompt = t.encode(plan.sample.prompt, { specials: 'none' });
  if (prompt.length === 0) prompt = [t.eosId ?? 0];
  const ids = await sampleIdsAsync(result.model, prompt, plan.sample.tokens, {
    temperature: plan.sample.temperature,
    topK: plan.sample.topK,
    seed: plan.settings.seed,
    stopToken: t.eosId,
  });
  return t.decode([...prompt, ...ids], { skipSpecial: true });
}

function summary(result: RunResult, extra: Record<string, unknown> = {}) {
  return {
    ...extra,
    step: result.step,
    train_loss: result.trainLoss,
    val_loss: result.valLoss,
    tokens_per_s: result.tokensPerS,
    checkpoint: result.checkpoint,
    parameters: result.parameters,
    finished: result.finished,
  };
}

export async function finishSingle(
  plan: Plan,
  result: RunResult,
  tok: RunTokenizer,
  io: Io,
  mode: ProgressMode,
): Promise<void> {
  const plot = join(plan.outDir, PLOT_FILE);
  await writeFile(plot, lossCurveSvg([series(modelLabel(plan.targets[0].config), result.history)]));
  const text = await sampleText(plan, result, tok);
  if (mode === 'json') {
    io.stdout.write(`${JSON.stringify(summary(result, { plot, sample: text }))}\n`);
    return;
  }
  const val = result.valLoss === null ? 'n/a' : result.valLoss.toFixed(4);
  const head = result.finished
    ? `done: ${result.step} steps`
    : `stopped at step ${result.step} of ${plan.settings.steps} (continue with --resume)`;
  io.stdout.write(`\n${head}, validation loss ${val}, ${result.tokensPerS.toFixed(0)} tokens/s\n`);
  io.stdout.write(`checkpoint: ${result.checkpoint}\nloss curve: ${plot}\n`);
  if (text !== null)
    io.stdout.write(
      `\n--- sample (seed ${plan.settings.seed}, temperature ${plan.sample.temperature}) ---\n${text}\n---\n`,
    );
}

export async function finishCompare(
  plan: Plan,
  results: RunResult[],
  tok: RunTokenizer,
  io: Io,
  mode: ProgressMode,
): Promise<void> {
  const plot = join(plan.outDir, PLOT_FILE);
  const labels = plan.targets.map((t) => t.label.trim());
  await writeFile(
    plot,
    lossCurveSvg(
      results.map((r, i) => series(labels[i], r.history)),
      `${labels.join(' vs ')} (same seed and data)`,
    ),
  );
  // Equal wall time: each model's last validation loss within the time the fastest run took.
  const equalTime = Math.min(...results.map((r) => r.history.at(-1)?.elapsed_s ?? 0));
  const atEqualTime = results.map(
    (r) => [...r.history].reverse().find((h) => h.val_loss !== undefined && h.elapsed_s <= equalTime)?.val_loss ?? null,
  );
  const rows = results.map((r, i) => ({
    model: plan.targets[i].name,
    ...summary(r),
    equal_time_s: equalTime,
    val_loss_at_equal_time: atEqualTime[i],
  }));
  const table = {
    columns: ['model', 'parameters', 'final val loss', `val loss @ ${equalTime.toFixed(0)} s`, 'tokens/s', 'steps'],
    rows: results.map((r, i) => [
      labels[i],
      r.parameters.toLocaleString('en-US'),
      r.valLoss === null ? 'n/a' : r.valLoss.toFixed(4),
      atEqualTime[i] === null ? 'n/a' : (atEqualTime[i] as number).toFixed(4),
      r.tokensPerS.toFixed(0),
      String(r.step),
    ]),
  };
  const texts: (string | null)[] = [];
  for (const r of results) texts.push(await sampleText(plan, r, tok));
  await writeFile(join(plan.outDir, 'compare.json'), `${JSON.stringify({ runs: rows }, null, 2)}\n`);
  if (mode === 'json') {
    for (const [i, row] of rows.entries()) io.stdout.write(`${JSON.stringify({ ...row, plot, sample: texts[i] })}\n`);
    return;
  }
  const widths = table.columns.map((c, j) => Math.max(c.length, ...table.rows.map((r) => r[j].length)));
  const line = (cells: string[]) =>
    cells.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  ');
  io.stdout.write(
    `\n${line(table.columns)}\n${line(widths.map((w) => '-'.repeat(w)))}\n${table.rows.map(line).join('\n')}\n`,
  );
  io.stdout.write(`\nloss curves: ${plot}\n`);
  texts.forEach((text, i) => {
    if (text !== null) io.stdout.write(`\n--- ${labels[i]} sample (seed ${plan.settings.seed}) ---\n${text}\n`);
  });
}
