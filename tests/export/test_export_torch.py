"""The PyTorch export (turingformer/export/torch_module.py): every program and every teaching
machine's examples run as ``run --json`` prints them, teacher forcing gives the exact outputs, the
hooks fire under the runtime's names, a patched activation changes the run as predicted, the file
loads without turingformer, and where float breaks is reported."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")
torch.set_num_threads(1)                # tiny tensors: threads only wait for each other (docs/export.md)

from exporting import BRIDGE_FILES, MACHINE_FILES, PROGRAM_FILES, compiled, examples, json_lines  # noqa: E402
from paths import MACHINES, ROOT  # noqa: E402
from turingformer.compiler.perez.decoding import WRITE_HOOK, run_model  # noqa: E402
from turingformer.export import check, load_torch, run, save_torch, to_torch  # noqa: E402

WALKER = ROOT / "benchmarks" / "machines" / "zigzag_walker.yaml"


@pytest.mark.parametrize("path", PROGRAM_FILES, ids=lambda p: p.name)
def test_every_program_runs_in_torch_as_run_json_prints_it(path):
    model = compiled(path)
    assert json_lines(run(to_torch(model))) == json_lines(model.run())


@pytest.mark.parametrize("path", MACHINE_FILES, ids=lambda p: p.name)
def test_every_teaching_machine_example_runs_in_torch_as_run_json_prints_it(path):
    model = compiled(path)
    net = to_torch(model)
    for word in examples(path):
        assert json_lines(run(net, word)) == json_lines(model.run(word)), word


@pytest.mark.parametrize("name", BRIDGE_FILES)
def test_the_bridge_runs_in_torch(name):
    model = compiled(MACHINES / name, "looped-machine")
    net = to_torch(model)
    for word in examples(MACHINES / name)[:3]:
        assert json_lines(run(net, word)) == json_lines(model.run(word)), word


def exact_steps(model, word, capture=()):
    return run_model(model, word, keep_steps=True, capture=capture).decoder_steps


def floats(vectors) -> torch.Tensor:
    return torch.tensor([[float(v) for v in vector] for vector in vectors], dtype=torch.float64)


@pytest.mark.parametrize("name, word", [("binary_increment.yaml", "1011"), ("palindrome.yaml", "abba"),
                                        ("busy_beaver_3.yaml", "")])
def test_teacher_forced_outputs_equal_the_exact_outputs(name, word):
    model = compiled(MACHINES / name)
    net = to_torch(model)
    steps = exact_steps(model, word)
    out = net(net.tokens(model.labels.encoder_input(word)), floats(s.y_in for s in steps))
    assert torch.equal(out, floats(s.y_out for s in steps))
    assert net.halted(out[-1]) and not net.halted(out[:-1]).any()


def fired(net, names, call) -> dict:
    """{hook: output} of every hook point in ``names`` during ``call()``, read by forward hooks."""
    modules = dict(net.named_modules())
    seen = {}
    handles = [modules[name].register_forward_hook(lambda m, i, o, name=name: seen.__setitem__(name, o))
               for name in names]
    try:
        with torch.no_grad():
            call()
    finally:
        for handle in handles:
            handle.remove()
    return seen


def test_every_hook_of_the_exact_decoder_fires_under_its_name_in_torch():
    from turingformer.runtime.transformer import decode
    model = compiled(MACHINES / "binary_increment.yaml")
    word = "1011"
    tokens = model.labels.encoder_input(word)
    first = next(decode(model.transformer, tokens, max_steps=1, capture=None))
    names = sorted(first.activations)                 # every hook the exact runtime emits, encoder included
    assert {"decoder.3.attn.pattern", "decoder.1.ffn.hidden", "output.hidden.1", "encoder.0.out"} <= set(names)
    net = to_torch(model)
    ids = net.tokens(tokens)
    seen = fired(net, names, lambda: net.step(net.seed, net.start(ids)))
    assert sorted(seen) == names
    for name in ("decoder.1.resid_post", "decoder.2.resid_post", "output.y", "decoder.1.ffn.hidden"):
        assert seen[name][0].tolist() == [float(v) for v in first.activations[name]], name
    winners = seen["decoder.1.cross.winners"][0]
    assert tuple(np.flatnonzero(winners.numpy())) == first.activations["decoder.1.cross.winners"]


def test_every_hook_of_the_exact_loop_fires_under_its_name_in_torch():
    model = compiled(MACHINES / "programs" / "sum.subleq", "subleq-h2")    # block 1 has two heads: attn.0, attn.1
    X, acts = model.network.step(model.card, capture=None)
    names = sorted(acts)
    assert {"loop.1.attn.0.pattern", "loop.1.attn.1.winners", "loop.1.ffn.hidden", "loop.1.out"} <= set(names)
    net = to_torch(model)
    seen = fired(net, names, lambda: net(net.card))
    assert sorted(seen) == names
    assert seen["loop.1.out"].tolist() == [[float(v) for v in column] for column in X]
    assert seen["loop.1.attn.1.pattern"].tolist() == [[float(v) for v in row] for row in acts["loop.1.attn.1.pattern"]]
    assert net.spaces["loop.1.ffn.hidden"] == list(model.network.blocks[1].ffn.layers[0].target.names)


def symbol_reads(model, net, y) -> list[str]:
    return [a for a in model.labels.symbols if y[net.dims[f"s1:symbol={a}"]] == 1]


@pytest.mark.parametrize("form, hook", [("sum", "winners"), ("pattern", "pattern"), ("pattern", "winners")])
def test_forcing_layer_3_to_attend_elsewhere_changes_the_symbol_read_as_predicted(form, hook):
    """Layer 3 finds the last write to the head's next cell (Lemma 10); pointing it at another
    earlier position whose write differs must make y_{i+1} read that write instead."""
    model = compiled(MACHINES / "binary_increment.yaml")
    word = "1011"
    steps = exact_steps(model, word, capture={"decoder.3.attn.winners"})
    written = {s.i: next((a for a in model.labels.symbols if s.activations[WRITE_HOOK][
        model.transformer.space.index(f"s2:symbol={a}")] == 1), None) for s in steps}
    cases = [(s.i, j) for s in steps for (l,) in [s.activations["decoder.3.attn.winners"]]
             for j in range(s.i) if l != s.i and j != l and written[j] not in (None, written[l])]
    assert cases
    i, j = cases[0]
    net = to_torch(model, form=form)
    ids, ys = net.tokens(model.labels.encoder_input(word)), floats(s.y_in for s in steps)
    before = net(ids, ys)

    def elsewhere(module, inputs, out):
        out = out.clone()
        out[i] = 0
        out[i, j] = 1
        return out

    handle = getattr(net.decoder["3"].attn, hook).register_forward_hook(elsewhere)
    after = net(ids, ys)
    handle.remove()
    assert symbol_reads(model, net, before[i]) != [written[j]]
    assert symbol_reads(model, net, after[i]) == [written[j]]
    assert torch.equal(after[:i], before[:i])                                   # causal: earlier outputs untouched


def test_in_the_sum_form_a_patched_pattern_is_reported_only():
    model = compiled(MACHINES / "binary_increment.yaml")
    net = to_torch(model)
    steps = exact_steps(model, "1011")
    ids, ys = net.tokens(model.labels.encoder_input("1011")), floats(s.y_in for s in steps)
    before = net(ids, ys)
    handle = net.decoder["3"].attn.pattern.register_forward_hook(lambda m, i, o: torch.zeros_like(o))
    assert torch.equal(net(ids, ys), before)
    handle.remove()


def test_the_saved_file_loads_without_turingformer(tmp_path):
    model = compiled(MACHINES / "binary_increment.yaml")
    save_torch(to_torch(model), tmp_path / "bi.safetensors")
    shutil.copy(ROOT / "turingformer" / "export" / "torch_module.py", tmp_path / "turingformer_torch.py")
    script = ("import sys, json; sys.modules['turingformer'] = None\n"
              "import turingformer_torch as tt\n"
              "net = tt.load('bi.safetensors')\n"
              "ys = net.generate(net.tokens(['1', '0', '1', '1']))\n"
              "print(json.dumps({'ys': ys.tolist(), 'carry': net.dims['q1:state=carry'], 'kind': type(net).__name__}))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    steps = exact_steps(model, "1011")
    assert got["ys"] == [[float(v) for v in steps[0].y_in]] + [[float(v) for v in s.y_out] for s in steps]
    assert got["carry"] == model.transformer.space.index("q1:state=carry") and got["kind"] == "EncoderDecoder"
    loaded = load_torch(tmp_path / "bi.safetensors")
    assert json_lines(loaded.run("1011")) == json_lines(model.run("1011"))


def test_a_looped_export_runs_its_loop_driver_and_halts():
    model = compiled(MACHINES / "programs" / "fact.subleq")
    net = to_torch(model)
    cards = net.generate()
    assert len(cards) == model.run().network_steps + 1 and net.halted(cards[-1]) and not net.halted(cards[-2])
    batch = net.generate(torch.stack([net.card, cards[5]]))                       # a batch: two cards at once
    assert torch.equal(batch[-1, 0], cards[-1]) and torch.equal(batch[-1, 1], cards[-1])


def test_float32_on_request():
    model = compiled(MACHINES / "binary_increment.yaml")
    net = to_torch(model, dtype="float32")
    assert net.seed.dtype == torch.float32
    assert json_lines(run(net, "1011")) == json_lines(model.run("1011"))


def test_float32_breaks_on_the_walker_and_check_names_where():
    """docs/export.md, 'Where float breaks': float32 first chooses another write at layer 3 after
    about a hundred decoder steps (the float runtime: 104 with the sum form, docs/precision.md)."""
    import turingformer
    model = turingformer.compile(turingformer.load(WALKER))
    result = check(to_torch(model, dtype="float32"), 400, "")
    assert not result.ok and result.divergence.where == "decoder.3.attn.winners"
    assert 60 <= result.divergence.step <= 200 and result.checked == result.divergence.step
    assert check(to_torch(model), result.divergence.step + 20, "").ok        # float64 is still exact there


def test_check_names_the_first_divergence_of_a_damaged_export():
    model = compiled(MACHINES / "programs" / "fact.subleq")
    net = to_torch(model)
    assert check(net, 1000).ok
    with torch.no_grad():
        net.loop["2"].ffn._modules["0"].bias += 0.25                            # nudge one block
    found = check(net, 1000).divergence
    assert found is not None and found.unit == "loop" and found.where == "card" and found.column is not None
    assert found.slot in net.dims and found.expected != Fraction(found.got)
    perez = compiled(MACHINES / "binary_increment.yaml")
    damaged = to_torch(perez)
    with torch.no_grad():
        damaged.decoder["3"].attn.query.weight[0] = 0                           # layer 3 loses a coordinate
    found = check(damaged, 100, "1011").divergence
    assert found.where == "decoder.3.attn.winners" and found.unit == "decoder step"
