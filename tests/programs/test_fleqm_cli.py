"""``simulate`` and ``show`` on a ``.fleqm`` program: matrices shown as matrices (values and raw
words), ``--json`` giving each cell as a matrix of decimal strings and raw integers, the memory
map, and a bad program as one located error line with exit status 2."""

from __future__ import annotations

import json

from paths import MACHINES
from turingformer.cli import main

PROGRAMS = MACHINES / "programs"


def run_cli(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_simulate_shows_the_written_cell_per_loop_and_final_matrices(capsys):
    status, out, err = run_cli(capsys, "simulate", str(PROGRAMS / "matmul.fleqm"))
    lines = out.splitlines()
    assert status == 0 and err == ""
    assert lines[0] == f"matmul (FLEQ-M, Q16.8 words, 3×3 cells, 11 cells, 7 instructions), {PROGRAMS / 'matmul.fleqm'}"
    assert lines[1].split() == ["step", "pc", "written"]
    assert lines[3].split() == ["1", "1", "At", "=", "[[1,", "0,", "2.5],", "[2,", "-1,", "1],", "[0.5,", "3,", "-2]]"]
    at = lines.index("halted after 7 loops (pc = s = 7):")
    c = next(i for i, line in enumerate(lines) if line.lstrip().startswith("C ="))
    words = [line.replace("[", " ").replace("]", " ").split() for line in lines[c:c + 3]]
    assert at < c and words[0] == ["C", "=", "3", "0", "4", "raw", "768", "0", "1024"]
    assert words[2] == ["3.125", "-6.5", "3.75", "raw", "800", "-1664", "960"]
    assert lines[-1].startswith("expect: At = [[1, 0, 2.5]") and lines[-1].endswith(": met")


def test_simulate_json_gives_each_cell_as_values_and_raw_words(capsys):
    status, out, _ = run_cli(capsys, "simulate", str(PROGRAMS / "matmul.fleqm"), "--json")
    objects = [json.loads(line) for line in out.splitlines()]
    assert status == 0 and len(objects) == 8 + 1
    summary = objects[-1]
    assert summary["kind"] == "fleq-m" and summary["bits"] == 16 and summary["frac"] == 8 and summary["steps"] == 7
    assert summary["labels"]["C"] == {"value": [["3", "0", "4"], ["-3", "6", "2.25"], ["3.125", "-6.5", "3.75"]],
                                      "raw": [[768, 0, 1024], [-768, 1536, 576], [800, -1664, 960]]}
    assert objects[0]["memory"][0]["raw"][0] == [256, 512, 128]
    assert summary["memory"][8] == summary["labels"]["y"]


def test_show_prints_the_memory_map_and_the_format(capsys):
    status, out, _ = run_cli(capsys, "show", str(PROGRAMS / "inv3.fleqm"))
    assert status == 0
    assert "words: Q24.16 fixed point: raw words [-8388608, 8388607] meaning q / 2^16 in [-128, 127.9999847412109375]" in out
    assert "  2     ONESC   [[1, 0, 0], [1, 0, 0], [1, 0, 0]]" in out
    assert "  17    #32/17  [[1.882354736328125, 0, 0], [0, 0, 0], [0, 0, 0]]" in out


def test_a_bad_program_is_one_error_line(capsys, tmp_path):
    path = tmp_path / "bad.fleqm"
    path.write_text(".k 2\n.data\nm: [[1, 2, 3]]\n.code\nhalt\n")
    status, out, err = run_cli(capsys, "simulate", str(path))
    assert status == 2 and out == ""
    assert err.splitlines()[0] == f"turingformer: error: {path}:3:4: a 1×3 matrix does not fit a 2×2 cell"
    assert "fix: raise .k to 3" in err


def test_json_delta_gives_the_written_cells_as_matrices(capsys):
    status, out, _ = run_cli(capsys, "simulate", str(PROGRAMS / "matmul.fleqm"), "--json", "--delta")
    objects = [json.loads(line) for line in out.splitlines()]
    assert status == 0 and objects[0]["memory"][0]["raw"][0] == [256, 512, 128]
    assert objects[2] == {"step": 2, "pc": 2, "write": {"4": {"value": [["3", "0", "4"], ["-3", "6", "2.25"],
                                                                       ["3.125", "-6.5", "3.75"]],
                                                             "raw": [[768, 0, 1024], [-768, 1536, 576],
                                                                     [800, -1664, 960]]}}}
