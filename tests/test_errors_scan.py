"""Every error a user can cause is a TuringformerError (issue 24 item 7): the library raises no bare
builtin exception on a user's input path.

The scan reads every ``raise`` of the package with ``ast``. A builtin exception (ValueError,
KeyError, TypeError, IndexError, RuntimeError, AssertionError, Exception) is allowed only where it
is listed below with the reason it never reaches a user: an internal invariant (a bug if it
fires), or an exception the caller converts into a TuringformerError. A new bare raise fails
this test until it becomes a TuringformerError subclass — with a location and a fix — or is
listed here with its reason.
"""

from __future__ import annotations

import ast

from paths import ROOT

PACKAGE = ROOT / "turingformer"
BUILTINS = {"ValueError", "KeyError", "TypeError", "IndexError", "RuntimeError", "AssertionError", "Exception"}

#: (module, exception, the start of its message) -> why no user ever sees it.
ALLOWED = {
    ("turingformer/modelfile.py", "ValueError", "is not a number of a model file"):
        "json.loads' parse_constant hook; parse_model turns it into a ModelFileError",
    ("turingformer/tm/formats/_text.py", "ValueError", "is not a whole number in the digits 0-9"):
        "every importer calling whole_number turns it into a located MachineError",
    ("turingformer/tm/formats/_text.py", "ValueError", "a number of"):
        "every importer calling whole_number turns it into a located MachineError",
    ("turingformer/compiler/looped/gadgets.py", "ValueError", "duplicate hidden unit"):
        "a construction bug: the builders name every unit once",
    ("turingformer/compiler/looped/fleq_h.py", "ValueError", "no FLEQ function"):
        "programs are validated against the function library before any weight is built",
    ("turingformer/compiler/bridge/layout.py", "ValueError", "symbols from block cell"):
        "with_input and machine_to_program refuse an input that does not fit before laying it out",
    ("turingformer/serve/worker.py", "ValueError", "unknown job"):
        "the server submits only its own job names; a request names no job",
    ("turingformer/analysis/census.py", "ValueError", ""):
        "raised bare inside a try that turns it (with json's own errors) into a CensusError",
    ("turingformer/compiler/fixedpoint/blocks.py", "ValueError", "blocks per loop: more than"):
        "the construction's size guard (compiler/looped/limits.py) refuses such a program first",
    ("turingformer/compiler/fixedpoint/early.py", "ValueError", "no early FLEQ-M function"):
        "programs are validated against the FLEQ-M function library before any weight is built",
    ("turingformer/compiler/fixedpoint/gadgets.py", "ValueError", "a clip-form constant must be an integer"):
        "a construction bug: the gadgets are built from integer constants (spec §2.1)",
    ("turingformer/compiler/fixedpoint/gadgets.py", "ValueError", "a clip-form coefficient must be an integer"):
        "a construction bug: the gadgets are built from integer coefficients (spec §2.1)",
    ("turingformer/compiler/fixedpoint/gadgets.py", "ValueError", "is not a power of two"):
        "a construction bug: every cap is chosen a power of two (spec §2.6)",
    ("turingformer/compiler/fixedpoint/gadgets.py", "ValueError", "is not an integer"):
        "a construction bug: read-outs divide exactly by construction (spec §2.1)",
    ("turingformer/runtime/looped.py", "AssertionError", "an FFN ends with its last layer"):
        "an internal invariant of the FFN loop (a bug if it fires)",
    ("turingformer/export/torch_module.py", "ValueError", "not a turingformer export"):
        "the standalone loader imports nothing of turingformer (docs/export.md); turingformer's reader "
        "(export/__init__.py) turns it into an ExportError",
    ("turingformer/export/torch_module.py", "ValueError", "export version"):
        "the standalone loader imports nothing of turingformer; export/__init__.py converts it",
    ("turingformer/export/torch_module.py", "ValueError", "is not in the vocabulary"):
        "the standalone loader's own API (plain torch users); turingformer's runners check tokens first",
    ("turingformer/export/torch_module.py", "ValueError", "is a safetensors file but no turingformer export"):
        "the standalone loader imports nothing of turingformer; export/__init__.py converts it",
    ("turingformer/analysis/precision.py", "AssertionError", "step "):
        "layer3_margins' self-check that the exact run is the one measured (a bug if it fires)",
}


def _message_start(node: ast.Raise) -> str:
    call = node.exc
    if isinstance(call, ast.Call) and call.args:
        first = call.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
        if isinstance(first, ast.JoinedStr):
            return "".join(v.value for v in first.values if isinstance(v, ast.Constant))
    return ""


def bare_raises() -> list[tuple[str, str, str, int]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            name = target.id if isinstance(target, ast.Name) else None
            if name in BUILTINS:
                found.append((module, name, _message_start(node), node.lineno))
    return found


def _matches(start: str, message: str) -> bool:
    """An allowed message start matches a raise's message ("" only a raise without a message)."""
    return start.strip() in message if start else not message


def _allowed(module: str, name: str, message: str) -> bool:
    return any(module == m and name == n and _matches(start, message) for (m, n, start) in ALLOWED)


def test_the_scan_sees_raises():
    # the scan must find the raises the allow-list names, or it would pass on nothing
    found = {(m, n) for m, n, _, _ in bare_raises()}
    assert ("turingformer/modelfile.py", "ValueError") in found


def test_no_bare_builtin_raise_on_a_user_path():
    offenders = [f"{m}:{line}: raise {n}({msg[:50]!r}...)" for m, n, msg, line in bare_raises()
                 if not _allowed(m, n, msg)]
    assert not offenders, "bare builtin raises (make them TuringformerError subclasses, or list why not):\n" + \
        "\n".join(offenders)


def test_every_allowed_raise_still_exists():
    found = bare_raises()
    stale = [key for key in ALLOWED if not any(m == key[0] and n == key[1] and _matches(key[2], msg)
                                               for m, n, msg, _ in found)]
    assert not stale, f"allowed raises that no longer exist (remove them from ALLOWED): {stale}"
