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
    assert "sklearn" in loaded  # the estimators came when asked for
    assert "matplotlib" not in loaded


def test_a_small_fit_imports_only_what_fitting_needs(tmp_path):
    """``gaussmix fit`` needs scikit-learn (the estimators subclass its BaseEstimator) and what
    it brings, but no pictures, clusters or browsers."""
    data = tmp_path / "d.csv"
    data.write_text("x,y\n" + "".join(f"{i % 7},{(i * 3) % 11}\n" for i in range(60)))
    argv = ["fit", str(data), "-k", "2", "-q", "-o", str(tmp_path / "m.npz")]
    loaded = _top_level_modules(_CLI.format(argv=argv))
    assert "sklearn" in loaded
    assert sorted({"matplotlib", "dask", "distributed", "bokeh", "panel", "torch", "skimage",
                   "librosa"} & loaded) == []
