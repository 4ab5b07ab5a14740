"""The exported player in a real browser: Debian's headless chromium driven by selenium through the
system chromedriver (nothing is downloaded: SE_AVOID_STATS, explicit binary and driver paths).

Presses the controls and keys, checks the shown step, state and head against the simulator at
several steps, checks the console holds no error, and saves a screenshot. Skipped, saying so,
when chromium or chromedriver is missing (``apt-get install -y chromium chromium-driver``;
``.ci/run`` installs them).
"""

from __future__ import annotations

import os
import shutil

import pytest

from turingformer.cli import main
from turingformer.tm.formats import load_machine
from turingformer.tm.simulator import run

from paths import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
HAVE_BROWSER = os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)

pytestmark = pytest.mark.skipif(
    not HAVE_BROWSER, reason="BROWSER TEST SKIPPED: no chromium/chromedriver on this machine "
                             "(apt-get install -y chromium chromium-driver)")

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,1100")


@pytest.fixture
def browser(tmp_path):
    os.environ["SE_AVOID_STATS"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def shown(driver) -> tuple[int, str, int]:
    player = driver.find_element("id", "turingformer-player")
    return int(player.get_attribute("data-step")), player.get_attribute("data-state"), \
        int(player.get_attribute("data-head"))


def press(driver, label: str, times: int = 1) -> None:
    button = driver.find_element("css selector", f'button[aria-label="{label}"]')
    for _ in range(times):
        button.click()


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
    # the slider: jump to step 60
    browser.execute_script("const s = document.querySelector('.tf-slider'); s.value = 60;"
                           "s.dispatchEvent(new Event('input'));")
    agrees(60)
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
    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert not errors, errors
    shot = tmp_path / "player.png"
    body.send_keys(Keys.HOME)
    press(browser, "step forward", 30)
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    if os.environ.get("TURINGFORMER_SCREENSHOT"):
        shutil.copy(shot, os.environ["TURINGFORMER_SCREENSHOT"])


def test_a_long_run_stays_responsive(browser, tmp_path):
    """A 5,000-step page loads and jumps to any step; the DOM does not grow with the run."""
    page = tmp_path / "counter.html"
    counter = ROOT / "benchmarks" / "machines" / "binary_counter.yaml"
    assert main(["animate", str(counter), "--input", "", "--max-steps", "5000", "-o", str(page)]) == 0
    reference = run(load_machine(counter), "", max_steps=5000)
    browser.get(page.as_uri())
    count = browser.execute_script("return document.getElementsByTagName('*').length")
    for step in (4999, 1234, 0, 5000):
        browser.execute_script(f"const s = document.querySelector('.tf-slider'); s.value = {step};"
                               "s.dispatchEvent(new Event('input'));")
        assert shown(browser) == (step, reference.states[step], reference.heads[step])
    assert browser.execute_script("return document.getElementsByTagName('*').length") == count
    assert count < 2000
    assert not [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
