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
from turingformer.programs import run
from turingformer.programs.formats import load_program

#: A small product program (k = 2, Q8.4: a model file of ~1,000 σ units; matmul.fleqm's is 7,000).
PRODUCT = """.bits 8
.frac 4
.k 2
.data
A: [[1.5, -0.25], [0.75, 2]]
B: [[1/3, 2], [-1, 0.5]]
.cells C
.code
    mm A B C
    smul #0.5 C C
    halt
"""


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """(the program file, the model, its file): compiled through the registry once for the module."""
    folder = tmp_path_factory.mktemp("fleqm")
    source = folder / "product.fleqm"
    source.write_text(PRODUCT)
    program = load_program(source)
    assert construction_for(program).name == "fleq-m"
    model = compile(program)
    path = folder / "product.json"
    save_model(model, path)
    return source, model, path


def test_the_registry_compiles_a_fleqm_program_and_the_file_round_trips(saved):
    _, model, path = saved
    assert isinstance(model, FixedPointModel) and model.construction == "fleq-m"
    loaded = load_model(path)
    assert isinstance(loaded, FixedPointModel)
    assert loaded.card == model.card and loaded.labels == model.labels
    assert loaded.transformer.space == model.transformer.space
    assert all(a.ffn.layers == b.ffn.layers for a, b in zip(loaded.transformer.blocks, model.transformer.blocks)
               if a.ffn)
    assert list(loaded.run().json_lines()) == list(model.run().json_lines())


def test_a_fresh_process_runs_the_model_file_alone(saved, tmp_path):
    source, _, path = saved
    ran = subprocess.run([sys.executable, "-m", "turingformer", "run", str(path), "--json"], capture_output=True,
                         text=True, cwd=tmp_path, env={"PYTHONPATH": str(ROOT)}, check=True)
    assert ran.stdout == "".join(line + "\n" for line in run(load_program(source)).json_lines())
    summary = json.loads(ran.stdout.splitlines()[-1])
    # raw A = [[24, -4], [12, 32]], B = [[5, 32], [-16, 8]] (1/3 → 5/16): A·B = [[184, 736], [-452, 640]] / 16
    # → rnd [[12, 46], [-28, 40]] → halved [[6, 23], [-14, 20]]
    assert summary["labels"]["C"]["raw"] == [[6, 23], [-14, 20]]


def test_a_damaged_model_file_is_one_clear_error(saved, tmp_path):
    doc = json.loads(saved[2].read_text())
    path = tmp_path / "m.json"
    for damage, phrase in ((lambda d: d["labels"]["functions"].append("mul"), "not a FLEQ-M function"),
                           (lambda d: d["card"].pop(), "columns")):
        broken = json.loads(json.dumps(doc))
        damage(broken)
        path.write_text(json.dumps(broken))
        with pytest.raises(ModelFileError, match=phrase):
            load_model(path)
