// Small SVG charts: horizontal bars and a line over time. No library: a few elements each.
const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attributes)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Horizontal bars: rows of {label, value, note?, className?}; `format` writes a value. */
export function barChart(rows, { format = String, title = "" } = {}) {
  const rowHeight = 26, labelWidth = 190, width = 560, valueWidth = 170;
  const height = rows.length * rowHeight + 8;
  const max = Math.max(...rows.map((r) => r.value), 1e-9);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart bars", role: "img", "aria-label": title });
  rows.forEach((r, i) => {
    const y = 4 + i * rowHeight;
    const barWidth = Math.max(1, ((width - labelWidth - valueWidth) * r.value) / max);
    root.append(
      svg("text", { x: labelWidth - 8, y: y + 16, "text-anchor": "end", class: "label" }, r.label),
      svg("rect", { x: labelWidth, y: y + 3, width: barWidth, height: rowHeight - 8, rx: 2, class: `bar ${r.className ?? ""}` }),
      svg("text", { x: labelWidth + barWidth + 6, y: y + 16, class: "value" }, format(r.value) + (r.note ? `  ${r.note}` : "")),
    );
  });
  return root;
}

/**
 * A line chart of one or more series over x: `series` is [{name, points: [[x, y, note?]], className}]
 * (a point's note: {title, warn}: its tooltip, and whether to mark it);
 * `formatX`/`formatY` write the axis ticks.
 */
export function lineChart(series, { formatX = String, formatY = String, title = "", step = false } = {}) {
  const width = 560, height = 180, left = 64, right = 12, top = 10, bottom = 26;
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]), ys = all.map((p) => p[1]);
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  const y1 = Math.max(...ys, 0) * 1.08 || 1;
  const sx = (x) => left + ((x - x0) / (x1 - x0 || 1)) * (width - left - right);
  const sy = (y) => top + (1 - y / y1) * (height - top - bottom);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart lines", role: "img", "aria-label": title });
  for (let i = 0; i <= 4; i++) {
    const y = (y1 * i) / 4;
    root.append(
      svg("line", { x1: left, x2: width - right, y1: sy(y), y2: sy(y), class: "grid" }),
      svg("text", { x: left - 6, y: sy(y) + 4, "text-anchor": "end", class: "tick" }, formatY(y)),
    );
  }
  for (let i = 0; i <= 4; i++) {
    const x = x0 + ((x1 - x0) * i) / 4;
    root.append(svg("text", { x: sx(x), y: height - 8, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle", class: "tick" }, formatX(x)));
  }
  for (const s of series) {
    let d = "";
    s.points.forEach(([x, y], i) => {
      if (i === 0) d += `M${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
      else if (step) d += `H${sx(x).toFixed(1)}V${sy(y).toFixed(1)}`;
      else d += `L${sx(x).toFixed(1)},${sy(y).toFixed(1)}`;
    });
    root.append(svg("path", { d, class: `line ${s.className ?? ""}` }));
    if (!step) {
      for (const [x, y, note] of s.points) {
        const dot = svg("circle", { cx: sx(x), cy: sy(y), r: note?.warn ? 4 : 3, class: `dot ${s.className ?? ""} ${note?.warn ? "warn" : ""}` });
        if (note?.title) dot.append(svg("title", {}, note.title));
        root.append(dot);
      }
    }
  }
  return root;
}

/** A small utilisation bar: a filled share with its percentage. */
export function meter(share, label) {
  const bar = document.createElement("span");
  bar.className = "meter";
  bar.setAttribute("role", "meter");
  bar.setAttribute("aria-valuemin", "0");
  bar.setAttribute("aria-valuemax", "100");
  bar.setAttribute("aria-valuenow", String(Math.round(share * 100)));
  bar.setAttribute("aria-label", label);
  const fill = document.createElement("span");
  fill.style.width = `${Math.min(100, Math.max(0, share * 100)).toFixed(1)}%`;
  if (share > 0.9) fill.className = "high";
  const text = document.createElement("span");
  text.className = "meter-text";
  text.textContent = `${label} ${Math.round(share * 100)}%`;
  bar.append(fill, text);
  return bar;
}
