/**
 * Fine-tuning the loaded model on pasted text with @dcformer/train's Trainer (AdamW, warmup +
 * cosine, clipping): random windows of the text's token ids, one optimizer step per animation frame
 * so the loss curve updates live.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '@tensorflow/tfjs-core';
import { Rng, Trainer, TrainingError, clipCoefficient, learningRate, sampleBatch, type StepResult } from '@dcformer/train';
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

/**
 * Trainer.trainStep with the two numbers it needs (loss, gradient norm) read by `await data()`.
 * trainStep reads them with dataSync(), which tfjs-backend-webgpu implements by drawing to a canvas;
 * in headless Chromium on SwiftShader that read returns zeros without an error (measured: the sum
 * of a 64×64 matMul of ones read as 0), which would make every loss 0 and disable clipping.
 * Same rules as trainStep: skip non-finite steps, stop after maxConsecutiveSkips, clip, AdamW.
 */
export async function trainStepAsync(trainer: Trainer, micro: readonly Tensor[]): Promise<StepResult> {
  const step = trainer.step;
  const lr = learningRate(trainer.schedule, step);
  const { loss, grads } = trainer.gradients(micro);
  try {
    const stats = tf.tidy(() => tf.stack([loss, tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g)))))]));
    const [lossValue, gradNorm] = (await stats.data()) as Float32Array;
    stats.dispose();
    const skipped = !Number.isFinite(lossValue) || !Number.isFinite(gradNorm);
    trainer.step += 1;
    if (skipped) {
      trainer.skippedSteps += 1;
      trainer.consecutiveSkips += 1;
      if (trainer.consecutiveSkips >= trainer.maxConsecutiveSkips) {
        throw new TrainingError(`${trainer.consecutiveSkips} steps in a row had a non-finite loss or gradient; stopping (lower the learning rate)`);
      }
    } else {
      trainer.consecutiveSkips = 0;
      trainer.optimizer.apply(grads, lr, clipCoefficient(gradNorm, trainer.clip));
    }
    return { step, loss: lossValue, gradNorm, lr, skipped };
  } finally {
    loss.dispose();
    for (const g of grads.values()) g.dispose();
  }
}

export async function finetune(model: DcformerModel, tokenizer: Tokenizer, text: string, o: FinetuneOptions): Promise<number> {
  const ids = tokenizer.encode(text);
  const seqLen = Math.min(o.seqLen, model.config.blockSize);
  if (ids.length < seqLen + 1) {
    throw new Error(`the text is ${ids.length} tokens; fine-tuning with windows of ${seqLen} needs at least ${seqLen + 1} — paste more text`);
  }
  const tokens = Uint32Array.from(ids);
  const trainer = new Trainer(model, {
    schedule: { lr: o.lr, warmupSteps: Math.min(10, Math.floor(o.steps / 10)), totalSteps: o.steps, finalFraction: 0.1 },
    clip: 1,
  });
  const rng = new Rng(o.seed);
  try {
    for (let s = 0; s < o.steps && !o.shouldStop(); s++) {
      const t0 = performance.now();
      const batch = sampleBatch(tokens, o.batchSize, seqLen, rng);
      let result: StepResult;
      try {
        result = await trainStepAsync(trainer, [batch]);
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
