// charts.js — hand-made SVG charts (no library, no CDN): line charts with a marker line and
// a histogram with a budget line. Numbers are parsed only to place marks; every label and
// tooltip shows the API's exact string.

const SVG = 'http://www.w3.org/2000/svg';
const W = 560, H = 260, PAD = { l: 78, r: 78, t: 16, b: 40 };

function el(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function extent(values) {
  let lo = Infinity, hi = -Infinity, loText = '', hiText = '';
  for (const text of values) {
    const v = Number(text);
    if (v < lo) { lo = v; loText = text; }
    if (v > hi) { hi = v; hiText = text; }
  }
  if (lo === hi) { hi = lo + 1; }
  return { lo, hi, loText, hiText };
}

function frame(title, description) {
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart' });
  svg.append(el('title', {}, title), el('desc', {}, description));
  return svg;
}

/**
 * A line chart. `series`: [{name, cls, axis: 'left'|'right', points: [{x, y}]}] with string
 * coordinates; `marker`: {x, label} draws a dashed vertical line (the quota).
 */
export function lineChart({ title, description, xLabel, series, marker, yLabels = {} }) {
  const svg = frame(title, description);
  const xs = extent(series.flatMap((s) => s.points.map((p) => p.x)));
  const axes = {};
  for (const axis of ['left', 'right']) {
    const ys = series.filter((s) => (s.axis || 'left') === axis).flatMap((s) => s.points.map((p) => p.y));
    if (ys.length) axes[axis] = extent(ys.concat(axis === 'left' ? ['0'] : []));
  }
  const px = (x) => PAD.l + ((Number(x) - xs.lo) / (xs.hi - xs.lo)) * (W - PAD.l - PAD.r);
  const py = (axis, y) => H - PAD.b - ((Number(y) - axes[axis].lo) / (axes[axis].hi - axes[axis].lo)) * (H - PAD.t - PAD.b);
  svg.append(el('line', { x1: PAD.l, y1: H - PAD.b, x2: W - PAD.r, y2: H - PAD.b, class: 'axis' }));
  svg.append(el('text', { x: PAD.l, y: H - PAD.b + 16, class: 'tick', 'text-anchor': 'start' }, xs.loText));
  svg.append(el('text', { x: W - PAD.r, y: H - PAD.b + 16, class: 'tick', 'text-anchor': 'end' }, xs.hiText));
  svg.append(el('text', { x: (PAD.l + W - PAD.r) / 2, y: H - 6, class: 'label', 'text-anchor': 'middle' }, xLabel));
  for (const [axis, e] of Object.entries(axes)) {
    const x = axis === 'left' ? PAD.l - 4 : W - PAD.r + 4;
    const anchor = axis === 'left' ? 'end' : 'start';
    svg.append(el('line', { x1: axis === 'left' ? PAD.l : W - PAD.r, y1: PAD.t, x2: axis === 'left' ? PAD.l : W - PAD.r, y2: H - PAD.b, class: 'axis' }));
    svg.append(el('text', { x, y: PAD.t + 10, class: 'tick', 'text-anchor': anchor }, e.hiText));
    svg.append(el('text', { x, y: H - PAD.b, class: 'tick', 'text-anchor': anchor }, e.loText));
    if (yLabels[axis]) svg.append(el('text', { x, y: PAD.t + 24, class: 'label', 'text-anchor': anchor }, yLabels[axis]));
  }
  if (marker && Number(marker.x) >= xs.lo && Number(marker.x) <= xs.hi) {
    const x = px(marker.x);
    svg.append(el('line', { x1: x, y1: PAD.t, x2: x, y2: H - PAD.b, class: 'marker' }));
    svg.append(el('text', { x: x + 4, y: PAD.t + 10, class: 'marker-label' }, marker.label));
  }
  for (const s of series) {
    const axis = s.axis || 'left';
    const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${px(p.x).toFixed(1)},${py(axis, p.y).toFixed(1)}`).join('');
    svg.append(el('path', { d, class: `series ${s.cls || ''}` }));
    for (const p of s.points) {
      const dot = el('circle', { cx: px(p.x), cy: py(axis, p.y), r: 3, class: `dot ${s.cls || ''}` });
      dot.append(el('title', {}, `${s.name} at ${p.x}: ${p.y}`));
      svg.append(dot);
    }
  }
  return withLegend(svg, series);
}

function withLegend(svg, series) {
  const figure = document.createElement('figure');
  figure.append(svg);
  const legend = document.createElement('figcaption');
  legend.className = 'legend';
  for (const s of series) {
    const item = document.createElement('span');
    item.className = `key ${s.cls || ''}`;
    item.textContent = s.name + (s.axis === 'right' ? ' (right scale)' : '');
    legend.append(item);
  }
  figure.append(legend);
  return figure;
}

/** A histogram of `bins` ({from, to, count}) with a dashed line at `budget` when given. */
export function histogram({ title, description, bins, budget, xLabel }) {
  const svg = frame(title, description);
  const lo = Number(bins[0].from), hi = Number(bins[bins.length - 1].to);
  const span = hi > lo ? hi - lo : 1;
  const top = Math.max(1, ...bins.map((b) => b.count));
  const px = (x) => PAD.l + ((Number(x) - lo) / span) * (W - PAD.l - PAD.r);
  const py = (c) => H - PAD.b - (c / top) * (H - PAD.t - PAD.b);
  bins.forEach((b, i) => {
    const x0 = bins.length === 1 ? PAD.l : px(b.from);
    const x1 = bins.length === 1 ? W - PAD.r : px(b.to);
    const bar = el('rect', { x: x0 + 1, y: py(b.count), width: Math.max(1, x1 - x0 - 2), height: H - PAD.b - py(b.count), class: 'bar' });
    bar.append(el('title', {}, `${b.from} to ${b.to}: ${b.count} draws`));
    svg.append(bar);
    if (i === 0 || i === bins.length - 1) {
      const edge = i === 0 ? b.from : b.to;
      svg.append(el('text', { x: i === 0 ? PAD.l : W - PAD.r, y: H - PAD.b + 16, class: 'tick', 'text-anchor': i === 0 ? 'start' : 'end' }, edge));
    }
  });
  svg.append(el('line', { x1: PAD.l, y1: H - PAD.b, x2: W - PAD.r, y2: H - PAD.b, class: 'axis' }));
  svg.append(el('text', { x: PAD.l - 4, y: PAD.t + 10, class: 'tick', 'text-anchor': 'end' }, `${top} draws`));
  svg.append(el('text', { x: (PAD.l + W - PAD.r) / 2, y: H - 6, class: 'label', 'text-anchor': 'middle' }, xLabel));
  if (budget != null) {
    const b = Number(budget);
    const x = b < lo ? PAD.l : b > hi ? W - PAD.r : px(budget);
    svg.append(el('line', { x1: x, y1: PAD.t, x2: x, y2: H - PAD.b, class: 'marker budget' }));
    const where = b < lo ? ' (below every draw)' : b > hi ? ' (above every draw)' : '';
    svg.append(el('text', { x: x > W / 2 ? x - 4 : x + 4, y: PAD.t + 10, class: 'marker-label', 'text-anchor': x > W / 2 ? 'end' : 'start' }, `budget ${budget}${where}`));
  }
  return withLegend(svg, []);
}
