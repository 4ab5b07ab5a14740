"""Atomic outputs (issue 9): a failure, a kill or a concurrent writer never leaves a truncated or
mixed file, and never destroys the previous output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from paths import MACHINES
from turingformer.files import atomic_path, same_file, write_atomic
from turingformer.modelfile import read_model

BB4 = str(MACHINES / "busy_beaver_4.yaml")


def test_write_atomic_replaces_the_file_and_keeps_its_mode(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    os.chmod(path, 0o640)
    write_atomic(path, "new ✓")
    assert path.read_text(encoding="utf-8") == "new ✓" and (path.stat().st_mode & 0o777) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]          # no temporary file left


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "model.json"
    path.write_text("the previous model")
    with pytest.raises(ZeroDivisionError):
        with atomic_path(path) as temporary:
            temporary.write_text("half a mod")
            1 / 0
    assert path.read_text() == "the previous model" and [p.name for p in tmp_path.iterdir()] == ["model.json"]


def test_an_unwritable_destination_names_the_file_asked_for(tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        write_atomic(tmp_path / "missing" / "m.json", "x")
    assert caught.value.filename == str(tmp_path / "missing" / "m.json")


def test_same_file_sees_links_and_ignores_stdio(tmp_path):
    a = tmp_path / "a"
    a.write_text("x")
    (tmp_path / "b").symlink_to(a)
    os.link(a, tmp_path / "c")
    assert same_file(a, tmp_path / "b") and same_file(a, tmp_path / "c")
    assert not same_file(a, tmp_path / "missing") and not same_file("-", "-")


WRITER = """
import sys
from turingformer.files import write_atomic
path, size = sys.argv[1], int(sys.argv[2])
k = 0
while True:                       # rewrite the file forever with complete, recognisable contents
    k += 1
    write_atomic(path, (str(k % 10) * size) + "END")
"""


def test_a_writer_killed_at_any_moment_leaves_a_complete_file(tmp_path):
    path = tmp_path / "big.txt"
    size = 8_000_000
    path.write_text("0" * size + "END")
    for delay in (0.05, 0.2, 0.45, 0.7, 1.0):
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(size)])
        time.sleep(delay)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        text = path.read_text()
        assert len(text) == size + 3 and text.endswith("END") and len(set(text[:-3])) == 1


def test_a_compile_killed_mid_write_leaves_the_old_model_intact(tmp_path):
    model = tmp_path / "bb4.json"
    subprocess.run([sys.executable, "-m", "turingformer", "compile", BB4, "-o", str(model)], check=True,
                   capture_output=True)
    before = model.read_bytes()
    for delay in (0.3, 0.6, 0.9, 1.2):
        compile_ = subprocess.Popen([sys.executable, "-m", "turingformer", "compile", BB4, "-o", str(model),
                                     "--score", "clipped"], stdout=subprocess.DEVNULL)
        time.sleep(delay)
        compile_.send_signal(signal.SIGKILL)
        compile_.wait()
        loaded = read_model(model)                        # complete: old or new, never a mix
        assert not loaded.modified
        assert model.read_bytes() == before or loaded.model.transformer.score == "clipped"


def test_two_concurrent_compiles_to_one_path_leave_one_valid_model(tmp_path):
    model = tmp_path / "m.json"
    runs = [subprocess.Popen([sys.executable, "-m", "turingformer", "compile", BB4, "-o", str(model),
                              "--score", score], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for score in ("abs", "clipped")]
    assert [r.wait() for r in runs] == [0, 0]
    loaded = read_model(model)
    assert not loaded.modified and loaded.model.transformer.score in ("abs", "clipped")
    assert json.loads(model.read_text())["format"] == "turingformer-model"
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]
