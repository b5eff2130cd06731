"""The documentation site builds with warnings as errors, its gallery runs, its API page is whole.

``python -m sphinx -W -b html docs docs/_build/html`` is the README's build command; the build
executes every gallery example (``docs/examples/plot_*.py``) and renders every public docstring
with numpydoc, so a broken example, a broken docstring or a broken link in the guide fails here.
The build is done on a copy of ``docs/`` in a temporary directory, so it leaves nothing in the
checkout and always runs every example afresh (sphinx-gallery skips examples it ran before).
"""

from __future__ import annotations

import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import gaussmix

pytest.importorskip("sphinx")
pytest.importorskip("numpydoc")
pytest.importorskip("sphinx_gallery")
pytest.importorskip("pydata_sphinx_theme")
pytest.importorskip("myst_parser")

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLES = sorted((DOCS / "examples").glob("plot_*.py"))
GENERATED = ("_build", "auto_examples", "gen_modules", os.path.join("api", "generated"),
             "sg_execution_times.rst")


def _environment():
    env = dict(os.environ, MPLBACKEND="Agg")
    src = str(ROOT / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    return env


# the gallery's examples that need an optional extra (all are in the "docs" and "test" extras),
# and the gaussmix call that reaches for it when the example does not import it itself
EXTRAS = {"skimage": "image", "arch": "finance", "librosa": "audio"}
USES = {"arch": "load_sp500", "librosa": "file_features"}


def _needs(text):
    return [module for module in EXTRAS if re.search(rf"^(from|import) .*\b{module}\b", text,
                                                      flags=re.MULTILINE)
            or (module in USES and USES[module] in text)]


def test_site_builds_with_warnings_as_errors(tmp_path):
    for module, extra in EXTRAS.items():
        pytest.importorskip(module, reason=f"the gallery needs gaussmix[{extra}]")
    source = tmp_path / "docs"
    shutil.copytree(DOCS, source, ignore=lambda d, names: [
        n for n in names if os.path.relpath(os.path.join(d, n), DOCS) in GENERATED])
    out = tmp_path / "html"
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         str(source), str(out)],
        check=False, capture_output=True, text=True, env=_environment(), timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-6000:]
    for page in ("index", "guide/mixtures", "guide/soft_assignments", "guide/em",
                 "api/index", "api/generated/gaussmix.GaussianMixture", "design"):
        assert (out / f"{page}.html").is_file(), page
    for example in EXAMPLES:
        made = list((source / "auto_examples" / "images").glob(f"sphx_glr_{example.stem}_*.png"))
        assert made, f"{example.name} drew no picture"


def test_there_is_a_gallery():
    assert len(EXAMPLES) >= 7


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
# the EM example's animation is played by sphinx-gallery on the page; run bare, it is not drawn
@pytest.mark.filterwarnings("ignore:Animation was deleted without rendering:UserWarning")
def test_gallery_example_runs(example, monkeypatch):
    plt = pytest.importorskip("matplotlib.pyplot")
    for module in _needs(example.read_text()):
        pytest.importorskip(module, reason=f"needs gaussmix[{EXTRAS[module]}]")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    plt.switch_backend("Agg")
    try:
        runpy.run_path(str(example), run_name="__main__")
    finally:
        plt.close("all")
    text = example.read_text()
    assert re.match(r'"""\n.+\n=+\n', text), "a gallery example opens with a titled docstring"


def _api_names():
    from gaussmix.apps import finance, speaker

    names = [n for n in gaussmix.__all__ if n not in ("__version__", "datasets")]
    names += [f"datasets.{n}" for n in gaussmix.datasets.__all__]
    names += ["io.read_model"]
    names += list(finance.__all__) + list(speaker.__all__)
    return names


def test_every_public_name_is_in_the_api_reference():
    text = (DOCS / "api" / "index.rst").read_text()
    listed = set(re.findall(r"^   ([\w.]+)$", text, flags=re.MULTILINE))
    missing = [n for n in _api_names() if n not in listed and f"``{n}``" not in text]
    assert not missing, f"not in docs/api/index.rst: {missing}"
