"""``turingformer serve`` in a real browser (tests/browser.py) against the real server (conftest.py).

A student types a machine with a mistake and sees the project's error at the right line; fixes it,
runs it, steps to a chosen step and checks tape, state, head and the drawn attention cells (read
back from the canvas pixels) against the simulator and the decoded winners; the share link opens
the same machine and input in a new browser session; a run over the server's step limit says so.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest

from turingformer.analysis.inspect import run_with_cache
from turingformer.tm.formats import loads_machine
from turingformer.tm.simulator import run
from turingformer.views.player import PLAYER_HOOKS

from browser import console_errors, needs_browser, red_cells, shown, slide_to, start_browser, tape_shown
from serving import SERVER_MAX_STEPS
from strategies import THERE_AND_BACK

pytestmark = needs_browser

#: What the student types: the last rule names a state that does not exist (the fix: 'done').
TYPED = THERE_AND_BACK.replace("'_': ['_', R, done]", "'_': ['_', R, dnoe]")
FIXED = TYPED.replace("dnoe", "done")
WORD = "xxxxx"


def wait(driver, condition, seconds: float = 30):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, seconds).until(condition)


def player_steps(driver) -> int | None:
    steps = driver.find_element("id", "turingformer-player").get_attribute("data-steps")
    return int(steps) if steps else None


def test_type_see_the_error_fix_run_step_share_hit_the_limit_and_load_a_program(server, tmp_path):
    from selenium.webdriver.support.ui import Select

    machine = loads_machine(FIXED, "turingformer", "machine.yaml")
    reference = run(machine, WORD)
    cache = run_with_cache(machine, WORD, names=PLAYER_HOOKS)
    browser = start_browser(tmp_path / "teacher", size="1400,1500")
    try:
        browser.get(server.url)
        wait(browser, lambda d: player_steps(d) is not None)                  # the first example ran
        editor = browser.find_element("id", "tf-source")
        Select(browser.find_element("id", "tf-file")).select_by_value("machine.yaml")
        editor.clear()
        editor.send_keys(TYPED)
        line = TYPED.splitlines().index("    '_': ['_', R, dnoe]") + 1
        check = browser.find_element("id", "tf-check")
        wait(browser, lambda d: check.get_attribute("data-line") == str(line))
        assert re.match(rf"\w+\.yaml:{line}:19: the rule .* goes to the undeclared state 'dnoe'", check.text)
        marked = browser.find_elements("css selector", "#tf-gutter .error")
        assert [m.text for m in marked] == [str(line)]                          # the gutter marks that line
        start = TYPED.index("dnoe")                                             # select the typo, type over it
        browser.execute_script("arguments[0].focus(); arguments[0].setSelectionRange(arguments[1], arguments[2]);",
                               editor, start, start + 4)
        editor.send_keys("done")
        assert editor.get_attribute("value") == FIXED
        wait(browser, lambda d: check.text.startswith("\u2713 there and back"))
        assert not browser.find_elements("css selector", "#tf-gutter .error")
        field = browser.find_element("id", "tf-input")
        field.clear()
        field.send_keys(WORD)
        browser.find_element("id", "tf-run").click()
        wait(browser, lambda d: player_steps(d) == reference.steps)
        for step in (0, 4, 9, reference.steps):
            slide_to(browser, step)
            assert shown(browser) == (step, reference.states[step], reference.heads[step])
            assert all(symbol == reference[step].tape[cell] for cell, symbol in tape_shown(browser).items())
            i = cache.position(step)
            assert red_cells(browser, "canvas.tf-layer-1") == list(cache["decoder.1.cross.winners", i])
            assert red_cells(browser, "canvas.tf-layer-3") == list(cache["decoder.3.attn.winners", i])
        slide_to(browser, 9)
        shot = tmp_path / "serve.png"
        assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
        if os.environ.get("TURINGFORMER_SCREENSHOT_SERVE"):
            shutil.copy(shot, os.environ["TURINGFORMER_SCREENSHOT_SERVE"])
        browser.find_element("id", "tf-share").click()
        link = wait(browser, lambda d: d.find_element("id", "tf-share-url").get_attribute("value"))
        assert link.startswith(server.url + "#m=")
        # the step limit: BB(4) runs 107 steps, the server allows SERVER_MAX_STEPS
        menu = Select(browser.find_element("id", "tf-examples"))
        menu.select_by_visible_text("busy beaver 4 (busy_beaver_4.yaml)")
        message = browser.find_element("id", "tf-message")
        wait(browser, lambda d: "limit:" in message.text)
        assert f"step limit of {SERVER_MAX_STEPS} steps" in message.text and player_steps(browser) == SERVER_MAX_STEPS
        # a program from the menu: the looped transformer's page, card and heads
        menu.select_by_visible_text("add (add.subleq)")
        wait(browser, lambda d: d.find_elements("css selector", ".tf-card td.v"))
        assert player_steps(browser) == 4
        assert browser.find_element("id", "tf-file").get_attribute("value") == "program.subleq"
        assert not console_errors(browser)
    finally:
        browser.quit()
    other = start_browser(tmp_path / "student")                                 # another session, another browser
    try:
        other.get(link)
        wait(other, lambda d: player_steps(d) == reference.steps)
        assert other.find_element("id", "tf-source").get_attribute("value") == FIXED
        assert other.find_element("id", "tf-input").get_attribute("value") == WORD
        slide_to(other, 9)
        assert shown(other) == (9, reference.states[9], reference.heads[9])
        assert not console_errors(other)
    finally:
        other.quit()
