/**
 * Loss curves as a self-contained SVG (no fonts or scripts beyond the viewer's defaults), so a run
 * leaves a picture without a plotting dependency. Train loss is drawn as a line, validation loss as
 * a line with dots; each series gets its own colour.
 */

export interface CurveSeries {
  label: string;
  /** [step, loss] points of the training loss. */
  train: readonly (readonly [number, number])[];
  /** [step, loss] points of the validation loss. */
  val: readonly (readonly [number, number])[];
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
const W = 720;
const H = 420;
const M = { left: 64, right: 20, top: 36, bottom: 52 };

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** "Nice" tick values covering [lo, hi]: steps of 1, 2 or 5 × 10^k. */
export function ticks(lo: number, hi: number, wanted = 6): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / wanted;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw) as number;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function fmt(v: number): string {
  return Math.abs(v) >= 1000 ? `${Number((v / 1000).toPrecision(3))}k` : String(Number(v.toPrecision(3)));
}

export function lossCurveSvg(series: readonly CurveSeries[], title = 'loss (nats per token)'): string {
  const points = series
    .flatMap((s) => [...s.train, ...s.val])
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xs = points.map(([x]) => x);
  const ys = points.map(([, y]) => y);
  const x0 = 0;
  const x1 = Math.max(1, ...xs);
  let y0 = Math.min(...ys, Infinity);
  let y1 = Math.max(...ys, -Infinity);
  if (!Number.isFinite(y0)) [y0, y1] = [0, 1];
  const pad = (y1 - y0) * 0.05 || 0.5;
  y0 = Math.max(0, y0 - pad);
  y1 += pad;
  const px = (x: number) => M.left + ((x - x0) / (x1 - x0)) * (W - M.left - M.right);
  const py = (y: number) => H - M.bottom - ((y - y0) / (y1 - y0)) * (H - M.top - M.bottom);
  const path = (pts: readonly (readonly [number, number])[]) =>
    pts
      .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
      .map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`)
      .join(' ');

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`);
  for (const t of ticks(y0, y1)) {
    out.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${py(t).toFixed(1)}" y2="${py(t).toFixed(1)}" stroke="#e6e6e6"/>`,
    );
    out.push(`<text x="${M.left - 6}" y="${(py(t) + 4).toFixed(1)}" text-anchor="end">${fmt(t)}</text>`);
  }
  for (const t of ticks(x0, x1)) {
    out.push(
      `<line x1="${px(t).toFixed(1)}" x2="${px(t).toFixed(1)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#f0f0f0"/>`,
    );
    out.push(`<text x="${px(t).toFixed(1)}" y="${H - M.bottom + 16}" text-anchor="middle">${fmt(t)}</text>`);
  }
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#333"/>`,
  );
  out.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 12}" text-anchor="middle">step</text>`);
  series.forEach((s, i) => {
    const c = COLOURS[i % COLOURS.length];
    if (s.train.length > 0)
      out.push(`<path d="${path(s.train)}" fill="none" stroke="${c}" stroke-width="1.2" stroke-opacity="0.55"/>`);
    if (s.val.length > 0) {
      out.push(`<path d="${path(s.val)}" fill="none" stroke="${c}" stroke-width="2"/>`);
      for (const [x, y] of s.val)
        if (Number.isFinite(y))
          out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${c}"/>`);
    }
    const ly = M.top + 16 + i * 34;
    const lx = W - M.right - 190;
    out.push(
      `<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${c}" stroke-width="1.2" stroke-opacity="0.55"/>`,
    );
    out.push(`<text x="${lx + 28}" y="${ly + 4}">${esc(s.label)} train</text>`);
    out.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly + 15}" y2="${ly + 15}" stroke="${c}" stroke-width="2"/>`);
    out.push(`<circle cx="${lx + 11}" cy="${ly + 15}" r="3" fill="${c}"/>`);
    out.push(`<text x="${lx + 28}" y="${ly + 19}">${esc(s.label)} validation</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
