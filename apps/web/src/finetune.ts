/**
 * Fine-tuning the loaded model on pasted text with @dcformer/train's Trainer (AdamW, warmup +
 * cosine, clipping): random windows of the text's token ids, one optimizer step per animation frame
 * so the loss curve updates live. Steps go through Trainer.trainStepAsync: trainStep's dataSync()
 * is drawn through a canvas by tfjs-backend-webgpu, which in headless Chromium on SwiftShader
 * returns zeros without an error (every loss 0, clipping off).
 */
import { Rng, Trainer, sampleBatch, type StepResult } from '@dcformer/train';
import type { DcformerModel } from '@dcformer/model';
import type { Tokenizer } from '@dcformer/tokenizer';

export interface FinetuneOptions {
  steps: number;
  batchSize: number;
  seqLen: number;
  lr: number;
  seed: number;
  onStep: (result: StepResult, msPerStep: number) => void;
  shouldStop: () => boolean;
}

/** Parameter count above which the page refuses to fine-tune (gradients + AdamW need 4× the weights). */
export const FINETUNE_MAX_PARAMETERS = 50e6;

export async function finetune(
  model: DcformerModel,
  tokenizer: Tokenizer,
  text: string,
  o: FinetuneOptions,
): Promise<number> {
  const ids = tokenizer.encode(text);
  const seqLen = Math.min(o.seqLen, model.config.blockSize);
  if (ids.length < seqLen + 1) {
    throw new Error(
      `the text is ${ids.length} tokens; fine-tuning with windows of ${seqLen} needs at least ${seqLen + 1} — paste more text`,
    );
  }
  const tokens = Uint32Array.from(ids);
  const trainer = new Trainer(model, {
    schedule: {
      lr: o.lr,
      warmupSteps: Math.min(10, Math.floor(o.steps / 10)),
      totalSteps: o.steps,
      finalFraction: 0.1,
    },
    clip: 1,
  });
  const rng = new Rng(o.seed);
  try {
    for (let s = 0; s < o.steps && !o.shouldStop(); s++) {
      const t0 = performance.now();
      const batch = sampleBatch(tokens, o.batchSize, seqLen, rng);
      let result: StepResult;
      try {
        result = await trainer.trainStepAsync([batch]);
      } finally {
        batch.dispose();
      }
      o.onStep(result, performance.now() - t0);
      // Yield to the browser so the curve and the counters repaint between steps.
      await new Promise((resolve) => requestAnimationFrame(() => resolve(undefined)));
    }
    return trainer.step;
  } finally {
    trainer.optimizer.dispose();
  }
}
