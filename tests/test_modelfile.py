"""Model files (issue 3): exact round trip, clear errors, and decoding from the file alone."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from strategies import BB4
from turingformer.compiler.perez.construction import compile_machine
from turingformer.errors import ModelFileError
from turingformer.modelfile import load_model, read_model, save_model
from turingformer.tm.formats import load_machine, loads_machine
from paths import MACHINES
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


def test_the_labels_hold_no_transition_table(tmp_path):
    path = tmp_path / "bb4.json"
    save_model(compile_machine(BB4), path)
    labels = json.loads(path.read_text())["labels"]
    assert set(labels) == {"machine_name", "states", "symbols", "blank", "marked_blank", "start", "prelude",
                           "stay", "accept", "reject", "halt", "input_alphabet"}


def test_the_source_machine_and_its_examples_are_recorded_and_digested(tmp_path):
    machine = load_machine(MACHINES / "binary_increment.yaml")
    path = tmp_path / "inc.json"
    save_model(compile_machine(machine), path, source=machine)
    data = json.loads(path.read_text())
    assert loads_machine(data["source"]["machine"], "turingformer") == machine
    assert data["source"]["examples"] == [e.input for e in machine.examples] and data["source"]["examples"][0] == "1011"
    assert data["digest"].startswith("sha256:") and len(data["digest"]) == 71
    loaded = read_model(path)
    assert not loaded.modified and loaded.default_input() == "1011" and loaded.kind == "perez"


def _rewrite(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return read_model(path)


def test_the_digest_is_of_the_canonical_model(tmp_path):
    """Rewriting a weight in another notation, or re-indenting, is no modification; any change of
    value, of a label or of the recorded machine is."""
    path = tmp_path / "bb4.json"
    save_model(compile_machine(BB4), path, source=BB4)
    one_third = next(w for w in json.loads(path.read_text())["decoder"][2]["attn"]["query"]["weights"] if w[2] == "1/3")

    def renotate(d):
        for w in d["decoder"][2]["attn"]["query"]["weights"]:
            if w[:2] == one_third[:2]:
                w[2] = "2/6"
    assert not _rewrite(path, renotate).modified
    save_model(compile_machine(BB4), path, source=BB4)
    assert _rewrite(path, lambda d: d["decoder"][2]["attn"]["query"]["weights"][0].__setitem__(2, "7")).modified
    save_model(compile_machine(BB4), path, source=BB4)
    assert _rewrite(path, lambda d: d["labels"].update(machine_name="other")).modified
    save_model(compile_machine(BB4), path, source=BB4)
    assert _rewrite(path, lambda d: d["source"].update(examples=["1"])).modified


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
    save_model(compile_machine(BB4), path, source=BB4)     # the recorded machine is never parsed
    out = subprocess.run([sys.executable, "-c", DECODE_IN_A_FRESH_PROCESS, str(path)],
                         capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    assert "turingformer.compiler.perez.decoding" in result["loaded"]
    for forbidden in ("tm.machine", "tm.simulator", "tm.formats", "compiler.perez.construction",
                      "compiler.perez.normalize", "analysis.verify"):
        assert f"turingformer.{forbidden}" not in result["loaded"]
    reference = run(BB4, "")
    assert result["summary"] == reference.summary()
    assert [tuple(t) for t in result["tapes"]] == [c.tape.span(c.head) for c in reference]


@pytest.mark.parametrize("content, message", [
    ("not json", "not JSON"),
    ('{"format": "something else"}', "not a turingformer model file"),
    ('{"format": "turingformer-model", "version": 99}', "version 99"),
    ('{"format": "turingformer-model", "version": 1}', "version 1; this turingformer reads version 2"),
    ('{"format": "turingformer-model", "version": 2, "kind": "perez", "digest": "sha256:' + "0" * 64 + '", '
     '"spaces": {}}', "damaged: the document: missing 'source', 'score'"),
])
def test_bad_model_files_give_a_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_a_missing_model_file_names_the_path(tmp_path):
    with pytest.raises(ModelFileError, match="cannot read"):
        load_model(tmp_path / "nope.json")
