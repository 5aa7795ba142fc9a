"""The explorer in headless Chromium: a page with the explorer of a small real sweep, served on
127.0.0.1 (every other host unreachable), driven with the keyboard like a reader would.

Both sliders and the dataset menu, moved with the arrow keys, change the drawing and the
readout, and the readout is what the embedded JSON says for the (dataset, value, time) now
selected, formatted here by the page's rule (Python's ``.3g``); a redraw takes under 50 ms;
play advances the time; a diverged value says so over its drawing; two explorers on one page
both work, and so do two inserted after loading the way a notebook front end shows outputs;
the page loads nothing from the network and logs no SEVERE console entry.

Marker `browser`. The `browser` fixture is test_browser's (skipped, with the command that installs
them, without the browser or its driver).
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
import time

import pytest
import test_browser

from lipbook.explorer import explore
from lipbook.train import WGANConfig

pytestmark = pytest.mark.browser

CONFIG = dict(method="gp", hidden=16, depth=2, batch=64, steps=40, critic_steps=2,
              eval_every=10, eval_samples=128, device="cpu")
LAMS = [0.01, 0.1, 1.0, 10.0, 1e38]  # the last diverges at once (its penalty overflows)
DATASETS = ("8gaussians", "swissroll")  # one with modes, one without
REDRAW_MS = 50

browser = test_browser.browser  # the same headless Chromium fixture as the book's pages


@pytest.fixture(scope="module")
def ex(one_torch_thread):
    return explore(WGANConfig(**CONFIG), "lam", LAMS, snapshots=4, progress=False,
                   datasets=DATASETS)


@pytest.fixture(scope="module")
def site(ex, tmp_path_factory):
    """Pages on 127.0.0.1: one explorer, the same explorer twice (script inlined twice), and an
    empty page for outputs inserted after loading."""
    folder = tmp_path_factory.mktemp("explorer")
    head = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>explorer</title>'
    head += '<link rel="icon" href="data:,">'  # why: no favicon request (a 404 is SEVERE)
    (folder / "one.html").write_text(f"{head}</head><body>{ex.to_html()}</body></html>", "utf-8")
    (folder / "two.html").write_text(
        f"{head}</head><body>{ex.to_html()}<p>between</p>{ex.to_html()}</body></html>", "utf-8")
    (folder / "empty.html").write_text(f"{head}</head><body><main></main></body></html>", "utf-8")
    handler = functools.partial(test_browser._QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _open(driver, url: str) -> list[dict]:
    driver.get_log("browser")  # why: start from an empty console log
    driver.get(url)
    deadline = time.time() + 30
    while driver.execute_script("return document.readyState") != "complete":
        assert time.time() < deadline, f"{url} did not load"
        time.sleep(0.05)
    return driver.get_log("browser")


def expected_readout(d: dict, di: int, vi: int, ti: int) -> str:
    """The readout for (dataset di, value vi, snapshot ti), recomputed from the page's JSON."""
    ds = d["datasets"][di]
    head = f"{ds['name']} · {d['labels'][vi]} · iteration {d['steps'][ti]}"
    fr, dv = ds["frames"][vi][ti], ds["diverged"][vi]
    if fr is None:
        return f"{head} · diverged at iteration {dv}"
    modes = f"{fr['modes'][0]}/{fr['modes'][1]}" if fr["modes"] else "—"
    text = (f"{head} · W1 = {fr['w1']:.3g} · modes {modes} · E f(real) − E f(fake) = "
            f"{fr['dual']:.3g} · mean ‖∇f‖ = {fr['grad']:.3g}")
    if fr["out"]:
        text += f" · {fr['out']} generated point{'' if fr['out'] == 1 else 's'} outside the view"
    if dv is not None:
        text += f" · diverges at iteration {dv}"
    return text


STATE = """
    const root = document.querySelectorAll("div.lipbook-explorer")[arguments[0] || 0];
    return {
      dataset: Number(root.querySelector('select[name="dataset"]').value),
      value: Number(root.querySelector('input[name="value"]').value),
      step: Number(root.querySelector('input[name="step"]').value),
      readout: root.querySelector(".lipbook-readout").textContent,
      landscape: root.querySelector("canvas.lbx-landscape").toDataURL(),
      curves: root.querySelector("canvas.lbx-curves").toDataURL(),
      drawMs: Number(root.dataset.drawMs),
      ready: root.dataset.ready === "1",
      error: root.dataset.error || null,
    };
"""


@pytest.fixture(scope="module")
def page(browser, site):
    console = _open(browser, f"{site}/one.html")
    from selenium.webdriver.common.by import By

    data = json.loads(browser.find_element(
        By.CSS_SELECTOR, "script.lipbook-explorer-data").get_attribute("textContent"))
    return {"console": console, "data": data}


def _press(browser, name: str, key) -> None:
    from selenium.webdriver.common.by import By

    slider = browser.find_element(By.CSS_SELECTOR, f'[name="{name}"]')
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus()",
                           slider)
    assert browser.switch_to.active_element == slider, f"the {name} slider cannot take focus"
    slider.send_keys(key)


def test_both_sliders_move_with_the_keyboard_and_the_readout_matches_the_data(browser, page, ex):
    from selenium.webdriver.common.keys import Keys

    d = page["data"]
    before = browser.execute_script(STATE)
    assert before["ready"] and before["error"] is None
    assert (before["value"], before["step"]) == (len(LAMS) // 2, 0)
    assert before["dataset"] == 0
    assert before["readout"] == expected_readout(d, 0, before["value"], before["step"])
    timings = [before["drawMs"]]
    for name, key in (("value", Keys.ARROW_RIGHT), ("step", Keys.ARROW_RIGHT),
                      ("dataset", Keys.ARROW_DOWN), ("dataset", Keys.ARROW_UP)):
        _press(browser, name, key)
        after = browser.execute_script(STATE)
        moved = -1 if key == Keys.ARROW_UP else 1
        assert after[name] == before[name] + moved, f"{key!r} did not move the {name} control"
        assert after["readout"] != before["readout"], f"{name}: the readout did not change"
        now = after["dataset"], after["value"], after["step"]
        assert after["readout"] == expected_readout(d, *now)
        assert after["readout"] == ex.frame(now[1], now[2], d=now[0])["readout"]
        assert after["landscape"] != before["landscape"], f"{name}: the landscape did not change"
        if name != "step":
            assert after["curves"] != before["curves"], f"{name}: the W1 curves did not change"
        timings.append(after["drawMs"])
        before = after
    print(f"\nexplorer redraw: {', '.join(f'{t:.1f}' for t in timings)} ms "
          f"(first draw, value RIGHT, step RIGHT, dataset DOWN, dataset UP)")
    assert max(timings[1:]) < REDRAW_MS, f"a redraw took {max(timings[1:])} ms"


def test_play_advances_the_time(browser, page):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _press(browser, "step", Keys.HOME)
    start = browser.execute_script(STATE)
    button = browser.find_element(By.CSS_SELECTOR, "button.lbx-play")
    assert button.tag_name == "button"
    button.click()
    assert button.get_attribute("aria-pressed") == "true"
    deadline = time.time() + 5
    while browser.execute_script(STATE)["step"] == start["step"]:
        assert time.time() < deadline, "play did not advance the step"
        time.sleep(0.1)
    button.click()  # pause
    assert button.get_attribute("aria-pressed") == "false"
    now = browser.execute_script(STATE)
    assert now["readout"] == expected_readout(page["data"], now["dataset"], now["value"],
                                              now["step"])


def test_a_diverged_value_is_said_over_its_drawing(browser, page):
    from selenium.webdriver.common.keys import Keys

    d = page["data"]
    ds = d["datasets"][0]
    assert ds["diverged"][-1] is not None and all(f is None for f in ds["frames"][-1])
    _press(browser, "value", Keys.END)
    state = browser.execute_script(STATE)
    assert state["value"] == len(LAMS) - 1 and state["dataset"] == 0
    assert state["readout"] == expected_readout(d, 0, state["value"], state["step"])
    assert "diverged at iteration" in state["readout"]
    red = browser.execute_script("""
        const c = document.querySelector("canvas.lbx-landscape");
        const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < px.length; i += 4) if (px[i] > 150 && px[i + 1] < 60) n++;
        return n;
    """)
    assert red > 50, "the drawing does not say the run diverged"


def test_page_format_is_pythons_3g(browser, page):
    numbers = [0.123456, 1234.5, 999.6, 0.00012345, 1.5e-5, 2.0, -0.0371, 12.0, 100.0, 1e38,
               0.0, 7.77e-7, 0.30000000000000004]
    shown = browser.execute_script("return arguments[0].map(window.lipbookExplorer.format)",
                                   numbers)
    assert shown == [format(x, ".3g") for x in numbers]


def test_page_loads_nothing_from_the_network_and_logs_no_error(browser, page, site):
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert all(u.startswith(site + "/") or u.startswith("data:") for u in resources), resources
    later = browser.get_log("browser")  # what the earlier tests' key presses logged
    severe = [e["message"] for e in page["console"] + later if e["level"] == "SEVERE"]
    assert not severe, severe


def test_two_explorers_on_one_page_both_work(browser, site):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    console = _open(browser, f"{site}/two.html")
    assert not [e for e in console if e["level"] == "SEVERE"]
    first, second = (browser.execute_script(STATE, k) for k in (0, 1))
    assert first["ready"] and second["ready"]
    slider = browser.find_elements(By.CSS_SELECTOR, 'input[name="step"]')[1]
    browser.execute_script("arguments[0].focus()", slider)
    slider.send_keys(Keys.ARROW_RIGHT)
    assert browser.execute_script(STATE, 1)["step"] == second["step"] + 1
    assert browser.execute_script(STATE, 0)["step"] == first["step"]  # the other one stays


# How a notebook front end shows a text/html output after the page has loaded: it sets the
# output's innerHTML (which never runs a script) and then runs each script by putting a fresh
# <script> element with the same text in its place (JupyterLab's and the classic notebook's
# renderers do this for trusted outputs; Colab's output frame runs the HTML's scripts too).
INSERT_LIKE_A_NOTEBOOK = """
    const cell = document.createElement("div");
    cell.className = "output_area";
    document.querySelector("main").appendChild(cell);
    cell.innerHTML = arguments[0];
    for (const old of cell.querySelectorAll("script")) {
      if (old.type === "application/json") continue;  // data, not code
      const run = document.createElement("script");
      run.textContent = old.textContent;
      old.replaceWith(run);
    }
"""


def test_explorers_inserted_like_notebook_outputs_start_and_follow_the_keyboard(browser, site,
                                                                              ex):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    console = _open(browser, f"{site}/empty.html")
    assert not browser.find_elements(By.CSS_SELECTOR, "div.lipbook-explorer")
    for k in range(2):  # two outputs, one after the other: the second finds the script defined
        browser.execute_script(INSERT_LIKE_A_NOTEBOOK, ex.to_html())
        state = browser.execute_script(STATE, k)
        assert state["ready"] and state["error"] is None, state["error"]
    data = json.loads(browser.find_element(
        By.CSS_SELECTOR, "script.lipbook-explorer-data").get_attribute("textContent"))
    slider = browser.find_elements(By.CSS_SELECTOR, 'input[name="step"]')[1]
    browser.execute_script("arguments[0].focus()", slider)
    before = browser.execute_script(STATE, 1)
    slider.send_keys(Keys.ARROW_RIGHT)
    after = browser.execute_script(STATE, 1)
    assert after["step"] == before["step"] + 1 and after["landscape"] != before["landscape"]
    assert after["readout"] == expected_readout(data, after["dataset"], after["value"],
                                                after["step"])
    severe = [e["message"] for e in console + browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe
