// grsu view: the explorer of a sweep. The same page runs against the local server (documents
// from `api/…`) and as a static bundle opened from disk (documents from `data/*.js` files, which
// call `grsuData`), so that a bundle needs no server. Every string of the store (titles,
// critiques, conversation, model answers) reaches the page as a text node, never as markup.
"use strict";

const BUNDLE = document.documentElement.dataset.bundle === "1";
const documents = new Map();
const waiting = new Map();

// A bundle's data file announces itself here.
window.grsuData = function (name, value) {
  const resolve = waiting.get(name);
  waiting.delete(name);
  if (resolve) resolve(value);
};

// One document of the explorer (`sweep`, `samples`, `sample/3`, `answers/3`), fetched once.
function load(name, { fresh = !BUNDLE && !name.startsWith("answers/") } = {}) {
  // The server's documents change while a run goes on; a bundle's never do.
  if (!fresh && documents.has(name)) return documents.get(name);
  let promise;
  if (BUNDLE) {
    promise = new Promise((resolve, reject) => {
      waiting.set(name, resolve);
      const script = document.createElement("script");
      script.src = "data/" + name.replace("/", "-") + ".js";
      script.onerror = () => {
        waiting.delete(name);
        reject(new Error("this bundle has no " + script.src));
      };
      document.head.appendChild(script);
    });
  } else {
    promise = fetch("api/" + name, { cache: "no-store" }).then(async (response) => {
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(body.error || response.status + " " + response.statusText);
      return body;
    });
  }
  documents.set(name, promise);
  promise.catch(() => documents.delete(name));
  return promise;
}

// h("td", {class: "x"}, "text", child): an element with attributes and children; strings become
// text nodes.
function h(tag, attributes, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const SVG = "http://www.w3.org/2000/svg";
function s(tag, attributes, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    element.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const number = (value, digits = 4) =>
  value === null || value === undefined || Number.isNaN(value) ? "–" : Number(value).toFixed(digits);
const integer = (value) => (value === null || value === undefined ? "–" : Number(value).toLocaleString("en-US"));
const seconds = (ms) => (ms / 1000).toFixed(ms < 10000 ? 2 : 0) + " s";
const marker = (significance) => (significance === "better" ? "*" : significance === "worse" ? "†" : "");

function show(...children) {
  const app = document.getElementById("app");
  app.replaceChildren();
  append(app, children);
}

function failed(error) {
  show(h("p", { class: "error" }, "Could not load: " + error.message));
}

// ---- routing --------------------------------------------------------------------------------

function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  const parameters = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean);
  for (const link of document.querySelectorAll("header nav a")) {
    link.classList.toggle("active", link.dataset.page === (parts[0] || "sweep"));
  }
  stopRefresh();
  if (parts.length === 0) return sweepPage();
  if (parts[0] === "samples" && parts.length === 1) return samplesPage(parameters);
  if (parts[0] === "compare" && parts.length === 1) return comparePage(parameters);
  if (parts[0] === "sample" && parts.length === 2 && /^\d+$/.test(parts[1])) {
    return samplePage(Number(parts[1]), parameters);
  }
  show(h("h1", {}, "No such page"), h("p", {}, h("a", { href: "#/" }, "Back to the sweep")));
}

let refreshTimer = null;
function stopRefresh() {
  if (refreshTimer) clearTimeout(refreshTimer);
  refreshTimer = null;
}

// ---- the sweep --------------------------------------------------------------------------------

async function sweepPage() {
  let sweep;
  try {
    sweep = await load("sweep");
  } catch (error) {
    return failed(error);
  }
  const report = sweep.report;
  document.getElementById("sweep-name").textContent = report ? report.name : "";
  document.title = "grsu view · " + (report ? report.name : "sweep");
  const parts = [h("h1", {}, report ? report.name : "Sweep")];
  if (sweep.note) parts.push(h("p", { class: "muted", id: "store-note" }, sweep.note));
  parts.push(progressBox(sweep.progress, sweep.running));
  if (report) {
    parts.push(
      h("p", { class: "muted" },
        `sweep ${report.sweep_hash} · seeds ${report.seeds.join(", ")} · ` +
        `baseline ${report.baseline || "none"} · ${report.methods.length} methods`),
      h("h2", {}, "Methods"),
      methodsTable(report),
      h("p", { class: "legend" },
        "mean ± std over seeds; * significantly better, † significantly worse than the baseline " +
        "(paired t-test per sample, Holm-adjusted p < 0.05 over the methods of a column); [low, high]: bootstrap 95 % " +
        "interval of the mean; hover a value for Δ to the baseline, d_z, raw and adjusted p, Wilcoxon p."),
      h("h2", {}, "Cells"),
      cellsTable(report),
      h("p", { class: "muted" },
        `${report.sharing.cells} cells over ${report.sharing.searches} searches: ` +
        `${integer(report.sharing.calls_made)} model calls made, ` +
        `${integer(report.sharing.calls_alone)} if each cell ran alone ` +
        `(${integer(report.sharing.calls_saved)} saved by sharing).`),
      h("h2", { id: "diagnostics" }, "Diagnostics"),
      diagnostics(report),
    );
  }
  show(parts);
  if (!BUNDLE && sweep.running) {
    refreshTimer = setTimeout(() => { if (location.hash.replace(/^#/, "") in { "": 1, "/": 1 }) sweepPage(); }, 2000);
  }
}

function progressBox(progress, running) {
  if (!progress) return null;
  const finished = progress.done + progress.failed + progress.skipped;
  const share = progress.total + progress.skipped > 0 ? finished / (progress.total + progress.skipped) : 0;
  const roles = Object.entries(progress.roles || {}).map(([role, counts]) =>
    `${role}: ${integer(counts.calls)} calls, ${integer(counts.cache_hits)} cached, ${integer(counts.errors)} errors`);
  return h("div", { class: "progress", id: "progress" },
    h("strong", {}, running ? "Running" : "Last run"),
    ` · ${integer(progress.done)} done, ${integer(progress.failed)} failed, ${integer(progress.skipped)} already stored` +
    ` of ${integer(progress.total + progress.skipped)} · ${progress.elapsed_s.toFixed(0)} s`,
    h("div", { class: "bar" }, h("div", { style: `width: ${(100 * share).toFixed(1)}%` })),
    h("div", { class: "muted" }, roles.join(" · ")),
    running ? h("div", { class: "muted" }, "refreshing every 2 s; results appear when the run releases the store") : null);
}

function methodsTable(report) {
  const head = h("tr", {}, h("th", { class: "text" }, "method"), h("th", {}, "samples"),
    report.columns.map((column) => h("th", {}, column)),
    h("th", {}, "calls"), h("th", {}, "tokens"), h("th", { title: "wall time of its samples, added up" }, "sample-seconds"));
  const rows = report.methods.map((method) => h("tr", {},
    h("td", { class: "text" }, method.name, method.name === report.baseline ? h("span", { class: "muted" }, " (baseline)") : null),
    h("td", {}, integer(method.samples)),
    method.columns.map((column) => h("td", { title: columnDetails(column) },
      number(column.mean), method.seeds.length > 1 ? " ± " + number(column.std) : "",
      h("span", { class: "sig" + (column.significance === "worse" ? " worse" : "") }, marker(column.significance)),
      column.interval ? h("div", { class: "muted" }, `[${number(column.interval[0], 3)}, ${number(column.interval[1], 3)}]`) : null)),
    h("td", {}, integer(method.cost.calls)),
    h("td", {}, integer(method.cost.prompt_tokens + method.cost.completion_tokens)),
    h("td", {}, seconds(method.cost.wall_ms))));
  return h("table", { id: "methods" }, h("thead", {}, head), h("tbody", {}, rows));
}

// A column's tests against the baseline, for its tooltip.
function columnDetails(column) {
  const parts = [];
  if (column.interval) parts.push(`bootstrap 95 % interval [${number(column.interval[0])}, ${number(column.interval[1])}]`);
  if (column.difference) {
    const d = column.difference;
    parts.push(`Δ vs baseline ${number(d.mean)}` + (d.interval ? ` [${number(d.interval[0])}, ${number(d.interval[1])}]` : "") +
      (d.d_z !== null && d.d_z !== undefined ? `, d_z ${d.d_z.toFixed(2)}` : ""));
  }
  if (column.p_value !== null && column.p_value !== undefined) {
    parts.push(`t-test p ${column.p_value.toExponential(2)}` +
      (column.p_holm !== null && column.p_holm !== undefined ? `, Holm-adjusted ${column.p_holm.toExponential(2)} (family of ${column.holm_family})` : ""));
  }
  if (column.wilcoxon) parts.push(`Wilcoxon signed-rank p ${column.wilcoxon.p_value.toExponential(2)}`);
  return parts.join("\n");
}

function cellsTable(report) {
  const head = h("tr", {}, ["cell", "search", "done", "calls", "cache hits", "tokens", "errors", "last error"]
    .map((label, index) => h("th", { class: index === 0 || index === 7 ? "text" : null }, label)));
  const rows = report.cells.map((cell) => h("tr", {},
    h("td", { class: "text" }, cell.cell), h("td", {}, cell.search),
    h("td", {}, `${integer(cell.done)} / ${integer(cell.total)}`),
    h("td", {}, integer(cell.calls)), h("td", {}, integer(cell.cache_hits)),
    h("td", {}, integer(cell.prompt_tokens + cell.completion_tokens)),
    h("td", { class: cell.errors ? "error" : null }, integer(cell.errors)),
    h("td", { class: "text" }, cell.last_error || "")));
  return h("table", { id: "cells" }, h("thead", {}, head), h("tbody", {}, rows));
}

// A diagnostic value: `{value}` or `{undefined: reason}` (shown as – with the reason on hover).
function stat(value, digits = 3, percent = false) {
  if (!value) return h("span", { class: "muted" }, "–");
  if (value.undefined !== undefined) return h("span", { class: "muted", title: value.undefined }, "–");
  return percent ? `${(100 * value.value).toFixed(1)} %` : number(value.value, digits);
}

function diagnosticsTable(id, head, rows) {
  return h("table", { id, class: "diagnostics" },
    h("thead", {}, h("tr", {}, head.map((label, index) => h("th", { class: index === 0 ? "text" : null }, label)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell, index) => h("td", { class: index === 0 ? "text" : null }, cell))))));
}

// The diagnostics of each cell (`grsu report`'s, from the store): the simulated user's scores,
// its critiques, the CRS and the search.
function diagnostics(report) {
  const cells = report.diagnostics || [];
  if (cells.length === 0) {
    return h("div", { class: "placeholder" }, "This report has no diagnostics (no finished sample yet).");
  }
  const primary = (cell) => (cell.all.search.oracle || []).find((entry) => entry.k === 10) || null;
  return [
    h("p", { class: "legend" },
      "Labels are only the items the human recommender named, so the “other” items include unknown positives: " +
      "AUC and average precision are lower bounds of how well the simulated user separates what the seeker wants."),
    h("h3", {}, "Scores of the simulated user: label items against the other scored items"),
    diagnosticsTable("diagnostics-scoring",
      ["cell", "scores", "label pairs", "AUC", "avg. precision", "mean score (labels)", "mean score (others)", "ECE", "Brier", "invalid / score", "unreadable", "score distributions and reliability"],
      cells.map((cell) => {
        const scoring = cell.all.scoring;
        return [cell.cell, integer(scoring.scores), integer(scoring.label_pairs), stat(scoring.auc), stat(scoring.average_precision),
          stat(scoring.mean_label_score), stat(scoring.mean_other_score), stat(scoring.ece), stat(scoring.brier),
          stat(scoring.invalid_answers_per_score), stat(scoring.unreadable_share, 3, true),
          h("span", { class: "sparks" }, histogramPicture(scoring), reliabilityPicture(scoring))];
      })),
    h("h3", {}, "Critiques"),
    diagnosticsTable("diagnostics-critiques",
      ["cell", "critiques", "mean words", "names an attribute of its list", "names an attribute of a label", "names a label", "repeats an earlier one", "invalid answers"],
      cells.map((cell) => {
        const critiques = cell.all.critiques;
        return [cell.cell, integer(critiques.critiques), stat(critiques.mean_words, 1), stat(critiques.names_list_attribute, 1, true),
          stat(critiques.names_label_attribute, 1, true), stat(critiques.names_label_title, 1, true),
          stat(critiques.repeats_earlier, 1, true), stat(critiques.invalid_share, 1, true)];
      })),
    h("h3", {}, "The CRS"),
    diagnosticsTable("diagnostics-crs",
      ["cell", "answers", "invalid / request", "titles", "matched below 80", "below 90", "duplicate titles", "repeated from the revised list"],
      cells.map((cell) => {
        const crs = cell.all.crs;
        return [cell.cell, integer(crs.answers), stat(crs.invalid_per_request), integer(crs.titles), stat(crs.below_80, 1, true),
          stat(crs.below_90, 1, true), stat(crs.duplicate_titles, 1, true), stat(crs.repeated_from_parent, 1, true)];
      })),
    h("h3", {}, "The search"),
    diagnosticsTable("diagnostics-search",
      ["cell", "Spearman ρ (reward, recall of a list)", "mean reward, kept lists by depth", "oracle Recall@10", "reached", "search loss", "ranking loss"],
      cells.map((cell) => {
        const search = cell.all.search, best = primary(cell);
        return [cell.cell, stat(search.reward_recall_spearman),
          (search.by_depth || []).map((depth) => depth.kept_mean_reward && depth.kept_mean_reward.value !== undefined ? depth.kept_mean_reward.value.toFixed(3) : "–").join(" → "),
          best ? number(best.oracle, 3) : "–", best ? `${number(best.achieved, 3)} (${best.strategy})` : "–",
          best ? number(best.search_loss, 3) : "–", best ? number(best.ranking_loss, 3) : "–"];
      })),
  ];
}

// Two histograms of scores (labels in blue, others in orange, as in the report), each scaled to its
// own largest bin.
function histogramPicture(scoring) {
  const width = 120, height = 34, labels = scoring.histogram_labels || [], others = scoring.histogram_others || [];
  const bins = Math.max(labels.length, others.length);
  const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "spark" },
    s("title", {}, "score histograms, each as a share of its group: label items (blue) and other scored items (orange), from 0 to 1"));
  if (bins === 0) return svg;
  const bar = width / bins;
  for (const [counts, colour, offset] of [[labels, "#0072b2", 0], [others, "#d55e00", bar / 2]]) {
    const top = Math.max(1, ...counts);
    counts.forEach((count, bin) => svg.append(s("rect", {
      x: bin * bar + offset, y: height - (height - 2) * count / top, width: bar / 2, height: (height - 2) * count / top, fill: colour,
    })));
  }
  return svg;
}

// The reliability diagram: per score bin, the share of label items against the mean score.
function reliabilityPicture(scoring) {
  const size = 34, bins = (scoring.calibration || []).filter((bin) => bin.count > 0);
  const svg = s("svg", { width: size, height: size, viewBox: `0 0 ${size} ${size}`, class: "spark" },
    s("title", {}, "reliability: share of label items (y) against the mean score (x) per score bin; the diagonal is perfect calibration"),
    s("rect", { x: 0, y: 0, width: size, height: size, fill: "none", stroke: "#d6dae1" }),
    s("line", { x1: 0, y1: size, x2: size, y2: 0, stroke: "#aab1bd", "stroke-dasharray": "2 2" }));
  const points = bins.map((bin) => `${(size * bin.mean_score).toFixed(1)},${(size * (1 - bin.label_share)).toFixed(1)}`).join(" ");
  if (points) svg.append(s("polyline", { points, fill: "none", stroke: "#0072b2", "stroke-width": 1.5 }));
  return svg;
}

// ---- the samples ------------------------------------------------------------------------------

// The methods a table shows by default: at most six.
function defaultMethods(table) {
  return table.methods.slice(0, 6).map((_, index) => index);
}

function valueOf(table, row, method, metric) {
  return row.values[method * table.metrics.length + metric];
}

async function samplesPage(parameters) {
  let table;
  try {
    table = await load("samples");
  } catch (error) {
    return failed(error);
  }
  const shown = parameters.has("methods")
    ? parameters.get("methods").split(",").map(Number).filter((index) => index >= 0 && index < table.methods.length)
    : defaultMethods(table);
  const state = { filter: parameters.get("q") || "", sort: parameters.get("sort") || "index", descending: parameters.get("desc") === "1" };
  const filterBox = h("input", { type: "search", placeholder: "filter by id or label", value: state.filter, id: "filter" });
  const count = h("span", { class: "muted", id: "row-count" });
  const picker = h("select", { multiple: true, size: Math.min(6, table.methods.length), id: "method-picker", title: "methods shown (ctrl-click for several)" },
    table.methods.map((method, index) => h("option", { value: index, selected: shown.includes(index) }, method.name)));
  const body = h("tbody", {});
  const head = h("thead", {});
  const tableElement = h("table", { id: "samples" }, head, body);

  const columns = () => {
    const list = [
      { key: "index", label: "#", value: (row, index) => index },
      { key: "id", label: "sample", text: true, value: (row) => row.id },
      { key: "labels", label: "labels", text: true, value: (row) => row.labels.join("; ") },
    ];
    for (const method of shown) {
      table.metrics.forEach((metric, metricIndex) => list.push({
        key: `m${method}.${metricIndex}`, label: metric, method,
        value: (row) => valueOf(table, row, method, metricIndex), numeric: true,
      }));
    }
    list.push({ key: "wall", label: "wall", value: (row) => row.wall_ms, format: seconds, numeric: true });
    list.push({ key: "calls", label: "calls", value: (row) => row.calls, format: integer, numeric: true });
    return list;
  };

  let cachedShape = null, cachedRows = new Map();
  // Two header rows: the methods over their metrics; every other column spans both.
  const render = () => {
    const list = columns();
    const sortable = (column, extra) => h("th", {
      class: "sortable" + (column.text ? " text" : ""), "data-key": column.key, ...extra,
      onclick: () => {
        state.descending = state.sort === column.key ? !state.descending : column.numeric === true;
        state.sort = column.key;
        render();
      },
    }, column.label, state.sort === column.key ? (state.descending ? " ▼" : " ▲") : "");
    const top = h("tr", {}), bottom = h("tr", {});
    for (const column of list) {
      if (column.method === undefined) top.append(sortable(column, { rowspan: 2 }));
      else bottom.append(sortable(column, { class: "sortable metric" }));
    }
    const firstMethodColumn = list.findIndex((column) => column.method !== undefined);
    const methodHeads = shown.map((method) => h("th", { colspan: table.metrics.length, class: "method" }, table.methods[method].name));
    if (firstMethodColumn >= 0) top.insertBefore(append(document.createDocumentFragment(), methodHeads), top.children[firstMethodColumn]);
    head.replaceChildren(top, bottom);
    const needle = state.filter.trim().toLowerCase();
    let rows = table.rows.map((row, index) => ({ row, index }));
    if (needle) {
      rows = rows.filter(({ row }) => row.id.toLowerCase().includes(needle) ||
        row.labels.some((label) => label.toLowerCase().includes(needle)));
    }
    const sortColumn = list.find((column) => column.key === state.sort) || list[0];
    rows.sort((a, b) => {
      const x = sortColumn.value(a.row, a.index), y = sortColumn.value(b.row, b.index);
      const order = x === y ? a.index - b.index : x === null || x === undefined ? 1 : y === null || y === undefined ? -1 : x < y ? -1 : 1;
      return state.descending ? -order : order;
    });
    // Rows are built once per choice of methods; sorting and filtering only reorder them.
    const shape = shown.join(",");
    if (cachedShape !== shape) {
      cachedShape = shape;
      cachedRows = new Map();
    }
    const element = (row, index) => {
      let tr = cachedRows.get(index);
      if (!tr) {
        tr = h("tr", { "data-index": index }, list.map((column) => {
          if (column.key === "id") return h("td", { class: "text id" }, h("a", { href: `#/sample/${index}` }, row.id));
          const value = column.value(row, index);
          const zero = column.method !== undefined && (value === 0 || value === null);
          return h("td", { class: (column.text ? "text" : "") + (column.key === "labels" ? " labels" : "") + (zero ? " zero" : "") || null },
            column.format ? column.format(value) : column.numeric ? number(value, 3) : value);
        }));
        cachedRows.set(index, tr);
      }
      return tr;
    };
    body.replaceChildren(...rows.map(({ row, index }) => element(row, index)));
    count.textContent = `${rows.length} of ${table.rows.length} samples`;
    // Milliseconds from the page's start to this table drawn (read by the load benchmark).
    document.body.dataset.samplesDrawnMs = Math.round(performance.now());
    // … and to the first frame after it (layout and paint done).
    requestAnimationFrame(() => setTimeout(() => {
      document.body.dataset.samplesPaintedMs = Math.round(performance.now());
    }));
  };
  filterBox.addEventListener("input", () => { state.filter = filterBox.value; render(); });
  picker.addEventListener("change", () => {
    shown.splice(0, shown.length, ...Array.from(picker.selectedOptions).map((option) => Number(option.value)));
    render();
  });
  show(h("h1", {}, "Samples"),
    h("div", { class: "controls" }, filterBox, count, h("label", {}, "methods"), picker,
      h("a", { href: "#/compare" }, "compare two methods →")),
    tableElement);
  render();
}

// ---- two methods compared ---------------------------------------------------------------------

async function comparePage(parameters) {
  let table;
  try {
    table = await load("samples");
  } catch (error) {
    return failed(error);
  }
  const count = table.methods.length;
  const pick = (name, fallback) => {
    const value = Number(parameters.get(name));
    return Number.isInteger(value) && value >= 0 && value < count ? value : fallback;
  };
  let a = pick("a", 0), b = pick("b", Math.min(1, count - 1)), metric = Math.min(pick("metric", 1), table.metrics.length - 1);
  const menu = (id, selected) => h("select", { id },
    table.methods.map((method, index) => h("option", { value: index, selected: index === selected }, method.name)));
  const menuA = menu("method-a", a), menuB = menu("method-b", b);
  const metricMenu = h("select", { id: "metric" }, table.metrics.map((label, index) => h("option", { value: index, selected: index === metric }, label)));
  const result = h("div", {});
  const update = () => {
    a = Number(menuA.value); b = Number(menuB.value); metric = Number(metricMenu.value);
    history.replaceState(null, "", `#/compare?a=${a}&b=${b}&metric=${metric}`);
    const pairs = [];
    table.rows.forEach((row, index) => {
      const x = valueOf(table, row, a, metric), y = valueOf(table, row, b, metric);
      if (x !== null && y !== null) pairs.push({ row, index, x, y, difference: x - y });
    });
    pairs.sort((p, q) => q.difference - p.difference || p.index - q.index);
    const wins = pairs.filter((pair) => pair.difference > 0).length;
    const losses = pairs.filter((pair) => pair.difference < 0).length;
    const mean = pairs.length ? pairs.reduce((sum, pair) => sum + pair.difference, 0) / pairs.length : 0;
    const nameA = table.methods[a].name, nameB = table.methods[b].name, label = table.metrics[metric];
    result.replaceChildren(
      h("p", { id: "compare-summary" },
        `${pairs.length} paired samples: `, h("strong", {}, nameA), ` better on ${wins}, `,
        h("strong", {}, nameB), ` better on ${losses}, ${pairs.length - wins - losses} ties; ` +
        `mean difference of ${label} ${number(mean)}.`),
      h("table", { id: "comparison" },
        h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", { class: "text" }, "sample"),
          h("th", {}, `${nameA}`), h("th", {}, `${nameB}`), h("th", {}, `difference (${label})`))),
        h("tbody", {}, pairs.map((pair) => h("tr", { "data-index": pair.index },
          h("td", {}, pair.index),
          h("td", { class: "text id" }, h("a", { href: `#/sample/${pair.index}` }, pair.row.id)),
          h("td", {}, number(pair.x, 3)), h("td", {}, number(pair.y, 3)),
          h("td", { class: pair.difference > 0 ? "diff-pos" : pair.difference < 0 ? "diff-neg" : null },
            (pair.difference > 0 ? "+" : "") + number(pair.difference, 3)))))));
  };
  for (const element of [menuA, menuB, metricMenu]) element.addEventListener("change", update);
  show(h("h1", {}, "Two methods, sample by sample"),
    h("div", { class: "controls" }, h("label", {}, "A"), menuA, h("label", {}, "B"), menuB, h("label", {}, "metric"), metricMenu),
    h("p", { class: "legend" }, "Per-sample differences A − B (each sample's value averaged over seeds): the pairs behind the paired t-test, largest win of A first."),
    result);
  update();
}

// ---- one sample -------------------------------------------------------------------------------

async function samplePage(index, parameters) {
  let page;
  try {
    page = await load(`sample/${index}`);
  } catch (error) {
    return failed(error);
  }
  const searchIndex = Math.min(Number(parameters.get("search")) || 0, Math.max(page.searches.length - 1, 0));
  const labels = new Set(page.labels);
  const parts = [
    h("p", {}, h("a", { href: "#/samples" }, "← samples"),
      index > 0 ? [" · ", h("a", { href: `#/sample/${index - 1}` }, "previous")] : null,
      " · ", h("a", { href: `#/sample/${index + 1}` }, "next")),
    h("h1", {}, "Sample ", page.id),
    h("div", { class: "chips", id: "labels" }, h("strong", {}, "labels: "), page.labels.map((label) => h("span", {}, label))),
    h("h2", {}, "Conversation"),
    page.history.length
      ? h("div", { class: "chat", id: "chat" }, page.history.map((turn) =>
        h("div", { class: "turn " + (turn.role === "user" ? "user" : "recommender") },
          h("span", { class: "who" }, turn.role === "user" ? "seeker" : "recommender"), turn.text)))
      : h("p", { class: "muted" }, "The store does not hold this sample's conversation (written by an older grsu)."),
  ];
  if (page.searches.length === 0) {
    parts.push(h("p", { class: "muted" }, "No finished search of this sample yet."));
    return show(parts);
  }
  parts.push(h("h2", {}, "Searches"), h("div", { class: "tabs" }, page.searches.map((search, position) =>
    h("button", {
      class: position === searchIndex ? "active" : null,
      onclick: () => { location.hash = `#/sample/${index}?search=${position}`; },
    }, `${search.cells.join(", ")} · seed ${search.seed}`))));
  const search = page.searches[searchIndex];
  const detail = h("div", { class: "detail", id: "node-detail" }, h("p", { class: "muted" }, "Click a list in the tree to read it."));
  const select = (node) => {
    history.replaceState(null, "", `#/sample/${index}?search=${searchIndex}&node=${node.id}`);
    showNode(detail, node, search, page, index);
  };
  const tree = treePicture(search, labels, select);
  const chosen = Number(parameters.get("node"));
  if (parameters.has("node") && Number.isInteger(chosen) && search.nodes[chosen]) {
    tree.querySelector(`[data-node="${chosen}"]`).classList.add("selected");
    showNode(detail, search.nodes[chosen], search, page, index);
    // `&open=K`: the raw answers and prompts of the node's K-th request, opened.
    const opened = detail.querySelectorAll("button.link")[Number(parameters.get("open"))];
    if (parameters.has("open") && opened) opened.click();
  }
  parts.push(h("h2", {}, "Search tree"),
    h("p", { class: "legend" },
      `${search.nodes.length} lists to depth ${search.searched_depth || "–"}; box = list with its reward (mean item score; darker = higher, ` +
      `from ${rewardRange(search)}), ` +
      "★ = label items in it, thick border = kept by the beam, hover an edge for the critique that produced the list. " +
      `${integer(Object.values(search.calls).reduce((sum, counts) => sum + counts.calls, 0))} model calls, ${seconds(search.wall_ms)}.`),
    h("div", { class: "tree-wrap" }, h("div", { class: "tree-box" }, tree), detail),
    h("h2", {}, "Final rankings"),
    h("div", { class: "rankings", id: "rankings" }, search.rankings.map((ranking) => h("div", { class: "ranking" },
      h("h3", {}, ranking.method),
      h("div", { class: "muted" }, ranking.metrics.map(([label, value]) => `${label} ${number(value, 3)}`).join(" · ")),
      h("ol", {}, ranking.items.map((item, position) => h("li", { class: ranking.hits[position] ? "hit" : null }, item))),
      ranking.length > ranking.items.length ? h("div", { class: "muted" }, `… ${ranking.length - ranking.items.length} more`) : null))));
  show(parts);
}

function rewardRange(search) {
  const rewards = search.nodes.map((node) => node.reward).filter((reward) => reward !== null);
  return rewards.length ? `${Math.min(...rewards).toFixed(3)} to ${Math.max(...rewards).toFixed(3)}` : "no scores";
}

// The tree as SVG: depth along x, the conversation at the left, one row per leaf.
function treePicture(search, labels, onSelect) {
  const columnWidth = 150, rowHeight = 23, boxWidth = 112, boxHeight = 18, margin = 16;
  const layout = search.layout;
  const width = margin * 2 + (layout.columns + 1) * columnWidth;
  const height = margin * 2 + layout.rows * rowHeight;
  const x = (column) => margin + column * columnWidth;
  const y = (row) => margin + row * rowHeight + rowHeight / 2;
  // Shades spread over this tree's rewards, so that close rewards still look different.
  const rewards = search.nodes.map((node) => node.reward).filter((reward) => reward !== null);
  const lowest = Math.min(...rewards), highest = Math.max(...rewards);
  const svg = s("svg", { class: "tree", id: "tree", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "search tree" });
  const edges = s("g", {}), boxes = s("g", {});
  svg.append(edges, boxes);
  const root = s("g", { class: "node root" },
    s("rect", { x: x(0), y: y(layout.root_row) - boxHeight / 2, width: boxWidth, height: boxHeight, rx: 4, fill: "#e9edf3" }),
    s("text", { x: x(0) + 8, y: y(layout.root_row) + 4 }, "conversation"));
  boxes.append(root);
  search.nodes.forEach((node, position) => {
    const place = layout.places[position];
    const parentPlace = node.parent === null ? { column: 0, row: layout.root_row } : layout.places[node.parent];
    const x0 = x(parentPlace.column) + boxWidth, y0 = y(parentPlace.row), x1 = x(place.column), y1 = y(place.row);
    const middle = (x0 + x1) / 2;
    edges.append(s("path", {
      class: "edge" + (node.kept ? " kept" : ""),
      d: `M${x0},${y0} C${middle},${y0} ${middle},${y1} ${x1},${y1}`,
    }, s("title", {}, node.critique ? "critique: " + node.critique : "sampled from the conversation")));
    const hits = node.hits.filter(Boolean).length;
    const shade = node.reward === null ? 0 : highest > lowest ? (node.reward - lowest) / (highest - lowest) : 0.5;
    const fill = `rgb(${Math.round(255 - 120 * shade)}, ${Math.round(255 - 70 * shade)}, 255)`;
    const group = s("g", {
      class: "node" + (node.kept ? " kept" : ""), "data-node": node.id, tabindex: 0,
      onclick: () => {
        for (const other of svg.querySelectorAll(".node.selected")) other.classList.remove("selected");
        group.classList.add("selected");
        onSelect(node);
      },
    },
    s("title", {}, `${node.path}: ${node.items.length} items` + (node.critique ? `\ncritique: ${node.critique}` : "")),
    s("rect", { x: x1, y: y1 - boxHeight / 2, width: boxWidth, height: boxHeight, rx: 4, fill }),
    s("text", { x: x1 + 6, y: y1 + 4 }, node.reward === null ? "unscored" : node.reward.toFixed(3), hits ? `  ★${hits}` : ""));
    boxes.append(group);
  });
  for (let depth = 0; depth <= layout.columns; depth++) {
    edges.append(s("text", { x: x(depth) + 4, y: 11, class: "muted" }, depth === 0 ? "" : `depth ${depth}`));
  }
  return svg;
}

function showNode(detail, node, search, page, sampleIndex) {
  const parent = node.parent === null ? null : search.nodes[node.parent];
  detail.replaceChildren();
  append(detail, [
    h("h3", {}, `List ${node.path}`, node.kept ? " · kept" : ""),
    h("div", { class: "muted" }, `reward ${node.reward === null ? "–" : node.reward.toFixed(4)} · depth ${node.depth}` +
      (parent ? ` · revises ${parent.path}` : " · sampled from the conversation")),
    node.critique ? [h("h3", {}, "Critique that produced it"), h("div", { class: "critique" }, node.critique)] : null,
    h("h3", {}, "Items (score)"),
    h("ol", {}, node.items.map((item, position) => h("li", { class: node.hits[position] ? "hit" : null },
      item, node.scores ? h("span", { class: "muted" }, `  ${node.scores[position].toFixed(3)}`) : null))),
    h("h3", {}, "Model requests"),
    node.requests.length === 0 ? h("p", { class: "muted" }, "none recorded") :
      h("ul", {}, node.requests.map(([key, requests]) => h("li", {},
        `${key} (${requests.role}, ${requests.keys.length} ${requests.keys.length === 1 ? "answer" : "answers"}) `,
        h("button", { class: "link", onclick: (event) => rawAnswers(event.target, requests.keys, sampleIndex, requestNames(key, requests, node)) }, "prompt and raw answer")))),
  ]);
}

// What each model request of a search request was: a score request asks one item per model
// request (when none was asked again, they line up with the list); otherwise they are attempts.
function requestNames(key, requests, node) {
  const perItem = key.startsWith("score/") && requests.keys.length === node.items.length;
  return requests.keys.map((_, position) => perItem
    ? `item ${position + 1}: ${node.items[position]}` + (node.scores ? ` (score ${node.scores[position].toFixed(3)})` : "")
    : `attempt ${position + 1}`);
}

async function rawAnswers(button, keys, sampleIndex, names) {
  const holder = h("div", {});
  button.replaceWith(holder);
  let answers;
  try {
    answers = await load(`answers/${sampleIndex}`);
  } catch (error) {
    holder.append(h("p", { class: "error" }, error.message));
    return;
  }
  for (const note of answers.prompt_notes || []) holder.append(h("p", { class: "muted" }, note));
  keys.forEach((key, attempt) => {
    const answer = answers.answers ? answers.answers[key] : undefined;
    const prompt = answers.prompts ? answers.prompts[key] : undefined;
    holder.append(h("div", { class: "request-name" }, names[attempt], h("span", { class: "muted" }, ` · cache key ${key}`)));
    if (prompt) {
      const settings = ["n", "temperature", "seed", "max_tokens", "stop", "logprobs", "top_logprobs", "continue_final_message"]
        .filter((name) => prompt[name] !== undefined && prompt[name] !== null)
        .map((name) => `${name} = ${JSON.stringify(prompt[name])}`).join(", ");
      holder.append(h("details", { class: "prompt" }, h("summary", {}, "prompt (rebuilt by replay; its cache key found this answer)"),
        h("div", { class: "muted" }, settings),
        (prompt.messages || []).map((message) => [h("div", { class: "muted" }, message.role),
          h("pre", { class: "raw prompt-text" }, message.content)])));
    }
    if (answer === undefined) {
      holder.append(h("p", { class: "muted" }, "not in the response cache"));
      return;
    }
    const texts = (answer.choices || []).map((choice, position) =>
      h("div", {}, h("strong", {}, `choice ${position}` + (choice.finish_reason ? ` (${choice.finish_reason})` : "")),
        h("pre", { class: "raw" }, choice.text !== undefined ? choice.text : JSON.stringify(choice, null, 1))));
    holder.append(...texts, h("details", {}, h("summary", {}, "whole response"), h("pre", { class: "raw" }, JSON.stringify(answer, null, 1))));
  });
}

window.addEventListener("hashchange", route);
route();
