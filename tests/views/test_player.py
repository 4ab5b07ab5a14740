"""The HTML player's data and page (views/player.py) and ``turingformer animate``, without a browser
(the browser test is test_player_browser.py)."""

from __future__ import annotations

import json
import re
from fractions import Fraction

import pytest

from turingformer.analysis.inspect import run_with_cache
from turingformer.cli import main
from turingformer.tm.formats import load_machine
from turingformer.tm.simulator import run
from turingformer.views.player import PLAYER_HOOKS, STAGES, player_data, player_html

from paths import ROOT

BB4 = ROOT / "machines" / "busy_beaver_4.yaml"
INCREMENT = ROOT / "machines" / "binary_increment.yaml"


def page_data(page: str) -> dict:
    body = re.search(r'<script type="application/json" id="turingformer-data">(.*?)</script>', page, re.S).group(1)
    return json.loads(body.replace("<\\/", "</"))


def decode_residual(text: str, d: int, stage: int) -> list[Fraction]:
    """The reading player.js does (residualAt), in Python."""
    parts = text.split("|")
    vec = [Fraction(0)] * d
    for k in range(stage + 1):
        if k in (0, len(parts) - 1):
            vec = [Fraction(0)] * d
        for entry in filter(None, parts[k].split(",")):
            j, value = entry.split(":", 1)
            vec[int(j)] = Fraction(value)
    return vec


@pytest.fixture(scope="module")
def increment():
    machine = load_machine(INCREMENT)
    return machine, player_data(machine, "1011")


def test_the_run_is_the_simulators(increment):
    machine, data = increment
    reference = run(machine, "1011")
    assert data["steps"] == reference.steps and data["ok"] and all(data["agree"])
    assert [data["states"][k] for k in data["state"]] == list(reference.states)
    assert data["head"] == list(reference.heads)
    assert [data["symbols"][k] for k in data["write"]] == list(reference.writes)
    assert [data["symbols"][k] for k in data["read"]] == [c.symbol for c in reference]


def test_attention_and_residual_are_the_networks(increment):
    machine, data = increment
    cache = run_with_cache(machine, "1011", names=PLAYER_HOOKS)
    assert data["position"] == [cache.position(t) for t in range(data["steps"] + 1)]
    assert data["prelude"] == 2 * 4 + 3
    for t, i in enumerate(data["position"]):
        assert data["layer3"][t] == cache["decoder.3.attn.winners", i][0]
        assert data["cross"][t] == min(i + 1, 4) - 1            # Lemma 7: reads w_min(i+1,n)
        for stage, (hook, _) in enumerate(STAGES):
            assert decode_residual(data["residual"][t], len(data["dims"]), stage) == list(cache[hook, i]), (t, hook)


def test_the_page_is_self_contained(increment, tmp_path):
    machine, _ = increment
    page = player_html(machine, "1011")
    assert 'id="turingformer-player"' in page and "mountPlayer(" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page)     # nothing fetched
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    for label in ("step forward", "step back", "play", "pause"):
        assert f'"{label}"' in page
    data = page_data(page)
    assert data["steps"] == run(machine, "1011").steps and "<svg" in data["diagram"]


def test_animate_writes_the_page(tmp_path, capsys):
    out = tmp_path / "bb4.html"
    assert main(["animate", str(BB4), "-o", str(out)]) == 0
    assert "wrote" in capsys.readouterr().err
    data = page_data(out.read_text(encoding="utf-8"))
    assert data["steps"] == 107 and data["states"][data["state"][-1]] == "Z"
    assert [p.name for p in tmp_path.iterdir()] == ["bb4.html"]          # no temporary file left


def test_animate_refuses_bad_outputs(tmp_path, capsys):
    previous = tmp_path / "run.html"
    previous.write_text("keep me")
    assert main(["animate", str(BB4), "-o", str(tmp_path / "run.png")]) == 2
    assert "HTML page" in capsys.readouterr().err
    assert main(["animate", str(BB4), "-o", str(tmp_path / "missing" / "run.html")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["animate", str(BB4), "--input", "2", "-o", str(previous)]) == 2
    assert previous.read_text() == "keep me"


def test_the_encoding_is_compact():
    """O(T) numbers: the page of a 2,000-step run stays a few hundred kilobytes."""
    counter = load_machine(ROOT / "benchmarks" / "machines" / "binary_counter.yaml")
    data = player_data(counter, "", max_steps=2000)
    assert data["steps"] == 2000 and data["ok"]
    size = len(json.dumps(data))
    assert size < 200 * data["steps"], size


def test_the_page_allows_only_its_own_script_by_hash():
    import base64
    import hashlib

    page = player_html(load_machine(INCREMENT), "1")
    policy = re.search(r'Content-Security-Policy" content="([^"]*)"', page).group(1)
    script = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    assert f"script-src 'sha256-{digest}';" in policy and "unsafe-inline" not in policy.split("style-src")[0]


@pytest.mark.parametrize("name", ["<!--<script>", "</script><script>alert(1)</script>", "a<!--b-->c"])
def test_markup_in_names_stays_inside_the_data_block(name, tmp_path):
    from turingformer.tm.formats import dump_machine
    machine = load_machine(INCREMENT).replace(name=name)
    page = player_html(machine, "1")
    block = re.search(r'<script type="application/json" id="turingformer-data">(.*?)</script>', page, re.S).group(1)
    assert "<" not in block                                       # no </script>, no <!--: every < is \u003c
    assert page_data(page)["machine"] == name
    assert page.count("<script") == 2                              # the data block and the player, nothing else
    assert dump_machine(machine)                                   # (the name is a legal machine name)


def test_animate_refuses_a_page_too_big_before_any_work(tmp_path, capsys):
    import time

    begun = time.monotonic()
    assert main(["animate", str(BB4), "--max-steps", "1000000", "-o", str(tmp_path / "big.html")]) == 2
    assert "at most 50,000 decoder positions" in capsys.readouterr().err
    long_input = tmp_path / "input.txt"
    long_input.write_text("1" * 5_000_000)
    assert main(["animate", str(INCREMENT), "--input-file", str(long_input), "-o", str(tmp_path / "big.html")]) == 2
    assert "an input of 5,000,000 symbols" in capsys.readouterr().err
    assert time.monotonic() - begun < 10 and not list(tmp_path.glob("*.html"))


def test_a_programs_page_replays_to_the_interpreters_cards():
    """The page's card (first card + changes, replayed as player.js does) is E(interpreter state)
    after every loop, and block 0's address head read the instruction column of the pc."""
    from turingformer.compiler.looped.construction import compile_program
    from turingformer.compiler.looped.construction import expected_card
    from turingformer.programs import run as interpret
    from turingformer.programs.formats import load_program
    from turingformer.views.player import program_player_data

    program = load_program(ROOT / "machines" / "programs" / "fib.subleq")
    data = program_player_data(program, max_loops=60)
    reference = interpret(program, max_steps=60)
    model = compile_program(program)
    d, n = len(data["dims"]), len(data["columns"])
    card = [[0] * n for _ in range(d)]

    def apply(text: str) -> None:
        for entry in filter(None, text.split(",")):
            r, c, v = entry.split(":")
            for j in (range(n) if c == "*" else [int(c)]):
                card[int(r)][j] = int(v)

    apply(data["card"])
    assert data["steps"] == 60 and data["verdict"] == "running" and data["ok"] and all(data["agree"])
    for t, state in enumerate(reference):
        if t:
            apply(data["changes"][t])
            assert data["heads"][t][0] == reference[t - 1].pc + program.cells
        want = expected_card(model, program, state.pc, state.memory)
        assert card == [[int(col[r]) for col in want] for r in range(d)], t
        assert (data["pc"][t], data["memory"][t]) == (state.pc, list(state.memory))


def test_the_widget_carries_a_static_snapshot_for_viewers_without_widgets():
    """In Jupyter the widget view wins; where widgets cannot run (GitHub, nbviewer) the saved
    text/html shows the player at its step, without any script. Notebook 07 is saved with it."""
    from turingformer.views.widget import player

    machine = load_machine(INCREMENT)
    widget = player(machine, "1011", step=5)
    data, _ = widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    snapshot = data["text/html"]
    reference = run(machine, "1011")
    assert "<script" not in snapshot and f"step 5 of {reference.steps}" in snapshot
    assert f'class="state current" data-state="{reference.states[5]}"' in snapshot
    assert f"head on cell {reference.heads[5]}" in snapshot
    saved = json.loads((ROOT / "notebooks" / "07_step_through.ipynb").read_text(encoding="utf-8"))
    outputs = [o for c in saved["cells"] if c["cell_type"] == "code" and "player(machine" in "".join(c["source"])
               for o in c["outputs"]]
    assert any("A static snapshot of the player at step 5" in "".join(o.get("data", {}).get("text/html", ""))
               for o in outputs)
