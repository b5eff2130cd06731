"""``gaussmix explore`` in a real browser: Debian's headless Chromium driven by selenium.

The live app: a real ``gaussmix explore`` server on 127.0.0.1; Step makes the lower bound shown
climb and the ellipses move, the hover lists a point's probabilities, K changes, a screenshot is
taken. The offline page: written by ``gaussmix explore --html``, opened from ``file://`` with the
network blocked, stepped and played. Chromium's network is blocked in every test (every host
name fails to resolve, every proxied request goes to a closed port), so nothing may come from
another host. Skipped, with the reason, only where chromium or chromedriver is missing (``.ci/run``
installs them).
"""

import os
import re
import subprocess
import sys

import pytest

from _helpers import NEEDS_CHROMIUM, explore_server
from gaussmix.apps.explore.headless import BOKEH_VIEW, FIND

pytestmark = NEEDS_CHROMIUM

# The text of the first element matching each selector (read in one go: the page may redraw).
TEXTS = """
const texts = {};
const walk = (root) => {
  for (const [key, selector] of Object.entries(arguments[0])) {
    const e = root.querySelector(selector);
    if (e && !(key in texts)) { texts[key] = e.textContent.trim(); }
  }
  root.querySelectorAll("*").forEach((e) => { if (e.shadowRoot) { walk(e.shadowRoot); } });
};
walk(document);
return texts;
"""

# The text of the last element matching arguments[0] whose text contains every one of
# arguments[1] (or null).
DEEP_LAST_TEXT = """
const [selector, text] = arguments; const texts = [];
const walk = (root) => {
  root.querySelectorAll(selector).forEach((e) => texts.push(e.textContent));
  root.querySelectorAll("*").forEach((e) => { if (e.shadowRoot) { walk(e.shadowRoot); } });
};
walk(document);
return texts.filter((t) => text.every((part) => t.includes(part))).pop() || null;
"""

# A data source's columns by model name, as plain arrays.
SOURCE = """
for (const doc of (window.Bokeh ? Bokeh.documents : [])) {
  const model = doc.get_model_by_name(arguments[0]);
  if (model) {
    const out = {};
    for (const [key, value] of Object.entries(model.data)) {
      out[key] = Array.from(value, (v) => (v != null && v.length !== undefined
                                           && typeof v !== "string") ? Array.from(v) : v);
    }
    return out;
  }
}
return null;
"""

# Viewport position of a data point of the figure named arguments[0].
WHERE = "const [name, x, y] = arguments;" + BOKEH_VIEW + """
const box = view.canvas_view.el.getBoundingClientRect();
return [box.left + view.frame.x_scale.compute(x), box.top + view.frame.y_scale.compute(y)];
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real ``gaussmix explore`` on 127.0.0.1, stopped at the end."""
    with explore_server(tmp_path_factory.mktemp("server"), "-n", "300", "--seed", "0") as (
            url, _, _):
        yield url


def wait_for(driver, condition, what, timeout=30):
    """Poll ``condition()`` until it returns something true; fail saying ``what`` otherwise."""
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.05,
                             ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda _: condition())
    except TimeoutException:
        pytest.fail(f"timed out waiting for {what}; the page says {status(driver)}")


def deep(driver, selector, text=None):
    return driver.execute_script(FIND, selector, text)


def status(driver):
    """What the status line shows: phase, iteration, K and the lower bound (None before one)."""
    selectors = {"phase": ".gm-chip.gm-on", "iteration": ".gm-iteration", "K": ".gm-k",
                 "lower_bound": ".gm-lower-bound"}
    found = driver.execute_script(TEXTS, selectors)
    if set(found) != set(selectors):
        return None
    found["iteration"], found["K"] = int(found["iteration"]), int(found["K"])
    bound = found["lower_bound"]
    found["lower_bound"] = None if bound in ("", "-") else float(bound)
    return found


def click(driver, text):
    buttons = wait_for(driver, lambda: deep(driver, "button", text), f"a {text!r} button")
    buttons[0].click()


def step_to(driver, iteration):
    """Press Step and wait until the M-step of ``iteration`` is shown; return the status."""
    click(driver, "Step")
    return wait_for(
        driver,
        lambda: (s := status(driver)) and s["iteration"] == iteration and s["phase"] == "M-step"
        and s,
        f"the M-step of iteration {iteration}",
    )


def ellipses(driver):
    data = driver.execute_script(SOURCE, "gm-ellipses")
    return [x for path in data["xs"] for x in path] + [y for path in data["ys"] for y in path]


def resources(driver):
    return driver.execute_script(
        "return performance.getEntriesByType('resource').map((e) => e.name)")


def test_live_app_steps_hovers_changes_k_and_screenshots(browser, server, tmp_path):
    browser.get(server)
    first = wait_for(browser, lambda: status(browser), "the explorer to load", timeout=60)
    assert (first["phase"], first["iteration"], first["K"], first["lower_bound"]) == \
        ("Start", 0, 3, None)
    before = ellipses(browser)
    bounds = [step_to(browser, i)["lower_bound"] for i in (1, 2, 3)]
    assert bounds == sorted(bounds) and bounds[-1] > bounds[0], bounds
    after = ellipses(browser)
    assert len(after) == len(before) and max(abs(a - b) for a, b in zip(after, before)) > 1e-3
    curve = browser.execute_script(SOURCE, "gm-curve")
    assert curve["iteration"] == [1, 2, 3]
    assert [round(b, 4) for b in curve["lower_bound"]] == bounds
    assert any("E-step" in e.text for e in deep(browser, ".gm-chip"))

    # hover a point: its probability for each of the three groups
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    points = browser.execute_script(SOURCE, "gm-points")
    middle = [sorted(points[axis])[len(points[axis]) // 2] for axis in ("x", "y")]
    nearest = min(range(len(points["x"])), key=lambda i: (points["x"][i] - middle[0]) ** 2
                  + (points["y"][i] - middle[1]) ** 2)  # well inside the picture
    x, y = browser.execute_script(WHERE, "gm-scatter", points["x"][nearest],
                                  points["y"][nearest])
    move = ActionBuilder(browser)
    move.pointer_action.move_to_location(round(x), round(y))
    move.perform()
    tip = wait_for(browser, lambda: browser.execute_script(
        DEEP_LAST_TEXT, "div", ["group 1:", "group 2:", "group 3:"]), "the hover tooltip")
    shown = [float(value) for value in re.findall(r"group \d: ([0-9.]+)", tip)]
    assert len(shown) == 3 and abs(sum(shown) - 1) < 0.01, tip

    click(browser, "4")
    wait_for(browser, lambda: (s := status(browser)) and s["K"] == 4 and s["iteration"] == 0,
             "K = 4 and a new start")
    wait_for(browser, lambda: len(browser.execute_script(SOURCE, "gm-ellipses")["xs"]) == 12,
             "four groups of three ellipses")
    assert step_to(browser, 1)["lower_bound"] is not None
    click(browser, "\u25b6 Play")
    wait_for(browser, lambda: (s := status(browser)) and s["iteration"] >= 3, "Play to run on")
    click(browser, "\u275a\u275a Pause")
    wait_for(browser, lambda: deep(browser, "button", "\u25b6 Play"), "Play to pause")

    shot = tmp_path / "explorer.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    outside = [url for url in resources(browser) if not url.startswith(server)]
    assert not outside, f"the app fetched from elsewhere: {outside}"


def test_offline_page_opens_from_file_and_steps_without_network(browser, tmp_path):
    page = tmp_path / "em.html"
    result = subprocess.run(
        [sys.executable, "-m", "gaussmix", "explore", "--html", str(page), "--data",
         "old-faithful", "-k", "2", "--seed", "0"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "MPLBACKEND": "Agg"},
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    browser.get(page.as_uri())
    first = wait_for(browser, lambda: status(browser), "the offline page to render")
    assert (first["phase"], first["iteration"], first["K"]) == ("Start", 0, 2)
    remote = re.search(r"<(script|link)\b[^>]*\b(src|href)\s*=\s*[\"']?(https?:)?//",
                       browser.page_source, re.IGNORECASE)
    assert remote is None, f"the page loads from another host: {remote.group(0)}"
    before = ellipses(browser)
    bounds = [step_to(browser, i)["lower_bound"] for i in (1, 2)]
    assert bounds[1] > bounds[0]
    assert ellipses(browser) != before
    click(browser, "\u25b6 Play")
    wait_for(browser, lambda: (s := status(browser)) and s["iteration"] >= 5, "Play to run on")
    click(browser, "Reset")
    wait_for(browser, lambda: (s := status(browser)) and s["iteration"] == 0, "Reset")
    assert all(url.startswith(("file:", "data:", "blob:")) for url in resources(browser)), \
        resources(browser)
