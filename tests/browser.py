"""The real browser of the player and serve tests: Debian's headless chromium driven by selenium
through the system chromedriver (nothing is downloaded: SE_AVOID_STATS, explicit binary and
driver paths), and what the tests read back from a page (the shown step, the red cells a canvas
strip draws). Tests that use it are skipped, saying so, when chromium or chromedriver is missing
(``apt-get install -y chromium chromium-driver``; ``.ci/run`` installs them)."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
HAVE_BROWSER = os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)

needs_browser = pytest.mark.skipif(
    not HAVE_BROWSER, reason="BROWSER TEST SKIPPED: no chromium/chromedriver on this machine "
                             "(apt-get install -y chromium chromium-driver)")

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


def start_browser(profile, size: str = "1400,1100"):
    """A fresh headless chromium session with its own profile folder and the console log kept."""
    os.environ["SE_AVOID_STATS"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--window-size={size}"):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def shown(driver) -> tuple[int, str, int]:
    """(step, state, head) the player shows, from its data attributes."""
    player = driver.find_element("id", "turingformer-player")
    return int(player.get_attribute("data-step")), player.get_attribute("data-state"), \
        int(player.get_attribute("data-head"))


def press(driver, label: str, times: int = 1) -> None:
    button = driver.find_element("css selector", f'button[aria-label="{label}"]')
    for _ in range(times):
        button.click()


def slide_to(driver, step: int) -> None:
    driver.execute_script("const s = document.querySelector('.tf-slider'); s.value = arguments[0];"
                          "s.dispatchEvent(new Event('input'));", step)


#: Reads the pixels of a canvas strip back: the cells (0-based) whose centre is the player's red.
RED_CELLS = """
const canvas = arguments[0], n = +canvas.getAttribute("data-cells");
const ctx = canvas.getContext("2d"), w = canvas.width, y = Math.floor(canvas.height / 2), out = [];
for (let k = 0; k < n; k++) {
  const [r, g, b] = ctx.getImageData(Math.floor((k + 0.5) * w / n), y, 1, 1).data;
  if (r > 180 && g < 90 && b < 90) out.push(k);
}
return out;
"""


def red_cells(driver, selector: str) -> list[int]:
    return driver.execute_script(RED_CELLS, driver.find_element("css selector", selector))


def tape_shown(driver) -> dict[int, str]:
    """cell -> symbol of the tape window the player shows."""
    cells, numbers = driver.execute_script(
        "const text = (s) => [...document.querySelectorAll(s)].map((e) => e.textContent);"
        "return [text('.tf-tape .tf-cell'), text('.tf-cellno span')];")
    return dict(zip(map(int, numbers), cells))


def console_errors(driver) -> list:
    return [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
