// The turingformer player (views/player.py writes the data; plain JavaScript, no library).
// mountPlayer(root, data, options) builds the DOM once inside root and redraws it for a step;
// the page and the notebook widget both call it. root carries data-step, data-steps, data-state
// and data-head (simulate --json's numbering) for scripts and tests.
"use strict";

function mountPlayer(root, data, options) {
  options = options || {};
  const T = data.steps, K = data.snapshot, blank = data.symbols.indexOf(data.blank);
  const WINDOW = 31;                              // tape cells shown, the head kept in view
  const el = (tag, attrs, text) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const show = (s) => (s === " " ? "\u2423" : s);

  // ---------------------------------------------------------------- the tape, replayed
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

  // ---------------------------------------------------------------- the DOM, built once
  root.classList.add("tf-player");
  root.innerHTML = "";
  root.setAttribute("data-steps", String(T));
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
  controls.append(first, back, play, pause, fwd, last, slider, stepno, el("span", {class: "tf-help"}, "speed"),
                  speed, speedText);

  const grid = el("div", {class: "tf-grid"});
  const left = el("div"), right = el("div");
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

  const diagramPanel = el("div", {class: "tf-panel"});
  const diagramBox = el("div", {class: "tf-diagram-box"});
  diagramBox.innerHTML = data.diagram || "";
  diagramPanel.append(el("h3", {}, "State diagram: the current state and the rule that just fired"), diagramBox);
  const nodes = new Map(), edgeSpans = new Map();
  for (const g of diagramBox.querySelectorAll("g.state")) nodes.set(g.getAttribute("data-state"), g);
  for (const g of diagramBox.querySelectorAll("g.edge")) {
    for (const span of g.querySelectorAll("tspan"))
      edgeSpans.set(g.getAttribute("data-from") + "\u0000" + span.getAttribute("data-read"), [g, span]);
  }

  const attnPanel = el("div", {class: "tf-panel tf-attn"});
  const position = el("div", {class: "tf-caption"});
  attnPanel.append(el("h3", {}, "Decoder attention at this position"), position);
  const rows = ["Layer 1 cross-attention (Lemma 7): reads input symbol min(i+1, n)",
                "Layer 2 (Lemma 9): the uniform average over j = 0..i, the head position",
                "Layer 3 (Lemma 10): the last write to the cell the head moves to"].map((title) => {
    const row = el("div", {class: "tf-row"});
    const canvas = el("canvas", {width: "640", height: "22"});
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
    radio.addEventListener("change", () => { stage = k; render(); });
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
  root.append(controls, grid, el("div", {class: "tf-help"},
    "Keys: \u2190 / \u2192 step, space play/pause, Home / End. " + data.summary));

  // ---------------------------------------------------------------- drawing
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

  function strip(canvas, count, winners, first) {
    const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
    ctx.clearRect(0, 0, w, h);
    if (!count) { ctx.fillStyle = "#999"; ctx.font = "11px sans-serif"; ctx.fillText("no positions to attend to", 6, 15); return; }
    if (winners === "all") winners = Array.from({length: count}, (_, j) => j + first);
    const cw = w / count, weight = 1 / winners.length;
    ctx.fillStyle = "#f2f2f2"; ctx.fillRect(0, 0, w, h);
    ctx.fillStyle = weight === 1 ? "#d62728" : "rgba(31,119,180," + Math.max(0.25, weight) + ")";
    for (const j of winners) ctx.fillRect(Math.floor((j - first) * cw), 0, Math.max(2, Math.ceil(cw)), h);
    if (cw >= 4) {
      ctx.strokeStyle = "#fff";
      for (let k = 1; k < count; k++) { ctx.beginPath(); ctx.moveTo(k * cw, 0); ctx.lineTo(k * cw, h); ctx.stroke(); }
    }
  }
  const list = (v) => (Array.isArray(v) ? v : [v]);
  const where = (j) => (stepOf.has(j) ? "machine step " + stepOf.get(j) : j < data.prelude ? "prelude" : "stay half");

  let t = 0, playing = false;
  function render() {
    const i = data.position[t], cellsNow = tapeAt(t), head = data.head[t];
    const state = data.states[data.state[t]];
    root.setAttribute("data-step", String(t));
    root.setAttribute("data-state", state);
    root.setAttribute("data-head", String(head));
    slider.value = String(t);
    stepno.textContent = "step " + t + " / " + T;
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
    const cross = list(data.cross[t]), l3 = list(data.layer3[t]), n = data.tokens.length;
    strip(rows[0].canvas, n, cross, 1);
    rows[0].caption.textContent = n ? (cross.length === 1 ? "attends to encoder position " + (cross[0] + 1) +
      " (w = '" + show(data.tokens[cross[0]]) + "'), weight 1" + (i + 1 > n ? ": past the input, F ignores it" : "")
      : "ties over " + cross.length + " positions") : "empty input: nothing to attend to";
    strip(rows[1].canvas, i + 1, "all", 0);
    rows[1].caption.textContent = "weight 1/" + (i + 1) + " on each of j = 0.." + i +
      ": the query is zero, every score ties; the average, x4 = c(i+1)/(i+1), is in the residual column";
    strip(rows[2].canvas, i + 1, l3, 0);
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

  function go(step) { t = Math.max(0, Math.min(T, step)); render(); }
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
  first.addEventListener("click", () => { stop(); go(0); });
  back.addEventListener("click", () => { stop(); go(t - 1); });
  fwd.addEventListener("click", () => { stop(); go(t + 1); });
  last.addEventListener("click", () => { stop(); go(T); });
  play.addEventListener("click", start);
  pause.addEventListener("click", stop);
  slider.addEventListener("input", () => { stop(); go(+slider.value); });
  speed.addEventListener("input", () => { speedText.textContent = rate() + " steps/s"; });
  const keys = options.keyboard || root;
  if (keys === root) root.tabIndex = 0;
  keys.addEventListener("keydown", (event) => {
    if (event.target && event.target.type === "range" && (event.key === "ArrowLeft" || event.key === "ArrowRight")) return;
    if (event.key === "ArrowRight") { stop(); go(t + 1); }
    else if (event.key === "ArrowLeft") { stop(); go(t - 1); }
    else if (event.key === " ") { playing ? stop() : start(); }
    else if (event.key === "Home") { stop(); go(0); }
    else if (event.key === "End") { stop(); go(T); }
    else return;
    event.preventDefault();
  });
  root.setAttribute("data-playing", "0");
  render();
  return {go, play: start, pause: stop, get step() { return t; }};
}
