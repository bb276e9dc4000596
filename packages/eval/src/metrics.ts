/**
 * Aggregate metrics with standard errors. Means use lm-eval's standard error (sample standard
 * deviation with n − 1, over √n). Perplexities are transforms of means or ratios of sums; their
 * standard errors come from the delta method (lm-eval bootstraps; for the sample sizes of these
 * benchmarks the two agree to a few percent). A corpus-level number from fewer than two documents
 * has no standard error (null), rather than a made-up one.
 */

export interface Metric {
  value: number;
  stderr: number | null;
  higherIsBetter: boolean;
}

export function mean(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return values.length === 0 ? NaN : s / values.length;
}

/** Standard error of the mean: sample sd (n − 1) / √n; null below two values. */
export function stderrOfMean(values: readonly number[]): number | null {
  const n = values.length;
  if (n < 2) return null;
  const m = mean(values);
  let ss = 0;
  for (const v of values) ss += (v - m) ** 2;
  return Math.sqrt(ss / (n - 1)) / Math.sqrt(n);
}

/** Accuracy-like mean of 0/1 (or any) per-item scores. */
export function meanMetric(values: readonly number[], higherIsBetter = true): Metric {
  return { value: mean(values), stderr: stderrOfMean(values), higherIsBetter };
}

/** exp(−mean log-likelihood), e.g. LAMBADA's perplexity over its target words. */
export function perplexityMetric(logprobs: readonly number[]): Metric {
  const value = Math.exp(-mean(logprobs));
  const se = stderrOfMean(logprobs);
  return { value, stderr: se === null ? null : value * se, higherIsBetter: false };
}

/**
 * Σ x_i / Σ w_i with the delta-method standard error of a ratio estimator:
 * se ≈ √(Σ (x_i − R·w_i)² / (n(n − 1))) / mean(w).
 */
export function ratioOfSums(x: readonly number[], w: readonly number[]): { value: number; stderr: number | null } {
  const n = x.length;
  let sx = 0;
  let sw = 0;
  for (let i = 0; i < n; i++) {
    sx += x[i];
    sw += w[i];
  }
  const value = sx / sw;
  if (n < 2) return { value, stderr: null };
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (x[i] - value * w[i]) ** 2;
  return { value, stderr: Math.sqrt(ss / (n * (n - 1))) / (sw / n) };
}

/**
 * Corpus perplexities of documents with log-likelihoods `logprobs` over `units` (tokens, words or
 * bytes): exp(−Σ ll / Σ units). The standard error maps the ratio's through d exp(r) = exp(r) dr.
 */
export function corpusPerplexity(logprobs: readonly number[], units: readonly number[]): Metric {
  const r = ratioOfSums(logprobs, units);
  const value = Math.exp(-r.value);
  return { value, stderr: r.stderr === null ? null : value * r.stderr, higherIsBetter: false };
}

/** −Σ ll / (Σ bytes · ln 2): bits per UTF-8 byte, comparable across tokenizers. */
export function bitsPerByte(logprobs: readonly number[], bytes: readonly number[]): Metric {
  const r = ratioOfSums(logprobs, bytes);
  return { value: -r.value / Math.LN2, stderr: r.stderr === null ? null : r.stderr / Math.LN2, higherIsBetter: false };
}

/**
 * Index of the largest score, the first one on ties (numpy's argmax, which lm-eval uses, so a tie
 * between the gold answer and a later one counts as correct only when gold comes first).
 */
export function argmax(scores: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
  return best;
}
