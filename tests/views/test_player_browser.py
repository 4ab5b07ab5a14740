"""The exported player in a real browser (tests/browser.py: Debian's headless chromium through the
system chromedriver).

Presses the controls and keys, checks the shown step, state, head and tape against the simulator,
reads the attention strips' pixels back and compares the drawn cells with the decoded winners,
opens deep links (#step=N), a page whose names would break its data block, a looped program's page
and an 800-pixel window and a 16:9 projector, checks the console holds no error, and saves a screenshot. Skipped,
saying so, when chromium or chromedriver is missing.
"""

from __future__ import annotations

import os
import shutil

import pytest

from turingformer.analysis.inspect import run_with_cache
from turingformer.cli import main
from turingformer.tm.formats import load_machine, loads_machine
from turingformer.tm.simulator import run
from turingformer.views.player import PLAYER_HOOKS

from browser import console_errors, needs_browser, press, red_cells, shown, slide_to, start_browser, tape_shown
from paths import ROOT
from strategies import THERE_AND_BACK

pytestmark = needs_browser



@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_browser(tmp_path_factory.mktemp("profile"))
    try:
        yield driver
    finally:
        driver.quit()


def test_the_page_steps_like_the_simulator(browser, tmp_path):
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    machine_file = ROOT / "machines" / "busy_beaver_4.yaml"
    page = tmp_path / "bb4.html"
    assert main(["animate", str(machine_file), "-o", str(page)]) == 0
    reference = run(load_machine(machine_file), "")

    def agrees(step: int) -> None:
        assert shown(browser) == (step, reference.states[step], reference.heads[step])

    browser.get(page.as_uri())
    player = browser.find_element("id", "turingformer-player")
    assert int(player.get_attribute("data-steps")) == reference.steps == 107
    agrees(0)
    press(browser, "step forward", 5)
    agrees(5)
    press(browser, "step back", 2)
    agrees(3)
    body = browser.find_element("tag name", "body")
    body.send_keys(Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT, Keys.ARROW_LEFT)
    agrees(5)
    slide_to(browser, 60)
    agrees(60)
    tape = tape_shown(browser)
    assert len(tape) == 31 and all(symbol == reference[60].tape[cell] for cell, symbol in tape.items())
    lit = browser.find_elements("css selector", "g.state.current")
    assert [g.get_attribute("data-state") for g in lit] == [reference.states[60]]
    fired = browser.find_elements("css selector", "g.edge.fired")
    assert [g.get_attribute("data-from") for g in fired] == [reference.states[59]]
    # play, let it run, pause: wherever it stopped, it shows the simulator's configuration there
    press(browser, "play")
    WebDriverWait(browser, 20).until(lambda d: shown(d)[0] >= 64)
    press(browser, "pause")
    stopped = shown(browser)[0]
    assert 64 <= stopped <= reference.steps
    agrees(stopped)
    assert player.get_attribute("data-playing") == "0"
    body.send_keys(Keys.SPACE)                          # space plays again ...
    WebDriverWait(browser, 20).until(lambda d: shown(d)[0] > stopped)
    body.send_keys(Keys.SPACE)                          # ... and pauses
    assert player.get_attribute("data-playing") == "0"
    body.send_keys(Keys.END)
    agrees(107)
    assert "halted" in browser.find_element("css selector", ".tf-status").text
    assert "agree" in browser.find_element("css selector", ".tf-agree").text
    # the diagram zooms in and back
    view = lambda: [float(v) for v in browser.execute_script(
        "return document.querySelector('.tf-diagram-box svg').getAttribute('viewBox')").split()]
    fit = view()
    press(browser, "zoom in")
    assert view() != fit
    press(browser, "fit the diagram")
    assert view() == fit
    assert not console_errors(browser)
    shot = tmp_path / "player.png"
    body.send_keys(Keys.HOME)
    press(browser, "step forward", 30)
    WebDriverWait(browser, 5).until(lambda d: d.current_url.endswith("#step=30"))   # the address is a deep link
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    if os.environ.get("TURINGFORMER_SCREENSHOT"):
        shutil.copy(shot, os.environ["TURINGFORMER_SCREENSHOT"])


def test_the_drawn_attention_cells_are_the_decoded_winners(browser, tmp_path):
    """Layer 1's strip has one cell per encoder position (the red one is the winner, 0-based) and
    layer 3's one per decoder position: both read back from the canvas pixels."""
    machine = loads_machine(THERE_AND_BACK, "turingformer", "there.yaml")
    source = tmp_path / "there.yaml"
    source.write_text(THERE_AND_BACK, encoding="utf-8")
    page = tmp_path / "there.html"
    assert main(["animate", str(source), "--input", "xxxxx", "-o", str(page)]) == 0
    cache = run_with_cache(machine, "xxxxx", names=PLAYER_HOOKS)
    reference = run(machine, "xxxxx")
    browser.get(page.as_uri() + "#step=2")               # a deep link opens that step
    assert shown(browser) == (2, reference.states[2], reference.heads[2])
    for step in range(reference.steps + 1):
        slide_to(browser, step)
        i = cache.position(step)
        assert red_cells(browser, "canvas.tf-layer-1") == list(cache["decoder.1.cross.winners", i]) \
            == [min(i + 1, 5) - 1], step                                   # Lemma 7: w_min(i+1,n)
        assert red_cells(browser, "canvas.tf-layer-3") == list(cache["decoder.3.attn.winners", i]), step
    assert all(symbol == reference.final.tape[cell] for cell, symbol in tape_shown(browser).items())
    # "edit in turingformer serve": a share link carrying this machine and input, decoded by the page's codec
    from turingformer.tm.formats import dump_machine
    link = browser.find_element("css selector", "a.tf-share").get_attribute("href")
    assert link.startswith("http://127.0.0.1:8000/#m=")
    payload = browser.execute_async_script("tfDecodeShare(arguments[0]).then(arguments[1])", link.split("#m=", 1)[1])
    assert payload == {"v": 1, "file": "machine.yaml", "source": dump_machine(machine), "input": "xxxxx"}
    # a share link opened in a static page: it cannot compile, it says so and points at a local serve
    browser.get("about:blank")                            # opened anew, as a pasted link is
    browser.get(page.as_uri() + "#m=" + link.split("#m=", 1)[1])
    notice = browser.find_element("css selector", ".tf-notice")
    assert notice.is_displayed() and "cannot compile another one" in notice.text
    assert notice.find_element("tag name", "a").get_attribute("href") == link
    assert not console_errors(browser)


def test_names_that_look_like_markup_cannot_blank_the_page(browser, tmp_path):
    evil = "<!--<script>"
    text = (THERE_AND_BACK.replace("name: there and back", f"name: '{evil}'")
            .replace("input alphabet: ['x']", "input alphabet: ['x', '<', '!', '-', 's']"))
    text = text.replace("    '_': ['_', L, left]", "    '_': ['_', L, left]\n    '<': ['<', R, right]\n"
                        "    '!': ['!', R, right]\n    '-': ['-', R, right]\n    's': ['s', R, right]")
    source = tmp_path / "evil.yaml"
    source.write_text(text, encoding="utf-8")
    page = tmp_path / "evil.html"
    assert main(["animate", str(source), "--input", "<!--s", "-o", str(page)]) == 0
    html = page.read_text(encoding="utf-8")
    assert "'unsafe-inline'" not in html.split("script-src", 1)[1].split(";", 1)[0]
    browser.get(page.as_uri())
    player = browser.find_element("id", "turingformer-player")
    assert int(player.get_attribute("data-steps")) == run(loads_machine(text, "turingformer"), "<!--s").steps
    assert evil in browser.find_element("css selector", "h1").text
    assert not console_errors(browser)


def test_a_program_page_shows_the_card_and_the_address_heads(browser, tmp_path):
    from turingformer.programs import run as interpret
    from turingformer.programs.formats import load_program

    program_file = ROOT / "machines" / "programs" / "add.subleq"
    page = tmp_path / "add.html"
    assert main(["animate", str(program_file), "-o", str(page)]) == 0
    reference = interpret(load_program(program_file))
    browser.get(page.as_uri())
    for loop in range(reference.steps + 1):
        slide_to(browser, loop)
        state = reference[loop]
        assert shown(browser)[0] == loop and browser.find_element("id", "turingformer-player").get_attribute(
            "data-state") == str(state.pc)
        cells = [c.text for c in browser.find_elements("css selector", ".tf-memory.tf-tape .tf-cell")]
        assert cells == [str(v) for v in state.memory]
        if loop:                                  # block 0's head fetched the instruction at the previous pc
            assert red_cells(browser, "canvas.tf-head-0") == [reference[loop - 1].pc + len(state.memory)]
    assert len(browser.find_elements("css selector", ".tf-card td.v")) == 16 * 8       # d × n
    assert not console_errors(browser)


@pytest.mark.parametrize("size", ["800,900", "1280,720"], ids=["800-pixels", "projector-16x9"])
def test_a_narrow_window_and_a_projector_show_the_player(tmp_path, size):
    """Issue 21: the layout works at 800 px and on a 16:9 projector: no sideways scrolling, and the
    controls, the tape and the state diagram all lie inside the first screen."""
    page = tmp_path / "bb4.html"
    assert main(["animate", str(ROOT / "machines" / "busy_beaver_4.yaml"), "-o", str(page)]) == 0
    driver = start_browser(tmp_path / "window", size=size)
    try:
        driver.get(page.as_uri())
        assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        height = driver.execute_script("return window.innerHeight")
        assert len(tape_shown(driver)) == 31
        shown_parts = [driver.find_element("css selector", "button[aria-label='step forward']"),
                       driver.find_element("css selector", ".tf-tape"), driver.find_element("css selector", "svg.tf-diagram")]
        for element in shown_parts:
            top, bottom = driver.execute_script(
                "const r = arguments[0].getBoundingClientRect(); return [r.top, r.bottom]", element)
            assert 0 <= top and bottom <= height, (size, element.get_attribute("outerHTML")[:80], top, bottom, height)
    finally:
        driver.quit()


def test_a_long_run_stays_responsive(browser, tmp_path):
    """A 5,000-step page loads and jumps to any step; the DOM does not grow with the run."""
    page = tmp_path / "counter.html"
    counter = ROOT / "benchmarks" / "machines" / "binary_counter.yaml"
    assert main(["animate", str(counter), "--input", "", "--max-steps", "5000", "-o", str(page)]) == 0
    reference = run(load_machine(counter), "", max_steps=5000)
    browser.get(page.as_uri())
    count = browser.execute_script("return document.getElementsByTagName('*').length")
    for step in (4999, 1234, 0, 5000):
        slide_to(browser, step)
        assert shown(browser) == (step, reference.states[step], reference.heads[step])
    assert browser.execute_script("return document.getElementsByTagName('*').length") == count
    assert count < 2000
    assert not console_errors(browser)
