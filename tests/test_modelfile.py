"""Model files (issue 3): exact round trip, clear errors, and decoding from the file alone."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from strategies import BB4
from turingformer.compiler.perez.construction import compile_machine
from turingformer.errors import ModelFileError
from turingformer.modelfile import load_model, save_model
from turingformer.tm.simulator import run


@pytest.mark.parametrize("cross_attention", ["per-layer", "shared"])
@pytest.mark.parametrize("score", ["abs", "clipped"])
def test_save_and_load_give_back_the_same_exact_model(tmp_path, cross_attention, score):
    model = compile_machine(BB4, cross_attention=cross_attention, score=score)
    path = tmp_path / "bb4.json"
    save_model(model, path)
    assert load_model(path) == model
    data = json.loads(path.read_text())
    assert data["format"] == "turingformer-model" and "q2:state=A" in data["spaces"]["residual"]
    assert any(w == "1/3" for _, _, w in data["decoder"][2]["attn"]["query"]["weights"])


def test_the_file_holds_no_transition_table(tmp_path):
    path = tmp_path / "bb4.json"
    save_model(compile_machine(BB4), path)
    labels = json.loads(path.read_text())["labels"]
    assert set(labels) == {"machine_name", "states", "symbols", "blank", "marked_blank", "start", "prelude",
                           "stay", "accept", "reject", "halt", "input_alphabet"}


DECODE_IN_A_FRESH_PROCESS = """
import json, sys
from turingformer.modelfile import load_model
from turingformer.compiler.perez.decoding import run_model
trace = run_model(load_model(sys.argv[1]), "").trace
loaded = sorted(m for m in sys.modules if m.startswith("turingformer."))
print(json.dumps({"summary": trace.summary(), "tapes": [c.tape.span(c.head) for c in trace], "loaded": loaded}))
"""


def test_a_fresh_process_decodes_from_the_file_without_the_machine_or_the_simulator(tmp_path):
    """The proof that decoding never touches the machine: those modules are never even imported."""
    path = tmp_path / "bb4.json"
    save_model(compile_machine(BB4), path)
    out = subprocess.run([sys.executable, "-c", DECODE_IN_A_FRESH_PROCESS, str(path)],
                         capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    for forbidden in ("machine", "simulator", "construction", "normalize", "verify", "formats"):
        assert f"turingformer.{forbidden}" not in result["loaded"]
    reference = run(BB4, "")
    assert result["summary"] == reference.summary()
    assert [tuple(t) for t in result["tapes"]] == [c.tape.span(c.head) for c in reference]


@pytest.mark.parametrize("content, message", [
    ("not json", "not JSON"),
    ('{"format": "something else"}', "not a turingformer model file"),
    ('{"format": "turingformer-model", "version": 99}', "version 99"),
    ('{"format": "turingformer-model", "version": 1, "spaces": {}}', "damaged"),
])
def test_bad_model_files_give_a_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_a_missing_model_file_names_the_path(tmp_path):
    with pytest.raises(ModelFileError, match="cannot read"):
        load_model(tmp_path / "nope.json")
