"""The ONNX export (turingformer/export/onnx_graph.py), run by onnxruntime: every program and every
teaching machine's examples as ``run --json`` prints them, the looped model as one ``Loop`` that
stops by itself, the Pérez decoder step with past keys and values, activations as named outputs."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

from exporting import BRIDGE_FILES, MACHINE_FILES, PROGRAM_FILES, compiled, examples, json_lines  # noqa: E402
from paths import MACHINES, PROGRAMS  # noqa: E402
from turingformer.export import check, load_onnx, run, save_onnx, to_onnx  # noqa: E402


@pytest.mark.parametrize("path", PROGRAM_FILES, ids=lambda p: p.name)
def test_every_program_runs_in_onnxruntime_as_run_json_prints_it(path):
    model = compiled(path)
    assert json_lines(run(to_onnx(model), model=model)) == json_lines(model.run())


@pytest.mark.parametrize("path", MACHINE_FILES, ids=lambda p: p.name)
def test_every_teaching_machine_example_runs_in_onnxruntime_as_run_json_prints_it(path):
    model = compiled(path)
    proto = to_onnx(model)
    for word in examples(path):
        assert json_lines(run(proto, word, model=model)) == json_lines(model.run(word)), word


def test_the_bridge_runs_in_onnxruntime():
    for name in BRIDGE_FILES:
        model = compiled(MACHINES / name, "looped-machine")
        proto = to_onnx(model)
        for word in examples(MACHINES / name)[:1]:
            assert json_lines(run(proto, word, model=model)) == json_lines(model.run(word)), (name, word)


def session(proto):
    return onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


def test_a_looped_model_is_one_loop_that_halts_by_itself_with_every_card_a_scan_output():
    model = compiled(PROGRAMS / "mul.subleq")
    proto = to_onnx(model, activations=["loop.1.ffn.hidden"])
    assert [n.op_type for n in proto.graph.node].count("Loop") == 1
    outputs = dict(zip([o.name for o in proto.graph.output], session(proto).run(None, {})))
    loops = model.run().network_steps
    cards = outputs["cards"]
    assert cards.shape == (loops, model.n, len(model.space)) and np.array_equal(outputs["card_final"], cards[-1])
    exact = model.network                                             # the exact runtime, loop by loop
    X = model.card
    for t in range(3):
        X, acts = exact.step(X, capture={"loop.1.ffn.hidden"})
        assert cards[t].tolist() == [[float(v) for v in column] for column in X]
        assert outputs["loop.1.ffn.hidden"][t].tolist() == [[float(v) for v in u] for u in acts["loop.1.ffn.hidden"]]
    few = session(proto).run(["cards"], {"card": cards[0], "max_loops": np.array(5, dtype=np.int64)})[0]
    assert np.array_equal(few, cards[1:6])                            # any card in, max_loops bounds the loop


def test_a_perez_model_is_the_decoder_step_with_past_keys_and_values():
    model = compiled(MACHINES / "binary_increment.yaml")
    proto = to_onnx(model, activations=["decoder.3.attn.pattern"])
    inputs = [i.name for i in proto.graph.input]
    outputs = [o.name for o in proto.graph.output]
    assert inputs[:3] == ["input_ids", "y", "position"] and "past.decoder.3.attn.key" in inputs
    assert {"y_next", "halted", "present.decoder.3.attn.value", "decoder.1.resid_post",
            "decoder.3.attn.pattern"} <= set(outputs)
    from turingformer.compiler.perez.decoding import run_model
    steps = run_model(model, "1011", keep_steps=True, capture={"decoder.3.attn.pattern"}).decoder_steps
    from turingformer.export.runners import OnnxDecoder
    from turingformer.export.onnx_graph import config_of
    driven = list(OnnxDecoder(proto, config_of(proto, "test"))(
        model.transformer, model.labels.encoder_input("1011"), max_steps=100, stop=lambda y: False,
        capture={"decoder.3.attn.pattern"}))[:len(steps)]
    for exact, got in zip(steps, driven):
        assert got.y_out.tolist() == [float(v) for v in exact.y_out]
        assert got.activations["decoder.3.attn.pattern"].tolist() == [float(v) for v in exact.activations["decoder.3.attn.pattern"]]


def test_the_saved_file_is_checked_and_runs(tmp_path):
    model = compiled(MACHINES / "palindrome.yaml")
    save_onnx(to_onnx(model), tmp_path / "p.onnx")
    proto = load_onnx(tmp_path / "p.onnx")
    onnx.checker.check_model(proto, full_check=True)
    assert json_lines(run(tmp_path / "p.onnx", "abba")) == json_lines(model.run("abba"))   # the embedded model decodes
    assert check(proto, 50, "abba").ok


def test_unknown_activations_are_refused():
    from turingformer.errors import ExportError
    with pytest.raises(ExportError, match="no hook 'decoder.9.attn.pattern'"):
        to_onnx(compiled(MACHINES / "binary_increment.yaml"), activations=["decoder.9.attn.pattern"])
