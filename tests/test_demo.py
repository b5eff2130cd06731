"""``gaussmix demo`` as a user runs it: a subprocess that writes a PNG and a GIF."""

import io
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from rich.console import Console

import gaussmix as gm
from _helpers import ONE_PER_REPRESENTATION
from gaussmix.cli.demo import run_demo


def _run(*args, cwd=None):
    env = {**os.environ, "MPLBACKEND": "Agg", "COLUMNS": "100"}
    return subprocess.run(
        [sys.executable, "-m", "gaussmix", "demo", *args],
        capture_output=True, text=True, check=False, env=env, cwd=cwd, timeout=300,
    )  # fmt: skip


def test_demo_writes_png_and_gif_with_one_frame_per_iteration(tmp_path):
    out = tmp_path / "pictures"  # created by the demo
    result = _run("-k", "3", "-n", "300", "--seed", "1", "--overlap", "0.08", "-o", str(out))
    assert result.returncode == 0, result.stderr
    png, gif = out / "gmm_demo.png", out / "gmm_demo_em.gif"
    with Image.open(png) as image:
        assert image.format == "PNG"
        assert image.width > 800 and image.height > 400
        image.load()
    # The same data and estimator in this process give the number of EM iterations.
    X, _, _ = gm.make_mixture(300, 3, 2, overlap=0.08, covariance_type="full", random_state=1)
    n_iter = gm.GaussianMixture(3, covariance_type="full", random_state=1).fit(X).n_iter_
    with Image.open(gif) as animation:
        assert animation.format == "GIF"
        assert animation.n_frames == n_iter + 1  # the initialisation, then one per iteration
    stdout = " ".join(result.stdout.split())
    assert "gmm_demo.png" in stdout and "gmm_demo_em.gif" in stdout
    assert f"{n_iter} iterations" in stdout
    assert sorted(p.name for p in out.iterdir()) == ["gmm_demo.png", "gmm_demo_em.gif"]


def test_demo_bad_arguments_fail_cleanly(tmp_path):
    result = _run("--overlap", "1.5", "-o", str(tmp_path))
    assert result.returncode == 2
    assert "overlap" in result.stderr and "Traceback" not in result.stderr
    result = _run("--overlap", "0.97", "--no-animation", "-o", str(tmp_path))
    assert result.returncode == 1
    assert "cannot be reached" in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("covariance_type", ONE_PER_REPRESENTATION[1::2])  # tied, spherical
def test_run_demo_prints_true_and_learned_parameters(tmp_path, covariance_type):
    buffer = io.StringIO()
    console = Console(file=buffer, width=120)
    result = run_demo(
        3, 400, covariance_type, 3, overlap=0.02, out_dir=tmp_path, animate=False,
        console=console,
    )  # fmt: skip
    text = " ".join(buffer.getvalue().split())
    assert f"{covariance_type} covariances" in text
    for k in range(3):
        assert f"{result.truth.weights_[k]:.3f}" in text
    assert result.gif_path is None and os.path.exists(result.png_path)
    assert abs(result.truth.overlap_ - 0.02) < 1e-6
    # well separated data: the fit recovers the means (up to label switching)
    fitted = np.sort(result.model.means_[:, 0])
    np.testing.assert_allclose(fitted, np.sort(result.truth.means_[:, 0]), atol=0.5)
