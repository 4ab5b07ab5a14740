// turingformer serve: the editor page. The player is player.js (the one `animate` inlines); this
// script edits the source, asks the server to check it while typing (debounced) and to run it, and
// keeps the address a share link: #m=<the file, source and input, compressed>&step=N.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const source = $("tf-source"), gutter = $("tf-gutter"), backdrop = $("tf-backdrop");
  const fileSelect = $("tf-file"), fileName = $("tf-filename"), checkLine = $("tf-check");
  const exampleChecks = $("tf-example-checks"), menu = $("tf-examples"), input = $("tf-input");
  const stepsField = $("tf-steps"), runButton = $("tf-run"), message = $("tf-message");
  const shareButton = $("tf-share"), shareUrl = $("tf-share-url"), limitsText = $("tf-limits");
  const root = $("turingformer-player");
  const CHECK_DELAY = 350;          // ms after the last keystroke before the source is checked
  let file = fileSelect.value, limits = null, player = null, checkSeq = 0, runSeq = 0, errorLine = null, timer = null;
  let examples = [];

  // ---------------------------------------------------------------- the editor: line numbers and the error line
  function drawLines() {
    const count = source.value.split("\n").length;
    for (const [box, make] of [[gutter, (k) => String(k)], [backdrop, () => "\u200b"]]) {
      while (box.children.length < count) {
        const k = box.children.length + 1, line = document.createElement("div");
        line.className = "line";
        line.textContent = make(k);
        box.append(line);
      }
      while (box.children.length > count) box.lastChild.remove();
      for (const line of box.querySelectorAll(".error")) line.classList.remove("error");
      if (errorLine !== null && errorLine >= 1 && errorLine <= count) box.children[errorLine - 1].classList.add("error");
    }
    syncScroll();
  }
  function syncScroll() {
    gutter.scrollTop = source.scrollTop;
    backdrop.scrollTop = source.scrollTop;
    backdrop.scrollLeft = source.scrollLeft;
  }
  source.addEventListener("scroll", syncScroll);
  source.addEventListener("input", () => { drawLines(); scheduleCheck(); });
  source.addEventListener("keydown", (event) => {
    if (event.key === "Tab") {         // a tab key inserts two spaces instead of leaving the editor
      event.preventDefault();
      document.execCommand("insertText", false, "  ");
    } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      run();
    }
  });

  function setFile(name) {
    file = name;
    const ext = name.slice(name.lastIndexOf("."));
    for (const option of fileSelect.options) if (option.value.endsWith(ext)) { fileSelect.value = option.value; break; }
    fileName.textContent = "errors name it " + name;
  }
  fileSelect.addEventListener("change", () => { setFile(fileSelect.value); scheduleCheck(); });

  // ---------------------------------------------------------------- talking to the server
  async function post(url, body) {
    const response = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"},
                                       body: JSON.stringify(body)});
    const type = response.headers.get("Content-Type") || "";
    if (!type.startsWith("application/json"))
      return {error: {message: "the server answered " + response.status + " " + response.statusText}, limit: response.status === 413};
    return response.json();
  }
  const errorText = (error) => error.message + (error.hint ? "\n  fix: " + error.hint : "");

  function scheduleCheck() {
    clearTimeout(timer);
    checkLine.className = "tf-check pending";
    checkLine.textContent = "checking\u2026";
    timer = setTimeout(check, CHECK_DELAY);
  }
  async function check() {
    const seq = ++checkSeq;
    let answer;
    try { answer = await post("api/check", {source: source.value, file}); }
    catch (error) { answer = {error: {message: "cannot reach the server: " + error.message}}; }
    if (seq !== checkSeq) return;                       // a newer check is under way
    exampleChecks.innerHTML = "";
    if (answer.ok) {
      errorLine = null;
      checkLine.className = "tf-check ok";
      checkLine.textContent = "\u2713 " + (answer.name ? answer.name + ": " : "") + answer.summary;
      for (const example of answer.examples || []) {
        const item = document.createElement("li");
        item.className = example.failed ? "failed" : example.met ? "met" : "unchecked";
        item.textContent = example.text + (example.line ? "  (line " + example.line + ")" : "");
        exampleChecks.append(item);
      }
    } else {
      errorLine = answer.error.line || null;
      checkLine.className = "tf-check error";
      checkLine.textContent = errorText(answer.error);
    }
    checkLine.setAttribute("data-line", errorLine === null ? "" : String(errorLine));
    drawLines();
  }

  function say(text, kind) {
    message.hidden = !text;
    message.className = "tf-message" + (kind ? " " + kind : "");
    message.textContent = text || "";
  }

  async function run(options) {
    const seq = ++runSeq;
    runButton.disabled = true;
    say("compiling, decoding exactly and checking every step\u2026", "info");
    const asked = stepsField.value === "" ? limits.max_steps : Math.max(0, Math.floor(+stepsField.value));
    let answer;
    try { answer = await post("api/run", {source: source.value, file, input: input.value, max_steps: asked}); }
    catch (error) { answer = {error: {message: "cannot reach the server: " + error.message}}; }
    if (seq !== runSeq) return;
    runButton.disabled = false;
    if (answer.error) {
      say((answer.limit ? "limit: " : "") + errorText(answer.error), answer.limit ? "limit" : "");
      if (answer.error.line) { errorLine = answer.error.line; drawLines(); }
      return;
    }
    const notes = [];
    if (answer.limited) {
      notes.push("limit: the run stopped at the step limit of " + answer.steps.toLocaleString("en") +
                 (answer.kind === "looped" ? " loops" : " steps") + " before it halted (verdict: running)" +
                 (answer.clamped ? "; this server allows at most " + answer.clamped.toLocaleString("en") + " per run" : "") +
                 ". Run it on your own computer with turingformer animate for longer runs.");
    }
    for (const line of answer.examples || []) notes.push(line);
    notes.push((answer.ok ? "\u2713 " : "\u2717 ") + answer.summary);
    say(notes.join("\n"), answer.limited ? "limit" : answer.ok ? "info" : "");
    const params = tfFragment();
    const keepStep = options && options.keepStep && params.has("step");
    params.set("m", await tfEncodeShare({v: 1, file, source: source.value, input: input.value}));
    if (!keepStep) params.delete("step");
    tfSetFragment(params);
    if (player) player.destroy();
    player = mountPlayer(root, answer, {fragment: true, server: true});
  }
  runButton.addEventListener("click", () => run());
  input.addEventListener("keydown", (event) => { if (event.key === "Enter") run(); });

  // ---------------------------------------------------------------- share links and the menu
  shareButton.addEventListener("click", async () => {
    const m = await tfEncodeShare({v: 1, file, source: source.value, input: input.value});
    const url = location.origin + location.pathname + "#m=" + m;
    shareUrl.hidden = false;
    shareUrl.value = url;
    shareUrl.select();
    try { await navigator.clipboard.writeText(url); shareButton.textContent = "share link (copied)"; }
    catch (error) { shareButton.textContent = "share link (copy it from the field)"; }
  });

  function load(entry) {
    source.value = entry.source;
    input.value = entry.input || "";
    setFile(entry.file || "machine.yaml");
    errorLine = null;
    source.scrollTop = 0;
    drawLines();
    check();
  }
  menu.addEventListener("change", () => {
    const entry = examples[+menu.value];
    if (entry) { load(entry); run(); }
  });

  async function start() {
    limits = (await (await fetch("api/config")).json()).limits;
    limitsText.textContent = "this server: at most " + limits.max_steps.toLocaleString("en") + " steps, " +
      limits.max_positions.toLocaleString("en") + " decoder positions and " + limits.time_limit + " s per run";
    stepsField.value = String(limits.max_steps);
    stepsField.max = String(limits.max_steps);
    examples = (await (await fetch("api/examples")).json()).examples;
    for (const group of ["machine", "program"]) {
      const optgroup = document.createElement("optgroup");
      optgroup.label = group === "machine" ? "Turing machines (the Pérez transformer)" : "programs (the looped transformer)";
      examples.forEach((entry, k) => {
        if (entry.kind !== group) return;
        const option = document.createElement("option");
        option.value = String(k);
        option.textContent = entry.name + " (" + entry.file + ")";
        optgroup.append(option);
      });
      if (optgroup.children.length) menu.append(optgroup);
    }
    const shared = tfFragment().get("m");
    if (shared) {
      try {
        load(await tfDecodeShare(shared));
        await run({keepStep: true});
        return;
      } catch (error) {
        say("this share link cannot be read (" + error.message + "); it may have been cut off when it was copied", "");
      }
    }
    const first = examples.findIndex((entry) => entry.file === "binary_increment.yaml");
    if (first >= 0) { menu.value = String(first); load(examples[first]); run(); }
    else { load({source: "", file: "machine.yaml"}); }
  }
  start();
})();
