"""The household report in a real browser: Debian's Chromium, driven by selenium through its chromedriver.

The browser starts once for the module. Nothing is downloaded: the driver is the system's
``chromedriver`` (Selenium Manager is never asked for one). Without chromium or chromedriver on the
PATH (``apt-get install chromium chromium-driver``), or without selenium, every test here skips.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mcsim.report import build_report, render_html, write_report
from mcsim.report.i18n import NBSP, NNBSP

from .report_helpers import MC, PATHS, SEED, never_funded, pension_covers_all, simulate_json, tiny_run

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="no chromium or chromedriver on the PATH (apt-get install chromium chromium-driver)",
)

SECTIONS = ("household", "outcome", "wealth", "strategy", "spending", "rules", "assumptions", "limits")
CHARTS = ("chart-wealth", "chart-saving", "chart-equity", "chart-spending", "chart-rules")
DESKTOP, PHONE = 1280, 390

FIELDS_JS = """
return Array.from(document.querySelectorAll('[data-field]')).map(e => [e.dataset.field, e.dataset.value, e.textContent]);
"""
CHART_JS = """
const figure = document.getElementById(arguments[0]);
const svg = Array.from(figure.querySelectorAll('svg')).find(s => getComputedStyle(s).display !== 'none');
if (!svg) return null;
const box = svg.getBoundingClientRect();
return {width: box.width, height: box.height, points: Number(figure.dataset.points),
        lines: svg.querySelectorAll('polyline, polygon').length, titles: svg.querySelectorAll('rect.hover title').length,
        visible: Array.from(figure.querySelectorAll('svg')).filter(s => getComputedStyle(s).display !== 'none').length};
"""


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
                     "--no-first-run", "--disable-extensions", "--disable-background-networking"):
        options.add_argument(argument)
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The default household with a tiny trained run (English and French), and three odd households."""
    folder = tmp_path_factory.mktemp("pages")
    run = str(tiny_run(tmp_path_factory))
    data = build_report("default", run=run, n_paths=PATHS, seed=SEED, mc_paths=MC)
    built = {"en": write_report(render_html(data, "en"), folder / "default-en.html"),
             "fr": write_report(render_html(data, "fr"), folder / "default-fr.html")}
    for name, profile in (("pension", pension_covers_all()), ("never", never_funded()), ("crypto", "crypto_holder")):
        built[name] = write_report(render_html(build_report(profile, n_paths=500, seed=1), "en"), folder / f"{name}.html")
    return built


def load(driver, page: Path, width: int = DESKTOP) -> None:
    """Open ``page`` from disk at ``width``, with the logs of earlier pages drained."""
    driver.set_window_size(width, 900)
    driver.get_log("browser")
    driver.get_log("performance")
    driver.get(page.as_uri())
    assert driver.execute_script("return document.readyState") == "complete"


def requests(driver) -> list[str]:
    """URLs the page asked for since the last drain (Chrome DevTools' Network.requestWillBeSent)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def assert_clean_load(driver, page: Path) -> None:
    """No console error and no request but the page's own file."""
    errors = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
    assert errors == [], errors
    assert set(requests(driver)) <= {page.as_uri()}
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0


def test_page_loads_offline_without_errors_or_requests(browser, pages) -> None:
    for name in ("en", "fr"):
        load(browser, pages[name])
        assert_clean_load(browser, pages[name])


def test_every_section_and_chart_is_there(browser, pages) -> None:
    load(browser, pages["en"])
    for section in SECTIONS:
        element = browser.find_element("id", section)
        assert element.is_displayed() and element.text.strip(), section
    for chart in CHARTS:
        shape = browser.execute_script(CHART_JS, chart)
        assert shape is not None and shape["visible"] == 1, chart
        assert shape["width"] > 600 and shape["height"] > 250, (chart, shape)
        assert shape["points"] > 10 and shape["lines"] >= 1 and shape["titles"] > 5, (chart, shape)
    for table in ("outcome-table", "rules-table", "phases-table", "comparison-table", "accounts-table"):
        assert len(browser.find_elements("css selector", f"#{table} tbody tr")) >= 2, table


def test_figures_shown_equal_simulate_json(browser, pages) -> None:
    """The numbers the page shows are `mcsim simulate --json`'s, for the same seed and paths."""
    expected = simulate_json("default")
    load(browser, pages["en"])
    fields = {field: (value, text) for field, value, text in browser.execute_script(FIELDS_JS)}
    checked = 0
    for field, (value, text) in fields.items():
        if not field.startswith("simulation."):
            continue
        node = expected
        for part in field.split(".")[1:]:
            node = node[part]
        assert float(value) == node, field
        assert text.strip(), field
        checked += 1
    assert checked >= 12
    success = expected["success_probability"]["estimate"]
    assert browser.find_element("css selector", "#kpi-success .kpi-value").text == f"{100 * success:.1f}%"
    capital = expected["capital_at_retirement"]["median"]
    assert browser.find_element("css selector", "#kpi-capital .kpi-value").text == f"€{capital:,.0f}"


def test_french_page_formats_numbers_the_french_way(browser, pages) -> None:
    expected = simulate_json("default")
    load(browser, pages["fr"])
    assert browser.find_element("tag name", "html").get_attribute("lang") == "fr"
    success = browser.execute_script("return document.querySelector('#kpi-success .kpi-value').textContent")
    assert success == f"{100 * expected['success_probability']['estimate']:.1f}".replace(".", ",") + f"{NNBSP}%"
    capital = browser.execute_script("return document.querySelector('#kpi-capital .kpi-value').textContent")
    assert capital == f"{expected['capital_at_retirement']['median']:,.0f}".replace(",", NNBSP) + f"{NBSP}€"
    assert "Le résultat du plan" in browser.find_element("id", "outcome").text


def test_screenshot_is_not_blank(browser, pages, tmp_path: Path) -> None:
    from PIL import Image

    load(browser, pages["en"])
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(DESKTOP, min(height, 16_000))
    shot = browser.get_screenshot_as_png()
    (tmp_path / "report.png").write_bytes(shot)
    pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("L"), dtype=float)
    assert pixels.shape[0] > 3000
    assert pixels.var() > 300, pixels.var()
    assert (pixels < 200).mean() > 0.02  # ink: text, lines and bands


def test_phone_width_has_no_page_overflow_and_narrow_charts(browser, pages) -> None:
    load(browser, pages["fr"], PHONE)
    scroll, inner = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner
    for chart in CHARTS:
        shape = browser.execute_script(CHART_JS, chart)
        assert shape["visible"] == 1 and shape["width"] <= inner and shape["height"] > 200, (chart, shape)
        narrow = browser.execute_script(
            "return getComputedStyle(document.querySelector(`#${arguments[0]} svg.narrow`)).display", chart)
        assert narrow == "block"


def test_print_stylesheet(browser, pages) -> None:
    load(browser, pages["en"], PHONE)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        nav = browser.execute_script("return getComputedStyle(document.querySelector('nav')).display")
        wide = browser.execute_script("return getComputedStyle(document.querySelector('#chart-wealth svg.wide')).display")
        assert nav == "none" and wide == "block"
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})


@pytest.mark.parametrize("name", ["pension", "never", "crypto"])
def test_odd_households_render_without_errors_or_empty_charts(browser, pages, name: str) -> None:
    load(browser, pages[name])
    assert_clean_load(browser, pages[name])
    for chart in ("chart-wealth", "chart-spending", "chart-rules"):
        shape = browser.execute_script(CHART_JS, chart)
        assert shape is not None and shape["points"] > 0 and shape["lines"] >= 1, (name, chart, shape)
        assert shape["width"] > 600 and shape["height"] > 250, (name, chart, shape)
    text = browser.find_element("tag name", "body").text
    assert "nan" not in text.lower().split() and "undefined" not in text


def test_the_checks_see_a_request_and_a_console_error(browser, tmp_path: Path) -> None:
    """The detectors above are live: a page that fetches an image and logs an error fails them."""
    page = tmp_path / "leaky.html"
    page.write_text('<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png">'
                    "<script>console.error('boom')</script></body></html>")
    load(browser, page)
    assert any(entry["level"] == "SEVERE" for entry in browser.get_log("browser"))
    assert "http://127.0.0.1:9/x.png" in requests(browser)
