"""The HTML player: one self-contained page that steps through a run of the compiled transformer.

:func:`player_data` runs the machine's compiled network on a word (the fast exact decoder), checks
it against the simulator (:func:`turingformer.analysis.verify.verify`) and packs what the page
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
"""

from __future__ import annotations

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
from turingformer.tm.diagram import layout, to_svg
from turingformer.views.figures import RESIDUAL_STAGES
from turingformer.tm.machine import TuringMachine

__all__ = ["PLAYER_HOOKS", "STAGES", "player_data", "player_html", "asset"]

#: The five stages of the residual column, in the order the page offers them.
STAGES = RESIDUAL_STAGES
#: What the player captures at every decoder position. Not layer 2's winners: its query is zero,
#: so every score ties and the winners are all of j = 0..i (Lemma 9); keeping them would cost
#: O(T²) memory (2 GB at T = 10,000). The page draws that row uniform and shows the network's
#: result of the average, x4 = c(i+1)/(i+1), in the residual column.
PLAYER_HOOKS = tuple(h for h, _ in STAGES) + ("decoder.1.cross.winners", "decoder.3.attn.winners")
#: The page replays the tape from a snapshot taken every SNAPSHOT steps (see player.js).
SNAPSHOT = 256


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
    slot :func:`~turingformer.analysis.verify.verify` checks agrees at the positions of step t."""
    verification = verify(machine, word, max_steps=max_steps, model=model, decoder=decode_fast, keep_rows=None)
    checks = verification.positions
    agree = []
    for t, (ref, got) in enumerate(zip(verification.reference, verification.decoded)):
        last = positions[t + 1] if t + 1 < len(positions) else len(checks)
        same = (ref.state, ref.head, ref.tape.span(ref.head)) == (got.state, got.head, got.tape.span(got.head))
        agree.append(int(same and all(p.agrees for p in checks[positions[t]:last])))
    agree += [0] * (len(positions) - len(agree))
    if verification.ok:
        summary = (f"the transformer is the machine at every step: {len(checks)} decoder positions, "
                   "every checked slot agrees")
    else:
        summary = str(verification.divergence)
    return agree, verification.ok, summary


def player_data(machine: TuringMachine, word: str = "", *, max_steps: int = 10_000,
                model: PerezModel | None = None) -> dict:
    """Run ``machine`` compiled on ``word`` for at most ``max_steps`` machine steps; the compact
    dict the page reads (see the module docstring)."""
    model = model or compile_machine(machine)
    result = run_model(model, word, max_steps=max_steps, capture=PLAYER_HOOKS, decoder=decode_fast)
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
        "format": 1, "machine": machine.name or "machine", "input": word, "blank": machine.blank,
        "states": states, "symbols": symbols, "start": machine.start,
        "steps": trace.steps, "verdict": trace.verdict.value, "reason": trace.reason.value,
        "state": [states.index(s) for s in trace.states], "head": list(trace.heads),
        "read": [symbols.index(conf.symbol) for conf in trace], "write": [symbols.index(s) for s in trace.writes],
        "n": len(word), "prelude": cache.prelude, "decoder_steps": len(cache),
        "position": list(positions), "cross": cross, "layer3": layer3,
        "tokens": cache.tokens, "dims": list(cache.space.names), "stages": [label for _, label in STAGES],
        "residual": residual, "snapshot": SNAPSHOT,
    }
    del cache  # the activations go before verification decodes the run again
    data["agree"], data["ok"], data["summary"] = _agreement(machine, word, model, max_steps, positions)
    return data


def _script_json(data: dict) -> str:
    """JSON that is safe inside ``<script type="application/json">`` (no ``</``)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def diagram_svg(machine: TuringMachine) -> str:
    """The diagram the player lights up (dot's layout when Graphviz is installed)."""
    return to_svg(machine, layout(machine))


def player_html(machine: TuringMachine, word: str = "", *, max_steps: int = 10_000,
                model: PerezModel | None = None, title: str | None = None) -> str:
    """The self-contained page: script, style, diagram and data inline; nothing is fetched."""
    import html

    data = player_data(machine, word, max_steps=max_steps, model=model)
    data["diagram"] = diagram_svg(machine)
    heading = title or f"{machine.name or 'machine'} on {word!r}: the transformer, step by step"
    fill = {"title": html.escape(heading), "css": asset("player.css"), "js": asset("player.js"),
            "data": _script_json(data)}
    return re.sub(r"\{\{(title|css|js|data)\}\}", lambda m: fill[m.group(1)], asset("player.html"))
