"""The explorer in headless Chromium: what its browser tests and the README's screenshot share.

Debian's ``chromium`` and ``chromium-driver``, driven by selenium (``pip install selenium``;
neither is part of a gaussmix extra: ``tests/test_explore_browser.py`` and
``examples/explorer_screenshot.py`` use them).

* :func:`find_chromium` and :func:`chromium`: a headless browser whose network is blocked (no
  host name but 127.0.0.1 resolves, and every proxied request goes to a closed port), so a page
  that needed anything from another host shows it;
* :data:`FIND`, :data:`FIND_TEXTS` and :data:`CLICK`: scripts for
  ``driver.execute_script(script, selector, text)`` that look inside shadow roots too (Panel and
  Bokeh render in them): the elements matching ``selector`` (only those whose text is ``text``,
  unless it is ``None``), their texts, or a click on each;
* :data:`BOKEH_VIEW`: the start of a script that sets ``view`` to the Bokeh view of the model
  whose name is in ``name``;
* :func:`free_port`: a free TCP port of 127.0.0.1 for ``gaussmix explore --port``.

Examples
--------
>>> from gaussmix.apps.explore.headless import FIND, free_port
>>> 0 < free_port() < 65536 and "shadowRoot" in FIND
True
"""

from __future__ import annotations

import shutil
import socket

# Headless, quiet, and cut off from every host but 127.0.0.1.
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1", "--proxy-server=127.0.0.1:9",
)

_MATCHES = """
const [selector, text] = arguments; const found = [];
const walk = (root) => {
  root.querySelectorAll(selector).forEach((e) => found.push(e));
  root.querySelectorAll("*").forEach((e) => { if (e.shadowRoot) { walk(e.shadowRoot); } });
};
walk(document);
const matches = text == null ? found : found.filter((e) => e.textContent.trim() === text);
"""
FIND = _MATCHES + "return matches;"
FIND_TEXTS = _MATCHES + "return matches.map((e) => e.textContent.trim());"
CLICK = _MATCHES + "matches.forEach((e) => e.click());"

BOKEH_VIEW = """
const seen = new Set(); let view = null;
const visit = (v) => {
  if (!v || seen.has(v) || view) { return; }
  seen.add(v);
  if (v.model && v.model.name === name) { view = v; return; }
  for (const child of (v.child_views || [])) { visit(child); }
};
const index = Bokeh.index;
(index instanceof Map ? [...index.values()] : Object.values(index)).forEach(visit);
"""


def find_chromium():
    """``(chromium, chromedriver)`` paths, or ``None`` where either is not installed."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def chromium(profile, window_size=(1300, 900), flags=()):
    """A selenium driver of headless Chromium with the network blocked (:data:`FLAGS`), its
    profile in the directory ``profile``, a window of ``window_size`` pixels and any further
    ``flags``."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as err:
        raise ImportError(
            f"Driving the explorer in a browser needs selenium ({err}): pip install selenium"
        ) from err
    found = find_chromium()
    if found is None:
        raise RuntimeError("Driving the explorer in a browser needs Debian's chromium and "
                           "chromium-driver: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    width, height = window_size
    for flag in (*FLAGS, f"--window-size={width},{height}", f"--user-data-dir={profile}",
                 *flags):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(found[1]), options=options)


def free_port():
    """A TCP port of 127.0.0.1 that is free now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
