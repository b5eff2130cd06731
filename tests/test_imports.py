"""The everyday path stays light: ``import gaussmix``, ``gaussmix --help`` and a verb's help
import none of the heavy packages (issue 27: every CLI call used to cost seconds of imports).

Each check runs in a fresh interpreter and reads ``sys.modules`` there, so what other tests
imported does not matter.
"""

import json
import subprocess
import sys

import pytest

# Packages that must wait until a name that needs them is used.
HEAVY = ("numpy", "scipy", "sklearn", "pandas", "pyarrow", "matplotlib", "dask", "distributed",
         "bokeh", "panel", "torch", "skimage", "librosa", "rich")

_REPORT = """
import json, sys
{code}
sys.stdout.write(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))
"""


def _top_level_modules(code):
    out = subprocess.run([sys.executable, "-c", _REPORT.format(code=code)], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    return set(json.loads(out.splitlines()[-1]))


def _heavy(loaded):
    return sorted(set(HEAVY) & loaded)


def test_import_gaussmix_imports_nothing_heavy():
    assert _heavy(_top_level_modules("import gaussmix")) == []


def test_import_gaussmix_io_tables_formats_stay_light():
    # the command line reads these for every verb's options
    assert _heavy(_top_level_modules("import gaussmix.io, gaussmix.io.formats")) == []


_CLI = """
import io, contextlib
from gaussmix.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main({argv!r})
    except SystemExit:
        pass
"""


@pytest.mark.parametrize("argv", [
    ["--help"], ["--version"], ["fit", "--help"], ["select", "--help"], ["predict", "--help"],
    ["score", "--help"], ["plot", "--help"], ["outliers", "--help"], ["generate", "--help"],
    ["demo", "--help"], ["explore", "--help"], ["speaker", "--help"],
    ["fit"],  # a usage error: missing DATA
])
def test_cli_help_and_usage_errors_import_nothing_heavy(argv):
    assert _heavy(_top_level_modules(_CLI.format(argv=argv))) == []


def test_public_names_still_resolve_lazily():
    loaded = _top_level_modules(
        "import gaussmix as gm\nimport gaussmix.io\nassert gm.GaussianMixture(2).n_components == 2\n"
        "assert callable(gm.io.load) and callable(gm.save)"
    )
    assert "numpy" in loaded  # the estimators came when asked for
    assert "sklearn" not in loaded and "matplotlib" not in loaded


# What a fit on small data may not import: scikit-learn alone costs over a second (its
# ``__init__`` brings scipy.stats and pandas), more than the fit (issue 27: a small fit under 1 s).
NOT_FOR_A_SMALL_FIT = ("sklearn", "scipy.stats", "scipy.optimize", "pandas", "matplotlib", "dask",
                       "distributed", "bokeh", "panel", "torch", "skimage", "librosa")

_MODULES = """
import json, sys
{code}
sys.stdout.write(json.dumps(sorted(sys.modules)))
"""


def _modules(code):
    out = subprocess.run([sys.executable, "-c", _MODULES.format(code=code)], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    return set(json.loads(out.splitlines()[-1]))


def _not_for_a_small_fit(loaded):
    return sorted(m for m in loaded
                  if any(m == name or m.startswith(name + ".") for name in NOT_FOR_A_SMALL_FIT))


def test_a_small_fit_predict_and_score_import_no_sklearn_scipy_stats_or_pandas():
    loaded = _modules(
        "import numpy as np\n"
        "import gaussmix as gm\n"
        "rng = np.random.default_rng(0)\n"
        "X = np.vstack([rng.normal(c, 1.0, size=(40, 2)) for c in (0.0, 5.0, 10.0)])\n"
        "model = gm.GaussianMixture(3, random_state=0).fit(X)\n"
        "assert model.predict(X).shape == (120,) and np.isfinite(model.score(X))\n"
        "model.predict_proba(X.tolist()); model.score_samples(X[:5]); repr(model)\n"
        "model.get_params(); model.set_params(tol=1e-4)\n"
    )
    assert "gaussmix.estimators.gaussian" in loaded
    assert _not_for_a_small_fit(loaded) == []


def test_a_small_fit_through_the_cli_imports_no_sklearn_scipy_stats_or_pandas(tmp_path):
    """``gaussmix fit`` on a small CSV, saving the model: no scikit-learn (the estimators follow
    its protocol without inheriting its classes), no pictures, clusters or browsers."""
    data = tmp_path / "d.csv"
    data.write_text("x,y\n" + "".join(f"{i % 7},{(i * 3) % 11}\n" for i in range(60)))
    argv = ["fit", str(data), "-k", "2", "-q", "-o", str(tmp_path / "m.gmm")]
    loaded = _modules(_CLI.format(argv=argv))
    assert (tmp_path / "m.gmm").exists()
    assert _not_for_a_small_fit(loaded) == []


@pytest.mark.parametrize("verb", ["predict", "score"])
def test_predict_and_score_through_the_cli_import_no_sklearn_or_pandas(tmp_path, verb):
    """With a text ID column carried into the output: CSV written without pandas."""
    data = tmp_path / "d.csv"
    data.write_text("name,x,y\n" + "".join(f"r{i},{i % 7},{(i * 3) % 11}\n" for i in range(60)))
    model = tmp_path / "m.gmm"
    subprocess.run([sys.executable, "-m", "gaussmix", "fit", str(data), "-k", "2", "-q", "-o",
                    str(model)], check=True, capture_output=True, timeout=120)
    out = tmp_path / "out.csv"
    loaded = _modules(_CLI.format(argv=[verb, str(data), "-m", str(model), "-o", str(out)]))
    assert out.read_text().startswith("name,")
    assert _not_for_a_small_fit(loaded) == []


def test_the_scikit_learn_protocol_needs_scikit_learn_only_when_it_calls():
    """scikit-learn's own calls (``clone``, tags) work, and bring scikit-learn only then."""
    loaded = _modules(
        "import gaussmix as gm\n"
        "model = gm.GaussianMixture(2, random_state=0)\n"
        "assert 'sklearn' not in sys.modules\n"
        "from sklearn.base import clone\n"
        "from sklearn.utils import get_tags\n"
        "assert clone(model).get_params() == model.get_params()\n"
        "assert get_tags(model).estimator_type == 'density_estimator'\n"
    )
    assert "sklearn" in loaded


def test_a_small_model_selection_imports_no_sklearn_or_scipy_stats(tmp_path):
    """``gaussmix select`` and ``select_model`` on small data: no scikit-learn (the grid
    silences its fits' convergence warnings itself instead of filtering scikit-learn's class;
    plain arrays are checked without ``check_array``). Its table is a pandas DataFrame."""
    data = tmp_path / "d.csv"
    data.write_text("x,y\n" + "".join(f"{i % 7},{(i * 3) % 11}\n" for i in range(60)))
    loaded = _modules(_CLI.format(argv=["select", str(data), "-k", "1-3", "--format", "csv"]))
    heavy = [m for m in _not_for_a_small_fit(loaded) if not m.startswith("pandas")]
    assert heavy == []
    loaded = _modules(
        "import numpy as np\n"
        "import gaussmix as gm\n"
        "X = np.random.default_rng(0).normal(size=(80, 2))\n"
        "gm.select_model(X, range(1, 4), progress=False, random_state=0)\n")
    assert [m for m in _not_for_a_small_fit(loaded) if not m.startswith("pandas")] == []
