"""The scripts in ``examples/`` still run: each in a subprocess, writing into a temporary folder.

Every script is imported and parses the arguments its run uses in the default tier (about a
second for all), so a syntax error, a renamed import or a changed option fails CI at once. The
runs themselves take 5 to 40 s each on 2 busy cores, even at their ``--quick`` sizes (all seven
about 2 minutes): the cheapest (``anomaly_detection.py``, 3 to 4 s) runs by default, the others
are marked ``slow`` and run with ``GAUSSMIX_SLOW=1`` (``make_speaker_corpus.py`` where
``espeak-ng`` is installed, ``explorer_screenshot.py`` where Debian's chromium is). The
scripts' numbers are not checked here (the README quotes them from full runs); a run must
finish, say what it wrote, and write it where it was told.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gaussmix.apps.explore.headless import find_chromium

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
SLOW = os.environ.get("GAUSSMIX_SLOW") == "1"


def _arguments(out):
    """Each script's smoke-run arguments (all output under ``out``), the modules it needs and
    what it must write."""
    return {
        "anomaly_detection": ([str(out / "anomaly.png")], (), ["anomaly.png"]),
        "explorer_screenshot": (["--out", str(out / "explorer.png")],
                                ("selenium", "panel", "bokeh"), ["explorer.png"]),
        "finance_regimes": (["--out", str(out), "--quick"], ("arch",),
                            ["finance_tails.png", "finance_regimes.png"]),
        "make_readme_pictures": (["--out", str(out)], (),
                                 ["overlap.png", "mixture.png", "em.gif", "covariance_models.png"]),
        "make_speaker_corpus": (["--out", str(out), "--limit", "3"], ("soundfile",),
                                ["speakers.csv"]),
        "model_selection": ([str(out / "selection.png"), "--quick"], ("sklearn",),
                            ["selection.png"]),
        "segment_image": ([str(out / "segments.png"), "--quick"], ("skimage", "PIL"),
                          ["segments.png"]),
        "speaker_recognition": (["--out", str(out / "det.png"), "--quick"],
                                ("librosa", "soundfile"), ["det.png"]),
    }


SCRIPTS = sorted(p.stem for p in EXAMPLES.glob("*.py"))
#: Runs cheap enough for the default tier (seconds on 2 busy cores, measured).
QUICK = ("anomaly_detection",)


def test_every_script_has_its_smoke_run():
    assert sorted(_arguments(Path("."))) == SCRIPTS


def _import(name):
    spec = importlib.util.spec_from_file_location(f"gaussmix_example_{name}",
                                                  EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_imports_and_parses_its_arguments(name, tmp_path):
    arguments, needs, _ = _arguments(tmp_path)[name]
    try:
        script = _import(name)
    except ModuleNotFoundError as error:  # an optional extra the script names at its top
        if error.name.partition(".")[0] not in needs:
            raise
        pytest.skip(f"needs {error.name}")
    assert callable(script.main)
    parsed = vars(script.parse_args(arguments))
    assert str(tmp_path) in " ".join(str(v) for v in parsed.values())
    with pytest.raises(SystemExit) as exit_:
        script.parse_args(["--help"])
    assert exit_.value.code == 0


def _run(name, tmp_path):
    arguments, needs, writes = _arguments(tmp_path / "out")[name]
    for module in needs:
        pytest.importorskip(module)
    (tmp_path / "out").mkdir()
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH"))
                                        if p)
    result = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), *arguments],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
                            check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "wrote" in result.stdout or "saved" in result.stdout, result.stdout[-2000:]
    for made in writes:
        assert (tmp_path / "out" / made).stat().st_size > 0, made
    return result


@pytest.mark.parametrize("name", QUICK)
def test_quick_script_runs(name, tmp_path):
    _run(name, tmp_path)


@pytest.mark.slow
@pytest.mark.skipif(not SLOW, reason="runs of 5 to 40 s each: set GAUSSMIX_SLOW=1")
@pytest.mark.parametrize("name", [s for s in SCRIPTS if s not in QUICK])
def test_script_runs(name, tmp_path):
    if name == "explorer_screenshot" and find_chromium() is None:
        pytest.skip("needs Debian's chromium and chromium-driver (.ci/run installs them)")
    if name == "make_speaker_corpus" and shutil.which("espeak-ng") is None:
        pytest.skip("needs espeak-ng (apt-get install espeak-ng)")
    _run(name, tmp_path)
