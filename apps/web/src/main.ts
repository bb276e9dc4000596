/**
 * The page: start a backend, load a model folder, stream generated text with tokens/s, fine-tune
 * with a live loss curve. Query parameters (also what the end-to-end test uses): `?model=URL` loads
 * a folder at start, `?backend=webgpu|wasm|cpu` forces a backend.
 */
// tfjs-core's entry first: it registers the flags (DEBUG, …) that registering the gradients reads.
// The built bundle keeps this order anyway; the dev server's pre-bundled chunks do not.
import '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { lossCurveSvg } from '@dcformer/train';
import { chooseBackend, type BackendChoice } from './backend.js';
import { FINETUNE_MAX_PARAMETERS, finetune } from './finetune.js';
import { fitPrompt, streamTokens, type StreamStats } from './generate.js';
import { loadFromFiles, loadFromUrl, type FormatPlan, type LoadedModel, type LoadOptions } from './model-source.js';
import type { WeightDtype } from '@dcformer/kernels';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);

let backend: BackendChoice | null = null;
let loaded: LoadedModel | null = null;
let busy: 'load' | 'generate' | 'train' | null = null;
let stopRequested = false;

function status(id: string, state: 'idle' | 'busy' | 'done' | 'error', message: string): void {
  const el = $(id);
  el.dataset.state = state;
  el.textContent = message;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Buttons follow one rule: nothing starts while something runs; Stop is live only while it runs. */
function refreshButtons(): void {
  const idle = busy === null && backend !== null;
  $<HTMLButtonElement>('load-url').disabled = !idle;
  $<HTMLInputElement>('model-files').disabled = !idle;
  $<HTMLSelectElement>('model-dtype').disabled = !idle;
  $<HTMLButtonElement>('gen-start').disabled = !idle || loaded === null;
  $<HTMLButtonElement>('gen-stop').disabled = busy !== 'generate';
  $<HTMLButtonElement>('train-start').disabled = !idle || loaded === null;
  $<HTMLButtonElement>('train-stop').disabled = busy !== 'train';
}

async function run(kind: NonNullable<typeof busy>, task: () => Promise<void>): Promise<void> {
  busy = kind;
  stopRequested = false;
  refreshButtons();
  try {
    await task();
  } finally {
    busy = null;
    refreshButtons();
  }
}

function showLimits(b: BackendChoice): void {
  const mib = (n: number) => `${Math.round(n / 2 ** 20)} MiB`;
  const millions = Math.floor(b.maxWeightBytes / 4 / 1e6);
  $('limits').textContent =
    `On ${b.name} this page holds up to ${(b.maxWeightBytes / 2 ** 30).toFixed(1)} GiB of weights (~${millions}M parameters in float32, ~${2 * millions}M in bf16/f16, ~${Math.floor(3.5 * millions)}M in int8, ~${Math.floor(6.4 * millions)}M in int4), with no single tensor above ${mib(b.maxTensorBytes)}: ` +
    'the tiny and tiny-mudd presets and bench-small fit in float32; DCFormer-2.8B fits only in int4 (1.7 GB; 11 GB in float32), DCPythia-6.9B not at all.';
}

/** The dtype picked in the page and where the memory per format is shown (before the weights are read). */
function loadOptions(): LoadOptions {
  const picked = $<HTMLSelectElement>('model-dtype').value;
  return {
    dtype: picked === 'auto' ? null : (picked as WeightDtype),
    onPlan: (plan: FormatPlan) => {
      $('model-formats').textContent = plan.summary;
    },
  };
}

async function loadModel(from: () => Promise<LoadedModel>, label: string): Promise<void> {
  await run('load', async () => {
    status('model-status', 'busy', `Loading ${label}…`);
    try {
      const next = await from();
      loaded?.model.dispose();
      loaded = next;
      const c = next.model.config;
      status(
        'model-status',
        'done',
        `Loaded ${next.source}: ${c.family}, ${c.nLayer} layers, dim ${c.dim}, ${c.nHead} heads, ${(next.parameters / 1e6).toFixed(2)}M parameters as ${next.dtype} (${(next.weightBytes / 2 ** 20).toFixed(1)} MiB of weights), ` +
          `vocabulary ${next.tokenizer.vocabSize} (${next.tokenizer.kind}), block size ${c.blockSize}.`,
      );
    } catch (e) {
      status('model-status', 'error', `Could not load ${label}: ${errorText(e)}`);
    }
  });
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

async function generate(): Promise<void> {
  const current = loaded;
  if (current === null) return;
  await run('generate', async () => {
    const { model, tokenizer } = current;
    const out = $('output');
    const maxNewTokens = Math.max(1, Math.floor(Number($<HTMLInputElement>('max-tokens').value) || 1));
    const temperature = Number($<HTMLInputElement>('temperature').value) || 0;
    const topK = Math.floor(Number($<HTMLInputElement>('top-k').value) || 0);
    const stats: StreamStats = { prefillMs: 0, decodeMs: 0, decodedTokens: 0 };
    const ids: number[] = [];
    try {
      const promptText = $<HTMLTextAreaElement>('prompt').value;
      const prompt = fitPrompt(tokenizer.encode(promptText), maxNewTokens, model.config.blockSize);
      out.innerHTML = `<span class="prompt">${escapeHtml(tokenizer.decode(prompt))}</span>`;
      const generated = document.createElement('span');
      out.append(generated);
      const decoder = tokenizer.decoder();
      status('gen-status', 'busy', 'Prefill…');
      const sampling =
        temperature > 0 ? { temperature, topK: topK > 0 ? topK : undefined, seed: Date.now() % 2 ** 31 } : {};
      let minMargin = Infinity;
      const stream = streamTokens(
        model,
        prompt,
        {
          maxNewTokens,
          ...sampling,
          stopTokens: tokenizer.eosId === null ? [] : [tokenizer.eosId],
          shouldStop: () => stopRequested,
        },
        stats,
      );
      for await (const step of stream) {
        ids.push(step.id);
        minMargin = Math.min(minMargin, step.margin);
        generated.textContent += decoder.push(step.id);
        const rate = stats.decodeMs > 0 ? (stats.decodedTokens / stats.decodeMs) * 1000 : 0;
        status(
          'gen-status',
          'busy',
          `${ids.length} tokens · ${rate.toFixed(1)} tokens/s · prefill ${stats.prefillMs.toFixed(0)} ms`,
        );
      }
      generated.textContent += decoder.flush();
      const rate = stats.decodeMs > 0 ? (stats.decodedTokens / stats.decodeMs) * 1000 : 0;
      $('ids').textContent = JSON.stringify({ prompt, generated: ids, minTop2Margin: minMargin });
      status(
        'gen-status',
        'done',
        `${ids.length} tokens · ${rate.toFixed(1)} tokens/s decode · prefill ${prompt.length} tokens in ${stats.prefillMs.toFixed(0)} ms${stopRequested ? ' · stopped' : ''}`,
      );
    } catch (e) {
      status('gen-status', 'error', `Generation failed: ${errorText(e)}`);
    }
  });
}

async function train(): Promise<void> {
  const current = loaded;
  if (current === null) return;
  if (current.dtype !== 'f32') {
    // compact weights are not variables: they would take no gradient and stay as they are
    status(
      'train-status',
      'error',
      `Fine-tuning needs float32 weights; this model is held as ${current.dtype}. Load it with "weights as" f32.`,
    );
    return;
  }
  if (current.parameters > FINETUNE_MAX_PARAMETERS) {
    status(
      'train-status',
      'error',
      `Fine-tuning in the page is for small models (≤ ${FINETUNE_MAX_PARAMETERS / 1e6}M parameters); this one has ${(current.parameters / 1e6).toFixed(0)}M.`,
    );
    return;
  }
  await run('train', async () => {
    const num = (id: string) => Number($<HTMLInputElement>(id).value);
    const points: [number, number][] = [];
    status('train-status', 'busy', 'First step (compiles the backward pass)…');
    try {
      const steps = await finetune(current.model, current.tokenizer, $<HTMLTextAreaElement>('train-text').value, {
        steps: Math.max(1, Math.floor(num('train-steps'))),
        batchSize: Math.max(1, Math.floor(num('train-batch'))),
        seqLen: Math.max(2, Math.floor(num('train-window'))),
        lr: num('train-lr') > 0 ? num('train-lr') : 3e-3,
        seed: 1,
        shouldStop: () => stopRequested,
        onStep: (r, ms) => {
          if (Number.isFinite(r.loss)) points.push([r.step + 1, r.loss]);
          $('curve').dataset.losses = JSON.stringify(points);
          $('curve').innerHTML = lossCurveSvg(
            [{ label: 'fine-tuning', train: points, val: [] }],
            'fine-tuning loss (nats per token)',
          );
          status(
            'train-status',
            'busy',
            `step ${r.step + 1} · loss ${r.loss.toFixed(3)} · lr ${r.lr.toExponential(2)} · ${ms.toFixed(0)} ms/step`,
          );
        },
      });
      const last = points.at(-1)?.[1];
      status(
        'train-status',
        'done',
        `Done: ${steps} steps${last === undefined ? '' : `, last loss ${last.toFixed(3)}`}. Generate above to see what it learned.`,
      );
    } catch (e) {
      status('train-status', 'error', `Fine-tuning failed on ${backend?.name}: ${errorText(e)}`);
    }
  });
}

async function main(): Promise<void> {
  refreshButtons();
  try {
    backend = await chooseBackend(params.get('backend'));
  } catch (e) {
    $('backend').textContent = 'none';
    status('model-status', 'error', errorText(e));
    return;
  }
  $('backend').textContent = backend.label;
  document.body.dataset.backend = backend.name;
  if (backend.notice) {
    $('notice').textContent = backend.notice;
    $('notice').hidden = false;
  }
  showLimits(backend);
  refreshButtons();
  const chosen = backend;
  $('load-url').addEventListener('click', () => {
    const url = $<HTMLInputElement>('model-url').value.trim();
    void loadModel(() => loadFromUrl(url, chosen, loadOptions()), url);
  });
  $<HTMLInputElement>('model-files').addEventListener('change', (ev) => {
    const files = (ev.target as HTMLInputElement).files;
    if (files && files.length > 0)
      void loadModel(() => loadFromFiles(files, chosen, loadOptions()), 'the picked folder');
  });
  $('gen-start').addEventListener('click', () => void generate());
  $('train-start').addEventListener('click', () => void train());
  for (const id of ['gen-stop', 'train-stop']) $(id).addEventListener('click', () => (stopRequested = true));
  const initial = params.get('model');
  if (initial !== null) {
    $<HTMLInputElement>('model-url').value = initial;
    await loadModel(() => loadFromUrl(initial, chosen, loadOptions()), initial);
  }
  document.body.dataset.ready = 'true';
}

void main();
