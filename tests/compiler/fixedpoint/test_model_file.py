"""FLEQ-M through the construction registry (issue 24's protocol): ``compile`` writes a model file
of kind ``fleq-m`` that loads back to the same exact model, and ``run MODEL`` in a fresh process —
the file alone, no program, no interpreter — prints the same JSON Lines as ``simulate``; a damaged
file is one clear error."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from paths import ROOT
from turingformer.compiler import compile, construction_for
from turingformer.compiler.fixedpoint.model import FixedPointModel
from turingformer.errors import ModelFileError
from turingformer.modelfile import load_model, save_model
from turingformer.programs.formats import load_program

MATMUL = ROOT / "machines" / "programs" / "matmul.fleqm"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """(the model, its file): compiled through the registry once for the module."""
    program = load_program(MATMUL)
    assert construction_for(program).name == "fleq-m"
    model = compile(program)
    path = tmp_path_factory.mktemp("fleqm") / "matmul.json"
    save_model(model, path)
    return model, path


def test_the_registry_compiles_a_fleqm_program_and_the_file_round_trips(saved):
    model, path = saved
    assert isinstance(model, FixedPointModel) and model.construction == "fleq-m"
    loaded = load_model(path)
    assert isinstance(loaded, FixedPointModel)
    assert loaded.card == model.card and loaded.labels == model.labels
    assert loaded.transformer.space == model.transformer.space
    assert all(a.ffn.layers == b.ffn.layers for a, b in zip(loaded.transformer.blocks, model.transformer.blocks)
               if a.ffn)
    assert list(loaded.run().json_lines()) == list(model.run().json_lines())


def test_a_fresh_process_runs_the_model_file_alone(saved, tmp_path):
    _, path = saved
    env = {"PYTHONPATH": str(ROOT)}
    ran = subprocess.run([sys.executable, "-m", "turingformer", "run", str(path), "--json"], capture_output=True,
                         text=True, cwd=tmp_path, env=env, check=True)
    simulated = subprocess.run([sys.executable, "-m", "turingformer", "simulate", str(MATMUL), "--json"],
                               capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    assert ran.stdout == simulated.stdout
    summary = json.loads(ran.stdout.splitlines()[-1])
    assert summary["labels"]["C"]["raw"] == [[768, 0, 1024], [-768, 1536, 576], [800, -1664, 960]]


def test_a_damaged_model_file_is_one_clear_error(saved, tmp_path):
    doc = json.loads(saved[1].read_text())
    path = tmp_path / "m.json"
    for damage, phrase in ((lambda d: d["labels"]["functions"].append("mul"), "not a FLEQ-M function"),
                           (lambda d: d["card"].pop(), "columns")):
        broken = json.loads(json.dumps(doc))
        damage(broken)
        path.write_text(json.dumps(broken))
        with pytest.raises(ModelFileError, match=phrase):
            load_model(path)
