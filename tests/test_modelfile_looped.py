"""Looped model files (kind "looped"): exact round trip, the right model type from load_model, no
program inside, and a fresh process that decodes from the file alone."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import pytest

import looped_random
from paths import ROOT
from turingformer.compiler.looped.construction import compile_program
from turingformer.compiler.looped.model import LoopedModel
from turingformer.compiler.perez.model import PerezModel
from turingformer.errors import ModelFileError
from turingformer.modelfile import from_json, load_model, save_model, to_json
from turingformer.programs import run
from turingformer.programs.formats import load_program
from turingformer.tm.formats import load_machine
from turingformer.compiler.perez.construction import compile_machine


@pytest.mark.parametrize("generator", [looped_random.subleq_h, looped_random.subleq_u, looped_random.fleq_h])
def test_save_and_load_give_back_the_same_exact_model(tmp_path, generator):
    model = compile_program(generator(random.Random(9)))
    save_model(model, tmp_path / "m.json")
    loaded = load_model(tmp_path / "m.json")
    assert isinstance(loaded, LoopedModel) and loaded == model
    data = json.loads((tmp_path / "m.json").read_text())
    assert data["kind"] == "looped" and data["spaces"]["residual"] == list(model.space.names)
    assert all("/" in w or w.lstrip("-").isdigit() for b in data["blocks"] for h in b["heads"]
               for _, _, w in h["query"]["weights"])


def test_perez_models_still_load_as_compiled_models(tmp_path):
    machine = compile_machine(load_machine(ROOT / "machines" / "binary_increment.yaml"))
    save_model(machine, tmp_path / "tm.json")
    assert isinstance(load_model(tmp_path / "tm.json"), PerezModel)
    assert json.loads((tmp_path / "tm.json").read_text())["kind"] == "perez"


def test_unknown_kind_is_a_clear_error():
    data = to_json(compile_program(load_program(ROOT / "machines" / "programs" / "add.subleq")))
    data["kind"] = "rnn"
    with pytest.raises(ModelFileError, match="the unknown kind 'rnn' \\(the kinds are: perez, looped-machine, looped"):
        from_json(data)
    del data["blocks"]
    data["kind"] = "looped"
    with pytest.raises(ModelFileError, match="damaged"):
        from_json(data)


def test_a_fresh_process_decodes_from_the_file_without_the_program(tmp_path):
    program = load_program(ROOT / "machines" / "programs" / "fib.subleq")
    save_model(compile_program(program), tmp_path / "fib.json")
    text = (tmp_path / "fib.json").read_text()
    assert "fib.subleq" not in text and "code" not in json.loads(text)      # no program, no source path
    script = ("import sys; from turingformer.modelfile import load_model;"
              "from turingformer.compiler.looped.model import run_looped;"
              "print('\\n'.join(run_looped(load_model(sys.argv[1])).json_lines()))")
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "fib.json")], capture_output=True,
                         text=True, check=True, cwd=tmp_path).stdout.splitlines()
    assert out == list(run(program).json_lines())
