/**
 * Text samples after training: the model's cached generator, continued past block_size by
 * re-reading the last half-block as a new prompt (the model cannot attend further back anyway).
 */
import {
  generate,
  generateAsync,
  type DcformerModel,
  type GenerateOptions,
  type SamplingOptions,
} from '@dcformer/model';

export interface SampleOptions extends SamplingOptions {
  /** Stop at this id (the tokenizer's end of text). */
  stopToken?: number | null;
}

interface Round {
  context: number[];
  options: GenerateOptions;
}

/**
 * The rounds of generation, as a generator both forms drive: it yields each round's prompt and
 * options, takes back that round's new ids, and returns all of them.
 */
function* rounds(
  block: number,
  prompt: readonly number[],
  count: number,
  options: SampleOptions,
): Generator<Round, number[], number[]> {
  const out: number[] = [];
  let context = prompt.slice(-Math.max(1, Math.floor(block / 2)));
  let round = 0;
  while (out.length < count) {
    const room = block - context.length + 1;
    const want = Math.min(count - out.length, room);
    const seed = options.seed === undefined ? undefined : options.seed + round++;
    const ids = yield {
      context,
      options: {
        ...options,
        seed,
        maxNewTokens: want,
        stopTokens: options.stopToken === null || options.stopToken === undefined ? [] : [options.stopToken],
      },
    };
    out.push(...ids);
    if (ids.length < want || (options.stopToken !== undefined && ids[ids.length - 1] === options.stopToken)) break;
    context = [...context, ...ids].slice(-Math.floor(block / 2));
  }
  return out;
}

/** `count` new ids after `prompt` (≥ 1 id). Synchronous reads: cpu/wasm only; see sampleIdsAsync. */
export function sampleIds(
  model: DcformerModel,
  prompt: readonly number[],
  count: number,
  options: SampleOptions = {},
): number[] {
  const it = rounds(model.config.blockSize, prompt, count, options);
  let r = it.next();
  while (!r.done) r = it.next(generate(model, [r.value.context], r.value.options).newIds[0]);
  return r.value;
}

/**
 * `count` new ids after `prompt` (≥ 1 id), reading logits with `await data()`: runs on every
 * backend, webgpu included; the same ids as sampleIds.
 */
export async function sampleIdsAsync(
  model: DcformerModel,
  prompt: readonly number[],
  count: number,
  options: SampleOptions = {},
): Promise<number[]> {
  const it = rounds(model.config.blockSize, prompt, count, options);
  let r = it.next();
  while (!r.done) r = it.next((await generateAsync(model, [r.value.context], r.value.options)).newIds[0]);
  return r.value;
}
