"""The HTML player: one self-contained page that steps through a run of the compiled transformer.

:func:`player_data` runs the machine's compiled network on a word (the fast exact decoder), checks
it against the simulator (:func:`turingformer.compiler.perez.verify.verify`) and packs what the page
shows into a compact, JSON-able dict; :func:`player_html` puts that dict, the script
(``player/player.js``), the style (``player/player.css``) and the state diagram (inline SVG from
:func:`turingformer.tm.diagram.to_svg`) into one HTML file that fetches nothing, so it works
offline. The notebook widget (:mod:`turingformer.views.widget`) mounts the same script.

At machine step t (numbered as ``simulate --json`` numbers them) the page shows the tape with the
head and state, the state diagram with the current state and the rule that just fired, and, at
the decoder position i that reads configuration t, the three attention rows that do the work
(layer 1 reading the input, layer 2's uniform average, layer 3's last write to the cell the head
moves to), the residual stream at i as a labelled column of exact values (five stages), and
whether simulator and transformer agree there.

The encoding, per machine step t = 0..T: the state index, head cell, symbol read, decoder
position, agreement bit (flat integer arrays); the cross-attention and layer-3 winners at that
position (layer 2 is uniform over j = 0..i by construction, see :data:`PLAYER_HOOKS`); and the residual stream as one string per step, the
input stage sparse (``index:value`` for its non-zero entries) and each later stage as the entries
that changed, values exact rationals (``p/q``). A page holds O(T) numbers and the browser builds
O(d + window) DOM nodes once: rendering a step rewrites them, it never adds nodes. Tapes are
replayed from the writes, with a snapshot every :data:`SNAPSHOT` steps.

A program for the looped computer gets the same player (:func:`program_player_data`, ``kind``
``"looped"``): per loop t the decoded pc and memory, the punch card X_t (the first card sparse,
then per loop the entries that changed; a row that became one value in every column is written
once, since the registers are replicated in every column) and, per block and head, the column
every column read (one number when every column read the same one, as the replicated address
heads do).

Bounds (:data:`MAX_POSITIONS`, :data:`MAX_LOOP_CELLS`): a page is refused before any work when
the run could exceed them, so a request can neither run for minutes nor exhaust memory.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from fractions import Fraction
from importlib import resources
from typing import Sequence

from turingformer.analysis.inspect import ActivationCache
from turingformer.compiler.perez.verify import verify
from turingformer.compiler.perez.construction import compile_machine
from turingformer.compiler.perez.decoding import run_model
from turingformer.compiler.perez.model import PerezModel
from turingformer.runtime.fast import decode_fast
from turingformer.errors import TuringformerError
from turingformer.tm.diagram import layout, to_svg
from turingformer.views.figures import RESIDUAL_STAGES
from turingformer.tm.machine import TuringMachine
from turingformer.tm.trace import HaltReason

__all__ = ["PLAYER_HOOKS", "STAGES", "MAX_POSITIONS", "MAX_LOOP_CELLS", "PlayerLimitError", "player_data",
           "program_player_data", "player_html", "page_html", "asset", "check_page_bounds", "snapshot_html"]

#: The five stages of the residual column, in the order the page offers them.
STAGES = RESIDUAL_STAGES
#: What the player captures at every decoder position. Not layer 2's winners: its query is zero,
#: so every score ties and the winners are all of j = 0..i (Lemma 9); keeping them would cost
#: O(T²) memory (2 GB at T = 10,000). The page draws that row uniform and shows the network's
#: result of the average, x4 = c(i+1)/(i+1), in the residual column.
PLAYER_HOOKS = tuple(h for h, _ in STAGES) + ("decoder.1.cross.winners", "decoder.3.attn.winners")
#: The page replays the tape from a snapshot taken every SNAPSHOT steps (see player.js).
SNAPSHOT = 256
#: The most decoder positions one page holds (prelude 2n+3, the machine's steps and the stay
#: halves): about 4 MB of page and 200 MB while it is built (docs/player.md).
MAX_POSITIONS = 50_000
#: The most punch-card columns × loops one program page holds.
MAX_LOOP_CELLS = 2_000_000


class PlayerLimitError(TuringformerError):
    """A run too big for one page: refused before the work starts."""


def check_page_bounds(n: int, max_steps: int, *, max_positions: int = MAX_POSITIONS) -> None:
    """Refuse a page whose run could exceed ``max_positions`` decoder positions: an input of ``n``
    symbols takes 2n+3 positions of prelude and each machine step at most two (a stay move)."""
    worst = 2 * n + 3 + 2 * max_steps + 1
    if worst > max_positions:
        symbols = f"{n:,} symbol" + ("" if n == 1 else "s")
        raise PlayerLimitError(
            f"a page holds at most {max_positions:,} decoder positions; an input of {symbols} and up to "
            f"{max_steps:,} steps can take {worst:,} (2n + 3 + 2 per step)",
            hint="lower --max-steps or shorten the input; 'turingformer run' and 'verify' have no such bound")


def asset(name: str) -> str:
    """The text of a packaged player file (``player.js``, ``player.css``, ``player.html``)."""
    return resources.files("turingformer.views").joinpath("player", name).read_text(encoding="utf-8")


def _value(v) -> str:
    return str(v) if isinstance(v, (Fraction, int)) else repr(v)


def _residual(vectors: Sequence[Sequence]) -> str:
    """One step's residual column: stage 0 sparse, later stages as changes from the stage before.

    Stages are separated by ``|``, entries by ``,``; an entry is ``index:value``. The output stage
    is y_{i+1}, a new vector: it is stored sparse like stage 0 (see player.js ``residualAt``).
    """
    parts = []
    previous = None
    for k, vector in enumerate(vectors):
        fresh = previous is None or k == len(vectors) - 1
        if fresh:
            entries = [(j, v) for j, v in enumerate(vector) if v]
        else:
            entries = [(j, v) for j, (v, u) in enumerate(zip(vector, previous)) if v != u]
        parts.append(",".join(f"{j}:{_value(v)}" for j, v in entries))
        previous = vector
    return "|".join(parts)


def _winners(value) -> int | list[int]:
    won = list(value or ())
    return won[0] if len(won) == 1 else won


def _agreement(machine: TuringMachine, word: str, model: PerezModel, max_steps: int,
               positions: Sequence[int]) -> tuple[list[int], bool, str]:
    """Per machine step t: 1 when the simulator's configuration t equals the decoded one and every
    slot :func:`~turingformer.compiler.perez.verify.verify` checks agrees at the positions of step t."""
    verification = verify(machine, word, max_steps=max_steps, model=model, decoder=decode_fast, keep_rows=None)
    checks = verification.positions
    agree = []
    for t, same in enumerate(verification.reference.agrees_with(verification.decoded)):
        last = positions[t + 1] if t + 1 < len(positions) else len(checks)
        agree.append(int(same and all(p.agrees for p in checks[positions[t]:last])))
    agree += [0] * (len(positions) - len(agree))
    if verification.ok:
        summary = (f"the transformer is the machine at every step: {len(checks)} decoder positions, "
                   "every checked slot agrees")
    else:
        summary = str(verification.divergence)
    return agree, verification.ok, summary


def player_data(machine: TuringMachine, word: str = "", *, max_steps: int = 10_000,
                model: PerezModel | None = None, progress=None,
                max_positions: int = MAX_POSITIONS) -> dict:
    """Run ``machine`` compiled on ``word`` for at most ``max_steps`` machine steps; the compact
    dict the page reads (see the module docstring). Refused (:class:`PlayerLimitError`) before any
    work when the run could take more than ``max_positions`` decoder positions; ``progress`` is
    called with the machine steps decoded so far (:class:`~turingformer.compiler.perez.decoding.ModelRun`)."""
    machine.check_input(word)
    check_page_bounds(len(word), max_steps, max_positions=max_positions)
    model = model or compile_machine(machine)
    result = run_model(model, word, max_steps=max_steps, capture=PLAYER_HOOKS, decoder=decode_fast,
                       progress=progress)
    trace = result.trace
    cache = ActivationCache(model, word, trace, result.decoder_steps)
    del result
    states = list(machine.states)
    symbols = list(machine.tape_alphabet)
    positions = cache.positions()
    residual, cross, layer3 = [], [], []
    for i in positions:
        residual.append(_residual([cache.get(hook, i) for hook, _ in STAGES]))
        acts = cache.steps[i].activations
        cross.append(_winners(acts.get("decoder.1.cross.winners")))
        layer3.append(_winners(acts.get("decoder.3.attn.winners")))
    data = {
        "format": 1, "kind": "perez", "machine": machine.name or "machine", "input": word, "blank": machine.blank,
        "states": states, "symbols": symbols, "start": machine.start,
        "steps": trace.steps, "verdict": trace.verdict.value, "reason": trace.reason.value,
        "state": [states.index(s) for s in trace.states], "head": list(trace.heads),
        "read": [symbols.index(symbol) for symbol in trace.reads()], "write": [symbols.index(s) for s in trace.writes],
        "n": len(word), "prelude": cache.prelude, "decoder_steps": len(cache),
        "position": list(positions), "cross": cross, "layer3": layer3,
        "tokens": cache.tokens, "dims": list(cache.space.names), "stages": [label for _, label in STAGES],
        "residual": residual, "snapshot": SNAPSHOT,
    }
    del cache  # the activations go before verification decodes the run again
    # an interrupted run (Ctrl-C) is checked as far as it went, not decoded again to max_steps
    checked = trace.steps if trace.reason is HaltReason.INTERRUPTED else max_steps
    data["agree"], data["ok"], data["summary"] = _agreement(machine, word, model, checked, positions)
    return data


def _script_json(data: dict) -> str:
    """JSON that is inert inside ``<script type="application/json">``: every ``<`` is written
    ``\\u003c``, so neither ``</script>`` nor ``<!--`` (which would swallow the next script) can
    appear, whatever a machine, state or input is named."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def diagram_svg(machine: TuringMachine) -> str:
    """The diagram the player lights up (dot's layout when Graphviz is installed)."""
    return to_svg(machine, layout(machine))


#: The page's one inline script: the player, then mounting it on the data block.
_BOOT = """
mountPlayer(document.getElementById("turingformer-player"),
            JSON.parse(document.getElementById("turingformer-data").textContent),
            {keyboard: document, fragment: true});
"""


def page_html(data: dict, title: str) -> str:
    """The self-contained page of a player ``data`` dict: script, style and data inline.

    The Content-Security-Policy allows no fetch at all and exactly one script, by its SHA-256
    hash (no ``'unsafe-inline'``): even text that escaped the data block could not run.
    """
    import html

    script = asset("player.js") + _BOOT
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    fill = {"title": html.escape(title), "css": asset("player.css"), "js": script,
            "data": _script_json(data), "script_hash": f"'sha256-{digest}'"}
    return re.sub(r"\{\{(title|css|js|data|script_hash)\}\}", lambda m: fill[m.group(1)], asset("player.html"))


def player_html(machine: TuringMachine, word: str = "", *, max_steps: int = 10_000,
                model: PerezModel | None = None, title: str | None = None, progress=None,
                source: str | None = None) -> str:
    """The self-contained page of a machine's run (:func:`player_data`); nothing is fetched.
    ``source`` (the machine file's text) lets the page offer a share link for ``turingformer serve``."""
    data = player_data(machine, word, max_steps=max_steps, model=model, progress=progress)
    data["diagram"] = diagram_svg(machine)
    if source is not None:
        data["source"] = source
    heading = title or f"{machine.name or 'machine'} on {word!r}: the transformer, step by step"
    return page_html(data, heading)


def snapshot_html(machine: TuringMachine, data: dict, step: int, *, window: int = 21) -> str:
    """The player of ``data`` (:func:`player_data`) at ``step`` as static HTML: no script, inline
    styles, the diagram as inline SVG with the current state and the fired rule lit. A saved
    notebook shows it where the live widget cannot run (GitHub, nbviewer)."""
    import html

    esc = html.escape
    t = max(0, min(step, data["steps"]))
    symbols, states = data["symbols"], data["states"]
    cells = dict(enumerate(data["input"]))
    for s in range(t):
        cells[data["head"][s]] = symbols[data["write"][s]]
    head, state = data["head"][t], states[data["state"][t]]
    fired = (states[data["state"][t - 1]], symbols[data["read"][t - 1]]) if t else None
    box = "display:inline-block;width:22px;height:26px;line-height:26px;text-align:center;margin:1px;"
    tape = "".join(f'<span style="{box}border:{"3px solid #d62728" if c == head else "1px solid #bbb"}">'
                   f'{esc(cells.get(c, machine.blank))}</span>' for c in range(head - window // 2, head + window // 2 + 1))
    i = data["position"][t]
    layer1 = data["cross"][t]
    layer3 = data["layer3"][t]
    verdict = f" — {data['verdict']} ({data['reason']})" if t == data["steps"] else ""
    rule = f"{esc(fired[0])} reading {esc(repr(fired[1]))}" if fired else "(the start)"
    agree = "simulator and transformer agree at this step" if data["agree"][t] else "DISAGREE: " + esc(data["summary"])
    return (f'<div style="font:13px Helvetica,Arial,sans-serif;max-width:900px">'
            f'<p style="color:#666;margin:0 0 4px">A static snapshot of the player at step {t} of {data["steps"]} '
            f'(run the notebook for the live player).</p>'
            f'<div style="font-family:monospace">{tape}</div>'
            f'<p style="font-family:monospace;margin:4px 0">state <b style="color:#d62728">{esc(state)}</b>, head on cell '
            f'{head}, rule fired: {rule}{esc(verdict)}</p>'
            f'<p style="margin:4px 0">decoder position i = {i}: layer 1 attends to encoder position(s) '
            f'{esc(str(layer1 if isinstance(layer1, list) else layer1 + 1))}, layer 2 averages j = 0..{i}, layer 3 '
            f'attends to j = {esc(str(layer3))}; {agree}</p>'
            f'<div style="max-width:640px">{to_svg(machine, layout(machine), current=state, fired=fired)}</div></div>')


# ---------------------------------------------------------------------------- looped programs
def _sparse_card(X) -> str:
    """Every non-zero entry of a d × n card as ``row:column:value``, comma-separated."""
    import numpy as np

    return ",".join(f"{r}:{c}:{int(X[r, c])}" for r, c in zip(*np.nonzero(X)))


def _card_changes(before, after) -> str:
    """The entries of ``after`` that differ from ``before``: ``row:*:value`` for a row that is now
    one value in every column (the replicated registers), else ``row:column:value``."""
    import numpy as np

    parts = []
    for r in sorted(set(np.nonzero(before != after)[0].tolist())):
        row = after[r]
        if (row == row[0]).all():
            parts.append(f"{r}:*:{int(row[0])}")
        else:
            parts.extend(f"{r}:{int(c)}:{int(row[c])}" for c in np.nonzero(before[r] != row)[0])
    return ",".join(parts)


def _column_winners(winners) -> int | list[int]:
    """One head's winner per query column: one number when every column read the same column."""
    won = [int(v) for v in winners]
    return won[0] if len(set(won)) == 1 else won


def program_player_data(program, *, max_loops: int = 2_000, construction: str | None = None,
                        progress=None, max_cells: int = MAX_LOOP_CELLS) -> dict:
    """Run ``program``'s looped transformer (the exact integer path) for at most ``max_loops`` loops
    and pack the page's data: per loop the pc and memory decoded from the card alone, the card's
    changes and every head's winner columns, and whether the card equals E(interpreter state).
    Refused (:class:`PlayerLimitError`) before the work when columns × loops could exceed
    ``max_cells``."""
    from turingformer.compiler.looped.construction import compile_program
    from turingformer.compiler.looped.verify import verify_looped
    from turingformer.compiler.looped.decoding import read_array
    from turingformer.runtime.looped import IntegerLoop
    from turingformer.runtime.transformer import head_names
    from turingformer.views.looped import card_columns

    model = compile_program(program, construction)
    n = model.n
    if n * (max_loops + 1) > max_cells:
        raise PlayerLimitError(
            f"a page holds at most {max_cells:,} punch-card columns × loops; this program has {n:,} columns and "
            f"up to {max_loops:,} loops", hint="lower --max-steps (loops)")
    labels, space = model.labels, model.space
    fast = IntegerLoop(model.transformer)
    X = fast.to_array(model.card)
    state = read_array(labels, space, X)
    pcs, memories, changes, heads = [state.pc], [list(state.mem)], [""], [[]]
    t = 0
    while state.pc != labels.halt_pc and t < max_loops:
        after, winners = fast.step(X)
        t += 1
        changes.append(_card_changes(X, after))
        heads.append([_column_winners(w) for block in winners for w in block])
        X = after
        state = read_array(labels, space, X)
        pcs.append(state.pc)
        memories.append(list(state.mem))
        if progress is not None and not t % 256 and progress(t):
            break
    checked = verify_looped(program, model=model, max_loops=t)
    agree_until = t if checked.ok else checked.divergence.step - 1
    halted = state.pc == labels.halt_pc
    names = [str(c) for c in range(labels.cells)]
    for name, cell in reversed(labels.cell_labels):
        names[cell] = name
    return {
        "format": 1, "kind": "looped", "machine": program.name or "program", "construction": labels.construction,
        "model": labels.machine, "bits": labels.bits, "steps": t, "halted": halted,
        "verdict": "halted" if halted else "running", "reason": "halting pc" if halted else "step limit",
        "halt_pc": labels.halt_pc, "pc": pcs, "memory": memories, "cell_names": names,
        "dims": list(space.names), "columns": card_columns(labels), "card": _sparse_card(fast.to_array(model.card)),
        "changes": changes, "heads": heads,
        "head_names": [name for l, block in enumerate(model.transformer.blocks)
                       for name in head_names(f"loop.{l}", len(block.heads))],
        "agree": [1] * (agree_until + 1) + [0] * (t - agree_until),
        "ok": checked.ok,
        "summary": (f"the looped transformer ({labels.construction}) agrees with the interpreter after every loop: "
                    f"{checked.loops_checked:,} loops, every punch card equal to E(state) entry for entry"
                    if checked.ok else str(checked.divergence)),
        "snapshot": SNAPSHOT,
    }


def program_player_html(program, *, max_loops: int = 2_000, construction: str | None = None, progress=None,
                        source: str | None = None, file: str | None = None, title: str | None = None) -> str:
    """The self-contained page of a program's run on the looped transformer (:func:`program_player_data`);
    ``source`` and ``file`` (the program's text and file name) let the page offer a share link."""
    data = program_player_data(program, max_loops=max_loops, construction=construction, progress=progress)
    if source is not None:
        data["source"], data["file"] = source, file or "program.subleq"
    return page_html(data, title or f"{program.name or 'program'}: the looped transformer, loop by loop")
