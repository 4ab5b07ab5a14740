"""Rich displays of the machine layer's objects in a notebook (HTML made here, in ``tm/``, since a
layer never imports a higher one): a machine's state diagram with its rule table, and a trace as
a windowed tape table. Reads the objects through their attributes only, so that
:mod:`.machine` and :mod:`.trace` can call it from their ``_repr_html_`` without an import cycle.
"""

from __future__ import annotations

import html

from turingformer.tm.diagram import to_svg, visible

_TABLE = "border-collapse:collapse;font-family:monospace;font-size:90%"
_CELL = "border:1px solid #ccc;padding:1px 6px;text-align:center"


def machine_html(machine) -> str:
    """The diagram (inline SVG) beside the transition table: rows = states, columns = symbols,
    a cell ``write move next`` (``–``: no rule, the machine halts there)."""
    esc = html.escape
    symbols = machine.tape_alphabet
    head = "".join(f"<th style='{_CELL}'>{esc(visible(a))}</th>" for a in symbols)
    rows = []
    for state in machine.states:
        role = machine.role(state)
        tags = (["start"] if state == machine.start else []) + ([role] if role else [])
        name = esc(state) + (f" <small>({', '.join(tags)})</small>" if tags else "")
        cells = []
        for a in symbols:
            rule = machine.rule(state, a)
            text = f"{visible(rule.write)} {rule.move.value} {rule.next_state}" if rule else "–"
            cells.append(f"<td style='{_CELL}'>{esc(text)}</td>")
        rows.append(f"<tr><th style='{_CELL};text-align:left'>{name}</th>{''.join(cells)}</tr>")
    title = esc(machine.name or "machine")
    return (f"<div><p><b>{title}</b>: {len(machine.states)} states, {len(symbols)} symbols, "
            f"{len(machine.rules)} rules (blank {esc(visible(machine.blank))!s})</p>"
            "<div style='display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start'>"
            f"<div>{to_svg(machine)}</div><table style='{_TABLE}'><tr><th style='{_CELL}'>state \\ read</th>{head}</tr>"
            f"{''.join(rows)}</table></div></div>")


def trace_table_html(trace, start: int = 0, stop: int | None = None) -> str:
    """Steps ``start..stop`` of ``trace`` (inclusive, clamped): one row per step (state, head),
    one column per tape cell of the window, the head's cell outlined in red."""
    last = len(trace) - 1 if stop is None else min(stop, len(trace) - 1)
    first = max(0, min(start, last))
    confs = [c for c in trace if first <= c.step <= last]
    low = min(min(c.head, c.tape.offset) for c in confs)
    high = max(max(c.head, c.tape.offset + len(c.tape.cells) - 1) for c in confs)
    esc = html.escape
    head = "".join(f"<th style='{_CELL};color:#888'>{c}</th>" for c in range(low, high + 1))
    rows = []
    for conf in confs:
        cells = "".join(
            f"<td style='{_CELL}{';outline:2px solid #d62728;background:#fff3f3' if x == conf.head else ''}'>"
            f"{esc(visible(conf.tape[x]))}</td>" for x in range(low, high + 1))
        rows.append(f"<tr><td style='{_CELL}'>{conf.step}</td><td style='{_CELL}'>{esc(conf.state)}</td>"
                    f"<td style='{_CELL}'>{conf.head}</td>{cells}</tr>")
    hidden = len(trace) - len(confs)
    more = (f"<p>steps {first}..{last} of 0..{len(trace) - 1} shown; <code>trace.html(start, stop)</code> "
            "shows another window</p>") if hidden else ""
    return (f"<div><p><b>{esc(trace.machine_name or 'machine')}</b> on {esc(repr(trace.input))}: {trace.steps} steps, "
            f"{esc(trace.verdict.value)} ({esc(trace.reason.value)})</p><table style='{_TABLE}'>"
            f"<tr><th style='{_CELL}'>step</th><th style='{_CELL}'>state</th><th style='{_CELL}'>head</th>{head}</tr>"
            f"{''.join(rows)}</table>{more}</div>")
