// The turingformer player (views/player.py writes the data; plain JavaScript, no library).
// mountPlayer(root, data, options) builds the DOM once inside root and redraws it for a step;
// the `animate` page, the `serve` page and the notebook widget all call it. It shows a Turing
// machine on the Pérez transformer (data.kind "perez") or a program on the looped transformer
// (data.kind "looped"). root carries data-step, data-steps, data-state and data-head
// (simulate --json's numbering; for a program data-state is the pc) for scripts and tests.
"use strict";

function tfElement(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// ------------------------------------------------------------------ the URL fragment
// The fragment holds key=value pairs: step=30 (a deep link to a step) and, for `serve`,
// m=... (a share link: the machine and input, compressed).
function tfFragment() { return new URLSearchParams(location.hash.replace(/^#/, "")); }

function tfSetFragment(params) {
  const text = params.toString(), hash = text ? "#" + text : "";
  if (location.hash === hash || (!hash && !location.hash)) return;
  try { history.replaceState(null, "", location.pathname + location.search + hash); }
  catch (error) { location.replace(hash || "#"); }          // file:// pages in some browsers
}

// A share link's payload: {v: 1, file, source, input} as UTF-8 JSON, raw-deflated, base64url.
async function tfEncodeShare(payload) {
  const bytes = new TextEncoder().encode(JSON.stringify(payload));
  const packed = await new Response(new Blob([bytes]).stream().pipeThrough(new CompressionStream("deflate-raw"))).arrayBuffer();
  let binary = "";
  for (const b of new Uint8Array(packed)) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function tfDecodeShare(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(b64 + "===".slice((b64.length + 3) % 4));
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  const plain = await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"))).text();
  const payload = JSON.parse(plain);
  if (!payload || typeof payload.source !== "string") throw new Error("not a turingformer share link");
  return payload;
}

//: Where a static page sends "edit this in serve" links (`turingformer serve`'s default address).
const TF_SERVE_URL = "http://127.0.0.1:8000/";

// ------------------------------------------------------------------ the player
function mountPlayer(root, data, options) {
  options = options || {};
  const el = tfElement;
  const T = data.steps;
  root.classList.add("tf-player");
  root.innerHTML = "";
  root.setAttribute("data-steps", String(T));
  const cleanups = [];
  const listen = (target, type, handler) => {
    target.addEventListener(type, handler);
    cleanups.push(() => target.removeEventListener(type, handler));
  };

  const controls = el("div", {class: "tf-controls"});
  const button = (label, text, title) => el("button", {type: "button", "aria-label": label, title: title}, text);
  const first = button("first step", "|\u25C0", "first step (Home)");
  const back = button("step back", "\u25C0", "step back (\u2190)");
  const play = button("play", "\u25B6 play", "play (space)");
  const pause = button("pause", "|| pause", "pause (space)");
  const fwd = button("step forward", "\u25B6", "step forward (\u2192)");
  const last = button("last step", "\u25B6|", "last step (End)");
  const slider = el("input", {type: "range", min: "0", max: String(T), value: "0", class: "tf-slider",
                              "aria-label": "step"});
  const speed = el("input", {type: "range", min: "0", max: "100", value: "40", class: "tf-speed",
                             "aria-label": "speed"});
  const speedText = el("span", {class: "tf-help"});
  const stepno = el("span", {class: "tf-stepno", "aria-live": "polite"});
  const speedBox = el("span", {class: "tf-speedbox"});
  speedBox.append(el("span", {class: "tf-help"}, "speed"), speed, speedText);
  controls.append(first, back, play, pause, fwd, last, slider, stepno, speedBox);
  const notice = el("div", {class: "tf-notice", hidden: ""});
  root.append(controls, notice);

  const view = (data.kind === "looped" ? loopedView : machineView)(root, data, el, listen);
  root.append(el("div", {class: "tf-help"},
    "Keys: \u2190 / \u2192 step, space play/pause, Home / End; #step=N in the address opens step N. " + data.summary));

  // ---------------------------------------------------------------- stepping
  let t = 0, playing = false, fragmentTimer = null;
  function render() {
    root.setAttribute("data-step", String(t));
    slider.value = String(t);
    stepno.textContent = (data.kind === "looped" ? "loop " : "step ") + t + " / " + T;
    view.render(t);
    if (options.fragment) {
      clearTimeout(fragmentTimer);
      fragmentTimer = setTimeout(() => {
        const params = tfFragment();
        if (params.get("step") === String(t)) return;
        params.set("step", String(t));
        tfSetFragment(params);
      }, playing ? 250 : 0);
    }
  }
  function go(step) { t = Math.max(0, Math.min(T, Math.floor(+step) || 0)); render(); }
  const rate = () => Math.round(Math.pow(10, (+speed.value) / 100 * 3 - 0.3) * 10) / 10;   // 0.5 .. 500 steps/s
  speedText.textContent = rate() + " steps/s";
  let clock = null, carry = 0;
  function frame(now) {
    if (!playing) return;
    if (clock !== null) {
      carry += (now - clock) / 1000 * rate();
      const whole = Math.floor(carry);
      if (whole) { carry -= whole; go(t + whole); }
    }
    clock = now;
    if (t >= T) { stop(); return; }
    requestAnimationFrame(frame);
  }
  function start() { if (t >= T) go(0); playing = true; clock = null; carry = 1; root.setAttribute("data-playing", "1"); requestAnimationFrame(frame); }
  function stop() { playing = false; root.setAttribute("data-playing", "0"); }
  listen(first, "click", () => { stop(); go(0); });
  listen(back, "click", () => { stop(); go(t - 1); });
  listen(fwd, "click", () => { stop(); go(t + 1); });
  listen(last, "click", () => { stop(); go(T); });
  listen(play, "click", start);
  listen(pause, "click", stop);
  listen(slider, "input", () => { stop(); go(+slider.value); });
  listen(speed, "input", () => { speedText.textContent = rate() + " steps/s"; });
  const keys = options.keyboard || root;
  if (keys === root) root.tabIndex = 0;
  listen(keys, "keydown", (event) => {
    const target = event.target;
    if (target && (target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && target.type !== "range"))) return;
    if (target && target.type === "range" && (event.key === "ArrowLeft" || event.key === "ArrowRight")) return;
    if (event.key === "ArrowRight") { stop(); go(t + 1); }
    else if (event.key === "ArrowLeft") { stop(); go(t - 1); }
    else if (event.key === " ") { playing ? stop() : start(); }
    else if (event.key === "Home") { stop(); go(0); }
    else if (event.key === "End") { stop(); go(T); }
    else return;
    event.preventDefault();
  });
  listen(window, "resize", () => view.render(t));
  root.setAttribute("data-playing", "0");

  // ---------------------------------------------------------------- deep links and share links
  if (options.fragment) {
    const fromFragment = () => {
      const step = tfFragment().get("step");
      if (step !== null && /^\d+$/.test(step) && +step !== t) { stop(); go(+step); }
    };
    listen(window, "hashchange", fromFragment);
    const params = tfFragment();
    if (params.get("step") !== null && /^\d+$/.test(params.get("step"))) t = Math.min(T, +params.get("step"));
    if (params.has("m") && !options.server) {
      // A static page cannot compile another machine: it says so and links to a local `serve`.
      notice.hidden = false;
      notice.append("This link carries a machine for turingformer serve; this page is a recorded run of " +
                    data.machine + " and cannot compile another one. Start ", el("code", {}, "turingformer serve"),
                    " and open ", el("a", {href: TF_SERVE_URL + "#m=" + params.get("m")}, "the link there"), ".");
    }
  }
  if (data.source && !options.server) {
    const share = el("a", {class: "tf-share", href: TF_SERVE_URL, title: "opens this machine and input in a local turingformer serve"},
                     "edit in turingformer serve \u2197");
    controls.append(share);
    const file = data.file || (data.kind === "looped" ? "program.subleq" : "machine.yaml");
    tfEncodeShare({v: 1, file, source: data.source, input: data.input || ""})
      .then((m) => { share.href = TF_SERVE_URL + "#m=" + m; }).catch(() => share.remove());
  }
  render();
  return {
    go, play: start, pause: stop, get step() { return t; },
    destroy() { stop(); clearTimeout(fragmentTimer); for (const undo of cleanups) undo(); root.innerHTML = ""; },
  };
}

// ------------------------------------------------------------------ drawing helpers
// A canvas row of `count` cells with `winners` filled; drawn at the canvas' displayed size and
// the screen's pixel ratio. data-cells says how many cells it has (tests read the pixels back).
function tfStrip(canvas, count, winners, colour) {
  const ratio = window.devicePixelRatio || 1;
  const cssWidth = Math.max(50, canvas.clientWidth || 600), cssHeight = canvas.clientHeight || 22;
  canvas.width = Math.round(cssWidth * ratio);
  canvas.height = Math.round(cssHeight * ratio);
  canvas.setAttribute("data-cells", String(count));
  const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, w, h);
  if (!count) {
    ctx.fillStyle = "#999"; ctx.font = Math.round(11 * ratio) + "px sans-serif";
    ctx.fillText("no positions to attend to", 6 * ratio, h * 0.68);
    return;
  }
  const cw = w / count, weight = 1 / Math.max(1, winners.length);
  ctx.fillStyle = "#f2f2f2"; ctx.fillRect(0, 0, w, h);
  ctx.fillStyle = colour || (weight === 1 ? "#d62728" : "rgba(31,119,180," + Math.max(0.25, weight) + ")");
  for (const j of winners) ctx.fillRect(Math.floor(j * cw), 0, Math.max(2, Math.ceil(cw)), h);
  if (cw >= 4 * ratio) {
    ctx.strokeStyle = "#fff"; ctx.lineWidth = ratio;
    for (let k = 1; k < count; k++) { ctx.beginPath(); ctx.moveTo(k * cw, 0); ctx.lineTo(k * cw, h); ctx.stroke(); }
  }
}

// The state diagram: fills its box, zooms (wheel, +, -) and pans (drag); "fit" shows it whole.
function tfDiagram(box, svgText, el, listen) {
  box.innerHTML = svgText || "";
  const svg = box.querySelector("svg");
  if (!svg) return null;
  const base = (svg.getAttribute("viewBox") || "0 0 100 100").split(/\s+/).map(Number);
  svg.removeAttribute("width");
  svg.removeAttribute("height");
  svg.setAttribute("preserveAspectRatio", "xMidYMid meet");
  // Fill the panel, but never above 1.8 times the drawn size: a small machine stays readable, not huge.
  svg.style.maxWidth = Math.round(base[2] * 1.8) + "px";
  svg.style.maxHeight = Math.round(base[3] * 1.8) + "px";
  let view = base.slice();
  const apply = () => svg.setAttribute("viewBox", view.map((v) => v.toFixed(1)).join(" "));
  const zoom = (factor, cx, cy) => {
    const w = view[2] * factor, h = view[3] * factor;
    if (w < base[2] / 8 || w > base[2] * 4) return;
    view = [cx - (cx - view[0]) * factor, cy - (cy - view[1]) * factor, w, h];
    apply();
  };
  const toUser = (event) => {
    const r = svg.getBoundingClientRect(), s = Math.max(view[2] / r.width, view[3] / r.height);
    const ox = (r.width * s - view[2]) / 2, oy = (r.height * s - view[3]) / 2;
    return [view[0] - ox + (event.clientX - r.left) * s, view[1] - oy + (event.clientY - r.top) * s, s];
  };
  listen(svg, "wheel", (event) => {
    event.preventDefault();
    const [x, y] = toUser(event);
    zoom(event.deltaY > 0 ? 1.15 : 1 / 1.15, x, y);
  });
  let drag = null;
  listen(svg, "pointerdown", (event) => { drag = [event.clientX, event.clientY]; svg.setPointerCapture(event.pointerId); });
  listen(svg, "pointermove", (event) => {
    if (!drag) return;
    const s = toUser(event)[2];
    view[0] -= (event.clientX - drag[0]) * s; view[1] -= (event.clientY - drag[1]) * s;
    drag = [event.clientX, event.clientY];
    apply();
  });
  listen(svg, "pointerup", () => { drag = null; });
  const tools = el("div", {class: "tf-zoom"});
  const tool = (label, text, action) => {
    const b = el("button", {type: "button", "aria-label": label, title: label}, text);
    listen(b, "click", action);
    tools.append(b);
  };
  tool("zoom in", "+", () => zoom(1 / 1.3, view[0] + view[2] / 2, view[1] + view[3] / 2));
  tool("zoom out", "\u2212", () => zoom(1.3, view[0] + view[2] / 2, view[1] + view[3] / 2));
  tool("fit the diagram", "fit", () => { view = base.slice(); apply(); });
  box.append(tools);
  return svg;
}

// ------------------------------------------------------------------ a Turing machine on the Pérez transformer
function machineView(root, data, el, listen) {
  const T = data.steps, K = data.snapshot, blank = data.symbols.indexOf(data.blank);
  const WINDOW = 31;                              // tape cells shown, the head kept in view
  const show = (s) => (s === " " ? "\u2423" : s);

  // the tape, replayed from the writes (a snapshot every K steps)
  let low = 0, high = Math.max(data.n - 1, 0);
  for (const h of data.head) { if (h < low) low = h; if (h > high) high = h; }
  const width = high - low + 1;
  const initial = new Uint16Array(width).fill(blank);
  for (let c = 0; c < data.n; c++) initial[c - low] = data.symbols.indexOf(data.input[c]);
  const snapshots = [initial.slice()];
  { const cells = initial.slice();
    for (let t = 0; t < T; t++) {
      cells[data.head[t] - low] = data.write[t];
      if ((t + 1) % K === 0) snapshots.push(cells.slice());
    } }
  function tapeAt(t) {
    const k = Math.floor(t / K), cells = snapshots[k].slice();
    for (let s = k * K; s < t; s++) cells[data.head[s] - low] = data.write[s];
    return cells;
  }
  const stepOf = new Map(data.position.map((i, t) => [i, t]));

  const grid = el("div", {class: "tf-grid"});
  const left = el("div", {class: "tf-main"}), right = el("div", {class: "tf-side"});
  grid.append(left, right);

  const tapePanel = el("div", {class: "tf-panel"});
  const tape = el("div", {class: "tf-tape"}), cellno = el("div", {class: "tf-cellno"});
  const cells = [], numbers = [];
  for (let k = 0; k < WINDOW; k++) {
    cells.push(tape.appendChild(el("div", {class: "tf-cell"})));
    numbers.push(cellno.appendChild(el("span")));
  }
  const status = el("div", {class: "tf-status"});
  const agree = el("div", {class: "tf-agree"});
  tapePanel.append(el("h3", {}, "Tape (the head's cell in red), state and the rule that fired"), tape, cellno,
                   status, agree);

  const diagramPanel = el("div", {class: "tf-panel tf-diagram-panel"});
  const diagramBox = el("div", {class: "tf-diagram-box"});
  diagramPanel.append(el("h3", {}, "State diagram: the current state and the rule that just fired " +
                         "(wheel or +/\u2212 to zoom, drag to pan)" +
                         (data.blank === "_" ? "; \u2423 on an arrow is the blank '_'" : "")), diagramBox);
  tfDiagram(diagramBox, data.diagram, el, listen);
  const nodes = new Map(), edgeSpans = new Map();
  for (const g of diagramBox.querySelectorAll("g.state")) nodes.set(g.getAttribute("data-state"), g);
  for (const g of diagramBox.querySelectorAll("g.edge")) {
    for (const span of g.querySelectorAll("tspan"))
      edgeSpans.set(g.getAttribute("data-from") + "\u0000" + span.getAttribute("data-read"), [g, span]);
  }

  const attnPanel = el("div", {class: "tf-panel tf-attn"});
  const position = el("div", {class: "tf-caption"});
  attnPanel.append(el("h3", {}, "Decoder attention at this position"), position);
  const rows = ["Layer 1 cross-attention (Lemma 7): reads input symbol min(i+1, n); one cell per encoder position 1..n",
                "Layer 2 (Lemma 9): the uniform average over j = 0..i, the head position",
                "Layer 3 (Lemma 10): the last write to the cell the head moves to; one cell per decoder position 0..i"].map((title, k) => {
    const row = el("div", {class: "tf-row"});
    const canvas = el("canvas", {class: "tf-layer-" + (k + 1), height: "22"});
    const caption = el("div", {class: "tf-caption"});
    row.append(el("div", {class: "tf-help"}, title), canvas, caption);
    attnPanel.append(row);
    return {canvas, caption};
  });
  left.append(tapePanel, diagramPanel, attnPanel);

  const residPanel = el("div", {class: "tf-panel tf-resid"});
  const stages = el("div", {class: "tf-stages", role: "radiogroup", "aria-label": "residual stage"});
  let stage = 3;
  const uid = "tf" + Math.random().toString(36).slice(2);
  data.stages.forEach((label, k) => {
    const id = uid + "-stage-" + k;
    const radio = el("input", {type: "radio", name: uid + "-stage", id, value: String(k)});
    if (k === stage) radio.checked = true;
    listen(radio, "change", () => { stage = k; render(current); });
    const wrap = el("label", {for: id});
    wrap.append(radio, document.createTextNode(" " + label));
    stages.append(wrap);
  });
  const residCaption = el("div", {class: "tf-help"});
  const table = el("table"), valueCells = [], residRows = [];
  for (const name of data.dims) {
    const tr = table.appendChild(el("tr"));
    tr.append(el("td", {}, name));
    valueCells.push(tr.appendChild(el("td", {class: "v"})));
    residRows.push(tr);
  }
  residPanel.append(el("h3", {}, "Residual stream at position i (exact values)"), stages, residCaption, table);
  right.append(residPanel);
  root.append(grid);

  function residualAt(t) {
    // Stage 0 is sparse; stages 1..3 are the changes from the stage before; the output is sparse.
    const parts = data.residual[t].split("|"), d = data.dims.length;
    let vec = new Array(d).fill("0"), changed = new Set();
    for (let k = 0; k <= stage; k++) {
      if (k === 0 || k === parts.length - 1) vec = new Array(d).fill("0");
      changed = new Set();
      if (parts[k]) for (const entry of parts[k].split(",")) {
        const at = entry.indexOf(":"), j = +entry.slice(0, at);
        vec[j] = entry.slice(at + 1);
        changed.add(j);
      }
    }
    return [vec, stage === 0 ? new Set() : changed];
  }
  const list = (v) => (Array.isArray(v) ? v : [v]);
  const where = (j) => (stepOf.has(j) ? "machine step " + stepOf.get(j) : j < data.prelude ? "prelude" : "stay half");

  let current = 0;
  function render(t) {
    current = t;
    const i = data.position[t], cellsNow = tapeAt(t), head = data.head[t];
    const state = data.states[data.state[t]];
    root.setAttribute("data-state", state);
    root.setAttribute("data-head", String(head));
    let start = head - Math.floor(WINDOW / 2);
    for (let k = 0; k < WINDOW; k++) {
      const c = start + k, inside = c >= low && c <= high;
      cells[k].textContent = show(data.symbols[inside ? cellsNow[c - low] : blank]);
      cells[k].classList.toggle("tf-head", c === head);
      numbers[k].textContent = String(c);
    }
    const rule = t > 0 ? data.states[data.state[t - 1]] + ", " + show(data.symbols[data.read[t - 1]]) + " \u2192 " +
      state + ", " + show(data.symbols[data.write[t - 1]]) + ", " +
      (["L", "S", "R"][data.head[t] - data.head[t - 1] + 1]) : "(start)";
    status.innerHTML = "";
    status.append("state ", el("b", {}, state), "  head on cell " + head + "  reads '" +
                  show(data.symbols[data.read[t]]) + "'   rule fired: " + rule +
                  (t === T ? "   \u2014 " + data.verdict + " (" + data.reason + ")" : ""));
    const ok = data.agree[t] === 1;
    agree.className = "tf-agree " + (ok ? "yes" : "no");
    agree.textContent = ok ? "\u2713 simulator and transformer agree at this step (state, head, tape and every checked slot)"
                           : "\u2717 simulator and transformer disagree here: " + data.summary;
    for (const g of nodes.values()) g.classList.remove("current");
    if (nodes.has(state)) nodes.get(state).classList.add("current");
    for (const [g, span] of edgeSpans.values()) { g.classList.remove("fired"); span.classList.remove("fired"); }
    if (t > 0) {
      const lit = edgeSpans.get(data.states[data.state[t - 1]] + "\u0000" + data.symbols[data.read[t - 1]]);
      if (lit) { lit[0].classList.add("fired"); lit[1].classList.add("fired"); }
    }
    position.textContent = "decoder position i = " + i + " reads y_i = configuration " + t +
      " and writes y_{i+1} (" + data.decoder_steps + " positions in all; the machine starts at 2n+3 = " + data.prelude + ")";
    // Winners are 0-based indices: encoder position j is cell j-1 of the first row, decoder
    // position j is cell j of the other two.
    const cross = list(data.cross[t]), l3 = list(data.layer3[t]), n = data.tokens.length;
    tfStrip(rows[0].canvas, n, n ? cross : []);
    rows[0].caption.textContent = n ? (cross.length === 1 ? "attends to encoder position " + (cross[0] + 1) +
      " (w = '" + show(data.tokens[cross[0]]) + "'), weight 1" + (i + 1 > n ? ": past the input, F ignores it" : "")
      : "ties over " + cross.length + " positions") : "empty input: nothing to attend to";
    tfStrip(rows[1].canvas, i + 1, Array.from({length: i + 1}, (_, j) => j));
    rows[1].caption.textContent = "weight 1/" + (i + 1) + " on each of j = 0.." + i +
      ": the query is zero, every score ties; the average, x4 = c(i+1)/(i+1), is in the residual column";
    tfStrip(rows[2].canvas, i + 1, l3);
    rows[2].caption.textContent = l3.length === 1 ? "attends to j = " + l3[0] + " (" + where(l3[0]) +
      "), weight 1: the last visit to the next head cell" : "ties over " + l3.length + " positions";
    const [vec, changed] = residualAt(t);
    for (let k = 0; k < vec.length; k++) {
      valueCells[k].textContent = vec[k];
      residRows[k].className = (vec[k] === "0" ? "zero" : "") + (changed.has(k) ? " changed" : "");
    }
    residCaption.textContent = "d = " + vec.length + "; " + data.stages[stage] + " at i = " + i +
      (stage ? "; yellow: changed by this stage" : "");
  }
  return {render};
}

// ------------------------------------------------------------------ a program on the looped transformer
function loopedView(root, data, el, listen) {
  const T = data.steps, K = data.snapshot, d = data.dims.length, n = data.columns.length;
  const HEAD_COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e"];

  // the punch card, replayed from the changes (a snapshot every K loops); values are strings
  const applyChanges = (card, text) => {
    if (!text) return;
    for (const entry of text.split(",")) {
      const [r, c, v] = entry.split(":");
      if (c === "*") for (let j = 0; j < n; j++) card[+r * n + j] = v;
      else card[+r * n + +c] = v;
    }
  };
  const card0 = new Array(d * n).fill("0");
  applyChanges(card0, data.card);
  const snapshots = [card0.slice()];
  { const card = card0.slice();
    for (let t = 1; t <= T; t++) { applyChanges(card, data.changes[t]); if (t % K === 0) snapshots.push(card.slice()); } }
  function cardAt(t) {
    const k = Math.floor(t / K), card = snapshots[k].slice();
    for (let s = k * K + 1; s <= t; s++) applyChanges(card, data.changes[s]);
    return card;
  }

  const grid = el("div", {class: "tf-grid tf-grid-looped"});
  const main = el("div", {class: "tf-main"});
  grid.append(main);

  const memPanel = el("div", {class: "tf-panel"});
  const memory = el("div", {class: "tf-tape tf-memory"}), memNames = el("div", {class: "tf-cellno tf-memory"});
  const memCells = data.cell_names.map(() => memory.appendChild(el("div", {class: "tf-cell"})));
  data.cell_names.forEach((name) => memNames.appendChild(el("span", {title: name}, name)));
  const status = el("div", {class: "tf-status"});
  const agree = el("div", {class: "tf-agree"});
  memPanel.append(el("h3", {}, "Memory and program counter, decoded from the punch card (the cell written in this loop in red)"),
                  memory, memNames, status, agree);

  const headPanel = el("div", {class: "tf-panel tf-attn"});
  headPanel.append(el("h3", {}, "Address heads: the card column each head read in this loop"));
  const headRows = data.head_names.map((name, h) => {
    const row = el("div", {class: "tf-row"});
    const canvas = el("canvas", {class: "tf-head-" + h, height: "22"});
    const caption = el("div", {class: "tf-caption"});
    const swatch = el("span", {class: "tf-swatch", style: "background:" + HEAD_COLOURS[h % HEAD_COLOURS.length]});
    const title = el("div", {class: "tf-help"});
    title.append(swatch, " " + name + " (one cell per card column 0.." + (n - 1) + ")");
    row.append(title, canvas, caption);
    headPanel.append(row);
    return {canvas, caption};
  });

  const cardPanel = el("div", {class: "tf-panel tf-card"});
  const cardCaption = el("div", {class: "tf-help"});
  const table = el("table"), header = table.appendChild(el("tr"));
  header.append(el("th", {}, "dimension \\ column"));
  const headerCells = data.columns.map((name, j) => header.appendChild(el("th", {title: name}, j + "\n" + name)));
  const valueCells = [];
  data.dims.forEach((name) => {
    const tr = table.appendChild(el("tr"));
    tr.append(el("td", {class: "name"}, name));
    for (let j = 0; j < n; j++) valueCells.push(tr.appendChild(el("td", {class: "v"})));
  });
  const scroller = el("div", {class: "tf-card-scroll"});
  scroller.append(table);
  cardPanel.append(el("h3", {}, "Punch card X_t: the program, the memory and the registers, one column per token (exact integers)"),
                   cardCaption, scroller);
  main.append(memPanel, headPanel, cardPanel);
  root.append(grid);

  function render(t) {
    const pc = data.pc[t], mem = data.memory[t], before = t ? data.memory[t - 1] : mem;
    root.setAttribute("data-state", String(pc));
    root.setAttribute("data-head", String(pc));
    memCells.forEach((cell, k) => {
      cell.textContent = String(mem[k]);
      cell.classList.toggle("tf-head", t > 0 && mem[k] !== before[k]);
    });
    const halted = pc === data.halt_pc;
    status.innerHTML = "";
    status.append("pc ", el("b", {}, String(pc)), halted ? " (halted: pc = " + data.halt_pc + ")" : "",
                  "   " + data.model + ", " + data.bits + "-bit words, construction " + data.construction +
                  (t === T ? "   \u2014 " + data.verdict + " (" + data.reason + ")" : ""));
    const ok = data.agree[t] === 1;
    agree.className = "tf-agree " + (ok ? "yes" : "no");
    agree.textContent = ok ? "\u2713 the punch card equals E(interpreter state) after this loop, entry for entry"
                           : "\u2717 the looped transformer and the interpreter disagree: " + data.summary;
    const read = new Map();
    data.head_names.forEach((name, h) => {
      const won = t ? data.heads[t][h] : null;
      const columns = won === null ? [] : Array.isArray(won) ? won : [won];
      const same = won !== null && !Array.isArray(won);
      tfStrip(headRows[h].canvas, n, same ? columns : [...new Set(columns)], HEAD_COLOURS[h % HEAD_COLOURS.length]);
      headRows[h].caption.textContent = won === null ? "loop 0 is the start card: no head has read yet"
        : same ? "every column read column " + won + " (" + data.columns[won] + ")"
        : "columns read: " + columns.map((c, j) => j + "\u2192" + c).join(" ");
      if (same) read.set(won, h);
    });
    headerCells.forEach((th, j) => {
      th.style.background = read.has(j) ? HEAD_COLOURS[read.get(j) % HEAD_COLOURS.length] : "";
      th.style.color = read.has(j) ? "#fff" : "";
    });
    const card = cardAt(t), previous = t ? cardAt(t - 1) : card;
    for (let k = 0; k < d * n; k++) {
      valueCells[k].textContent = card[k];
      valueCells[k].className = "v" + (card[k] === "0" ? " zero" : "") + (card[k] !== previous[k] ? " changed" : "");
    }
    cardCaption.textContent = "d = " + d + " named dimensions \u00d7 n = " + n + " columns; after loop " + t +
      (t ? "; yellow: changed by this loop; a column header in a head's colour: the column that head read" : "");
  }
  return {render};
}
