"""The built book in a real browser: headless Chromium (Debian's `chromium` and
`chromium-driver`, driven by selenium; no browser download) over every page of _toc.yml, served
from the executed build on 127.0.0.1 with every other host unreachable.

Each page: loads nothing from the network (every resource it fetched is on 127.0.0.1 or a
`data:` URL); no SEVERE console entry (none is allowed; ALLOWED_SEVERE would list one with its
reason); every math element typeset by MathJax and no raw `$$` or `\\(` left in the text; every
image loaded (chapters have at least one figure); the launch links point at Colab and Binder
for this chapter; citations link to entries on the references page. Every static animation's
frame slider, moved with the keyboard, changes the frame. A screenshot of each page is saved
in _build/screenshots/.

Marker `browser`: `make test` runs it after the `book` tests, on the same build. Without the
browser or its driver the tests are skipped with the command that installs them.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
from pathlib import Path

import pytest
from test_book import BOOK_REPOSITORY, notebook_pages, page_text, source, toc_files

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "_build" / "screenshots"
INSTALL_HINT = ("headless Chromium is not installed: `apt-get install chromium chromium-driver` "
                "(Debian/Ubuntu; README, 'Two commands') enables the browser test")
ALLOWED_SEVERE: dict[str, str] = {}  # substring of a console message -> why it is harmless
LOAD_TIMEOUT = 60  # seconds for a page, its images and MathJax


def _binaries() -> tuple[str, str] | None:
    # Debian's chromium here and in CI; GitHub's runners (the test workflow) ship google-chrome
    browser = (shutil.which("chromium") or shutil.which("chromium-browser")
               or shutil.which("google-chrome"))
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # why: one line per request would flood the log
        pass


@pytest.fixture(scope="module")
def site(built_book):
    """The built book served on 127.0.0.1 (a free port): its base URL."""
    rc, log, html = built_book
    if rc != 0:
        pytest.fail(f"the book did not build (see test_book.py):\n{log[-3000:]}")
    handler = functools.partial(_QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    found = _binaries()
    if found is None:
        pytest.skip(INSTALL_HINT)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = found
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-default-apps", "--disable-sync", "--no-first-run",
                "--window-size=1280,1600",
                # why: a page that asks for anything outside 127.0.0.1 gets an error for it
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # why: an explicit driver path keeps Selenium Manager from looking for (downloading) one
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    driver.set_page_load_timeout(LOAD_TIMEOUT)
    yield driver
    driver.quit()


def _open(driver, url: str) -> list[dict]:
    """Load ``url``, wait for images and MathJax; return the console entries it logged."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser")  # why: start from an empty console log
    driver.get(url)
    WebDriverWait(driver, LOAD_TIMEOUT).until(
        lambda d: d.execute_script("return document.readyState") == "complete")
    driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const images = Array.from(document.images).map(img => img.complete ? null :
            new Promise(r => { img.onload = img.onerror = r; })).filter(p => p);
        const mathjax = (window.MathJax && MathJax.startup) ? MathJax.startup.promise : null;
        Promise.all([...images, mathjax].filter(p => p)).then(() => done(true),
                                                              () => done(false));
    """)
    return driver.get_log("browser")


@pytest.fixture(scope="module")
def pages(browser, site):  # browser first: without one, skip before building
    """Every page of _toc.yml, opened once: {page: facts read off the live page}."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    facts = {}
    for page in toc_files():
        console = _open(browser, f"{site}/{page}.html")
        info = browser.execute_script(r"""
            const article = document.querySelector("article") || document.body;
            const clone = article.cloneNode(true);
            clone.querySelectorAll("pre, script, style, code").forEach(e => e.remove());
            return {
              resources: performance.getEntriesByType("resource").map(e => e.name),
              mathjax: !!(window.MathJax && MathJax.startup),
              math: article.querySelectorAll(".math").length,
              untypeset: Array.from(article.querySelectorAll(".math"))
                              .filter(e => !e.querySelector("mjx-container")).length,
              typeset: article.querySelectorAll("mjx-container").length,
              text: clone.innerText,
              images: Array.from(article.querySelectorAll("img")).map(
                  i => ({src: i.currentSrc.slice(0, 80), ok: i.complete && i.naturalWidth > 0})),
              links: Array.from(document.querySelectorAll("a[href]")).map(a => a.href),
              citations: Array.from(article.querySelectorAll(".bibtex-citation a[href]"))
                              .map(a => a.href),
              animations: article.querySelectorAll("input.anim-slider").length,
            };
        """)
        info["console"] = console
        browser.save_screenshot(str(SCREENSHOTS / f"{Path(page).name}.png"))
        facts[page] = info
    return facts


@pytest.mark.parametrize("page", toc_files())
def test_page_loads_nothing_from_the_network(pages, site, page):
    outside = [u for u in pages[page]["resources"]
               if not (u.startswith(site + "/") or u.startswith("data:"))]
    assert not outside, f"{page} fetched {outside}"


@pytest.mark.parametrize("page", toc_files())
def test_page_has_no_severe_console_entry(pages, page):
    severe = [e["message"] for e in pages[page]["console"] if e["level"] == "SEVERE"
              and not any(s in e["message"] for s in ALLOWED_SEVERE)]
    assert not severe, f"{page}: {severe}"


@pytest.mark.parametrize("page", toc_files())
def test_page_math_is_typeset(pages, page):
    info = pages[page]
    if info["math"]:  # Sphinx adds MathJax to the pages that have math
        assert info["mathjax"], f"{page}: MathJax did not load"
    assert info["untypeset"] == 0, f"{page}: {info['untypeset']} of {info['math']} not typeset"
    if "$" in page_text(source(page)):
        assert info["typeset"] > 0, f"{page} has math in its source but none on the page"
    raw = re.findall(r".{0,30}(?:\$\$|\\\(|\\\[).{0,30}", info["text"])
    assert not raw, f"{page}: raw TeX left: {raw[:3]}"


@pytest.mark.parametrize("page", toc_files())
def test_page_images_load(pages, page):
    images = pages[page]["images"]
    broken = [i["src"] for i in images if not i["ok"]]
    assert not broken, f"{page}: images that did not load: {broken}"
    if page in notebook_pages():
        assert images, f"{page}: a chapter without a figure"


@pytest.mark.parametrize("page", notebook_pages())
def test_chapter_launch_links(pages, page):
    links = pages[page]["links"]
    name = Path(page).name
    colab = (f"https://colab.research.google.com/github/{BOOK_REPOSITORY}/blob/main/"
             f"book/{name}.ipynb")
    binder = (f"https://mybinder.org/v2/gh/{BOOK_REPOSITORY}/main?urlpath=lab/tree/"
              f"book/{name}.ipynb")
    assert colab in links, f"{page}: no {colab}"
    assert binder in links, f"{page}: no {binder}"


def test_citations_link_to_the_references_page(pages, site, browser):
    _open(browser, f"{site}/book/references.html")
    anchors = set(browser.execute_script(
        "return Array.from(document.querySelectorAll('[id]')).map(e => e.id)"))
    cited = 0
    for page, info in pages.items():
        for href in info["citations"]:
            target, _, anchor = href.partition("#")
            assert target == f"{site}/book/references.html", f"{page}: {href}"
            assert anchor in anchors, f"{page}: {href} points to no entry"
            cited += 1
    citing = [p for p in toc_files() if "{cite" in page_text(source(p))]
    assert citing and cited >= len(citing)
    for page in citing:
        assert pages[page]["citations"], f"{page} cites but shows no citation link"


def test_static_animations_change_frame_when_the_slider_moves(pages, site, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    with_animation = [p for p, info in pages.items() if info["animations"]]
    assert with_animation, "no page has a to_jshtml animation"
    for page in with_animation:
        _open(browser, f"{site}/{page}.html")
        for slider in browser.find_elements(By.CSS_SELECTOR, "input.anim-slider"):
            anim_id = slider.get_attribute("id").removeprefix("_anim_slider")
            image = browser.find_element(By.ID, f"_anim_img{anim_id}")
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", slider)
            first = image.get_attribute("src")
            assert first.startswith("data:image/png;base64,"), page
            slider.send_keys(Keys.END)  # the keyboard moves a range input like a reader would
            last = image.get_attribute("src")
            assert slider.get_attribute("value") == slider.get_attribute("max") != "0", page
            assert last != first, f"{page}: moving the slider did not change the frame"


# every slider chapter's explorer: the hyperparameter its data-param names
EXPLORERS = {"book/03_weight_clipping": "c", "book/04_gradient_penalty": "lam",
             "book/05_spectral_normalization": "n_power_iterations",
             "book/06_gradient_normalization": "eps"}
EXPLORER_TIMINGS = ROOT / "_build" / "explorer-redraw-ms.json"


def test_every_slider_chapter_has_an_explorer_that_follows_the_keyboard(pages, site, browser):
    """Both sliders and the dataset menu of each chapter's explorer, moved with the arrow keys,
    change the drawing and the readout, and the readout is what the page's data says for the
    (dataset, value, time) now selected; every redraw takes under 50 ms (the figures go to _build/explorer-redraw-ms.json
    for the README)."""
    import json

    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from test_explorer_browser import REDRAW_MS, STATE, expected_readout

    timings = {}
    for page, param in EXPLORERS.items():
        _open(browser, f"{site}/{page}.html")
        roots = browser.find_elements(By.CSS_SELECTOR, "div.lipbook-explorer")
        assert len(roots) == 1, f"{page}: {len(roots)} explorers"
        assert roots[0].get_attribute("data-param") == param, page
        data = json.loads(roots[0].find_element(
            By.CSS_SELECTOR, "script.lipbook-explorer-data").get_attribute("textContent"))
        assert len(data["values"]) >= 9 and len(data["steps"]) >= 12, page
        before = browser.execute_script(STATE)
        assert before["ready"] and before["error"] is None, f"{page}: {before['error']}"
        assert len(data["datasets"]) >= 2, f"{page}: one dataset"
        now = before["dataset"], before["value"], before["step"]
        assert before["readout"] == expected_readout(data, *now)
        drawn = []
        for name, count, (back, on) in (
                ("value", len(data["values"]), (Keys.ARROW_LEFT, Keys.ARROW_RIGHT)),
                ("step", len(data["steps"]), (Keys.ARROW_LEFT, Keys.ARROW_RIGHT)),
                ("dataset", len(data["datasets"]), (Keys.ARROW_UP, Keys.ARROW_DOWN))):
            control = roots[0].find_element(By.CSS_SELECTOR, f'[name="{name}"]')
            browser.execute_script("arguments[0].scrollIntoView({block: 'center'}); "
                                   "arguments[0].focus()", control)
            control.send_keys(back if before[name] == count - 1 else on)
            after = browser.execute_script(STATE)
            assert after[name] != before[name], f"{page}: the key did not move {name}"
            assert after["readout"] != before["readout"], f"{page}: {name}: readout unchanged"
            now = after["dataset"], after["value"], after["step"]
            assert after["readout"] == expected_readout(data, *now)
            assert after["landscape"] != before["landscape"], f"{page}: {name}: same drawing"
            drawn.append(after["drawMs"])
            before = after
        timings[page] = drawn
        assert max(drawn) < REDRAW_MS, f"{page}: a redraw took {max(drawn)} ms"
    EXPLORER_TIMINGS.write_text(json.dumps(timings, indent=1))
