"""The README's picture of ``gaussmix explore``: a real server, a real (headless) browser.

Starts ``gaussmix explore`` on a free port of 127.0.0.1, opens it in Debian's headless Chromium
(selenium), steps EM a few times, asks for BIC, hovers a point and saves the window as
``docs/images/explorer.png``. Needs ``pip install "gaussmix[explore]" selenium`` and
``apt-get install chromium chromium-driver``. Run from the repository root (about 20 s)::

    python examples/explorer_screenshot.py [--out PICTURE]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from gaussmix.apps.explore.headless import (
    BOKEH_VIEW,
    CLICK,
    FIND_TEXTS,
    chromium,
    find_chromium,
    free_port,
)

OUT = Path(__file__).resolve().parents[1] / "docs" / "images" / "explorer.png"
POINT = "const [name] = arguments;" + BOKEH_VIEW + """
const source = Bokeh.documents[0].get_model_by_name("gm-points").data;
const alphas = Array.from(source.alpha);
let best = 0;  // a point torn between two groups, well inside the picture
const xs = Array.from(source.x), ys = Array.from(source.y);
const cx = (view.frame.x_range.start + view.frame.x_range.end) / 2;
const cy = (view.frame.y_range.start + view.frame.y_range.end) / 2;
let score = Infinity;
for (let i = 0; i < xs.length; i++) {
  const s = Math.abs(alphas[i] - 0.4) * 20 + Math.hypot(xs[i] - cx, ys[i] - cy);
  if (s < score) { score = s; best = i; }
}
const box = view.canvas_view.el.getBoundingClientRect();
return [box.left + view.frame.x_scale.compute(xs[best]),
        box.top + view.frame.y_scale.compute(ys[best])];
"""


def wait(condition, what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = condition()
        except Exception:  # noqa: BLE001 - the page may be mid-redraw
            result = None
        if result:
            return result
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT,
                        help="where the screenshot goes (default: docs/images/explorer.png)")
    return parser.parse_args(argv)


def main(argv=None):
    out = parse_args(argv).out
    if find_chromium() is None:
        raise SystemExit("needs Debian's chromium and chromium-driver (apt-get install them)")
    from selenium.webdriver.common.actions.action_builder import ActionBuilder

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = subprocess.Popen(
        [sys.executable, "-m", "gaussmix", "explore", "--no-browser", "--port", str(port),
         "--seed", "3", "-n", "400", "--overlap", "0.03"],
        env={**os.environ, "MPLBACKEND": "Agg"}, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    profile = tempfile.mkdtemp(prefix="gaussmix-chromium-")
    browser = None
    try:
        wait(lambda: urllib.request.urlopen(url, timeout=5).status == 200, "the server")
        browser = chromium(profile, (1300, 1010), ("--hide-scrollbars",))
        browser.get(url)
        wait(lambda: browser.execute_script(FIND_TEXTS, ".gm-iteration"), "the explorer")
        for iteration in range(1, 5):
            browser.execute_script(CLICK, "button", "Step")
            wait(lambda i=iteration: browser.execute_script(FIND_TEXTS, ".gm-iteration") == [str(i)]
                 and browser.execute_script(FIND_TEXTS, ".gm-chip.gm-on") == ["M-step"],
                 f"iteration {iteration}")
        browser.execute_script(CLICK, "button", "BIC for K = 1 ... 8")
        wait(lambda: browser.execute_script(FIND_TEXTS, ".gm-bic-text"), "BIC")
        x, y = browser.execute_script(POINT, "gm-scatter")
        move = ActionBuilder(browser)
        move.pointer_action.move_to_location(round(x), round(y))
        move.perform()
        time.sleep(0.8)  # the tooltip fades in
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".png", dir=out.parent)
        os.close(fd)
        browser.save_screenshot(tmp)
        os.replace(tmp, out)
        print(f"wrote {out}")
    finally:
        if browser is not None:
            browser.quit()
        server.terminate()
        server.wait(timeout=15)
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
