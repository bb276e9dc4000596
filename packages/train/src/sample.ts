/**
 * Text samples after training: the model's cached generator, continued past block_size by
 * re-reading the last half-block as a new prompt (the model cannot attend further back anyway).
 */
import { generate, type DcformerModel, type SamplingOptions } from '@dcformer/model';

export interface SampleOptions extends SamplingOptions {
  /** Stop at this id (the tokenizer's end of text). */
  stopToken?: number | null;
}

/** `count` new ids after `prompt` (≥ 1 id). */
export function sampleIds(model: DcformerModel, prompt: readonly number[], count: number, options: SampleOptions = {}): number[] {
  const block = model.config.blockSize;
  const out: number[] = [];
  let context = prompt.slice(-Math.max(1, Math.floor(block / 2)));
  let round = 0;
  while (out.length < count) {
    const room = block - context.length + 1;
    const want = Math.min(count - out.length, room);
    const seed = options.seed === undefined ? undefined : options.seed + round++;
    const { newIds } = generate(model, [context], {
      ...options,
      seed,
      maxNewTokens: want,
      stopTokens: options.stopToken === null || options.stopToken === undefined ? [] : [options.stopToken],
    });
    const ids = newIds[0];
    out.push(...ids);
    if (ids.length < want || (options.stopToken !== undefined && ids[ids.length - 1] === options.stopToken)) break;
    context = [...context, ...ids].slice(-Math.floor(block / 2));
  }
  return out;
}
