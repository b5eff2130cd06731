"""``gaussmix demo``: generate a 2-D mixture, learn it, and show both.

The demo draws data with :func:`gaussmix.make_mixture` at a requested overlap, fits a
:class:`~gaussmix.GaussianMixture` one EM iteration at a time, prints the true and learned
parameters side by side (fitted components matched to the true ones) and writes two files:

* ``gmm_demo.png`` - the truth (left) and the fit (right): points coloured by component, red means,
  1, 2 and 3 standard-deviation ellipses;
* ``gmm_demo_em.gif`` - EM at work, one frame per iteration (frame 0 is the initialisation, so the
  GIF has ``n_iter_ + 1`` frames).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..engine import covariance
from ..estimators import GaussianMixture

PNG_NAME = "gmm_demo.png"
GIF_NAME = "gmm_demo_em.gif"


@dataclass
class DemoResult:
    """What :func:`run_demo` made: the true and fitted models, the data and the files written."""

    truth: GaussianMixture
    model: GaussianMixture
    X: np.ndarray
    y: np.ndarray
    png_path: str | None
    gif_path: str | None


def _match_components(truth_means, fitted_means):
    """Order of fitted components that best matches the true ones (Hungarian on mean distances)."""
    from scipy.optimize import linear_sum_assignment

    cost = ((truth_means[:, None, :] - fitted_means[None, :, :]) ** 2).sum(axis=2)
    _, cols = linear_sum_assignment(cost)
    return cols


def _reordered(model, order):
    """A copy of ``model`` with its components in ``order`` (for side-by-side display)."""
    covariances = covariance.get(model.covariance_type).take(model.covariances_, order)
    weights = np.asarray(model.weights_, dtype=np.float64)[order]
    return GaussianMixture.from_parameters(
        weights / weights.sum(), model.means_[order], covariances,
        covariance_type=model.covariance_type,
    )  # fmt: skip


def _vector_text(values):
    return "(" + ", ".join(f"{v:.2f}" for v in np.atleast_1d(values)) + ")"


def _covariance_text(model, k):
    """Compact covariance of component ``k``: its standard deviation(s) and, for a model with
    orientations, the correlation of a 2-D component."""
    cov_model = covariance.get(model.covariance_type)
    matrix = cov_model.dense(model.covariances_, *model.means_.shape)[k]
    sd = np.sqrt(np.diag(matrix))
    _, shape, orientation = cov_model.code
    if shape == "I":  # spherical: one standard deviation
        return f"sd {sd[0]:.2f}"
    text = "sd " + _vector_text(sd)
    if orientation != "I" and len(sd) == 2:
        text += f", corr {matrix[0, 1] / (sd[0] * sd[1]):+.2f}"
    return text


def _check_output_dir(out_dir):
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ValueError(f"The output folder {out_dir!r} exists and is not a folder.")
    os.makedirs(out_dir, exist_ok=True)
    return out_dir


def run_demo(
    n_components=3,
    n_samples=600,
    covariance_type="full",
    seed=0,
    *,
    overlap=0.05,
    out_dir=".",
    animate=True,
    console=None,
):
    """Generate, fit, print true vs learned parameters, and write the demo pictures.

    Parameters
    ----------
    n_components : int, default=3
    n_samples : int, default=600
    covariance_type : str, default='full'
        Used for the true mixture and for the fit.
    seed : int, default=0
        Seeds the data and the fit: same seed, same pictures.
    overlap : float, default=0.05
        Average pairwise overlap of the true components (see :func:`gaussmix.make_mixture`).
    out_dir : str or os.PathLike, default='.'
        Folder for ``gmm_demo.png`` and ``gmm_demo_em.gif`` (created if missing). ``None`` writes
        nothing.
    animate : bool, default=True
        Also write the EM animation.
    console : rich.console.Console, default=None

    Returns
    -------
    DemoResult
    """
    from rich.console import Console
    from rich.table import Table

    from ..datasets.generate import make_mixture

    console = console or Console()
    if n_components < 2:
        raise ValueError("The demo needs at least 2 components (overlap is defined for pairs).")
    if out_dir is not None:
        out_dir = _check_output_dir(out_dir)
    X, y, truth = make_mixture(
        n_samples, n_components, 2, overlap=overlap, covariance_type=covariance_type,
        random_state=seed,
    )  # fmt: skip
    estimator = GaussianMixture(n_components, covariance_type=covariance_type, random_state=seed)
    gif_path = png_path = None
    if out_dir is not None and animate:
        from ..viz import animate_em

        gif_path = os.path.join(out_dir, GIF_NAME)
        model = animate_em(estimator, X, gif_path, reference=truth)  # the PNG's colours
    else:
        model = estimator.fit(X)
    order = _match_components(truth.means_, model.means_)
    shown = _reordered(model, order)

    from sklearn.metrics import adjusted_rand_score

    table = Table(
        title=f"{n_components} components, {n_samples} points, {covariance_type} covariances "
        f"(seed {seed})",
        caption="in each row: true value above, learned value below (fitted components matched "
        "to the true ones)",
    )
    columns = ("k", "weight", "mean", "covariance")
    for column in columns:
        table.add_column(column, justify="right" if column != "covariance" else "left")
    for k in range(n_components):
        table.add_row(
            str(k),
            f"{truth.weights_[k]:.3f}\n{shown.weights_[k]:.3f}",
            f"{_vector_text(truth.means_[k])}\n{_vector_text(shown.means_[k])}",
            f"{_covariance_text(truth, k)}\n{_covariance_text(shown, k)}",
            end_section=True,
        )
    console.print(table)
    ari = adjusted_rand_score(y, model.predict(X))
    ari_truth = adjusted_rand_score(y, truth.predict(X))
    console.print(
        f"Average pairwise overlap of the true components: {truth.overlap_:.4f} "
        f"(requested {overlap}), largest {truth.max_overlap_:.4f}."
    )
    console.print(
        f"Log-likelihood per point: truth {truth.score(X):.4f}, fit {model.score(X):.4f}. "
        f"EM: {model.n_iter_} iterations, converged={model.converged_}. Adjusted Rand index of "
        f"the labels: fit {ari:.3f}, true parameters {ari_truth:.3f}."
    )
    if out_dir is not None:
        png_path = os.path.join(out_dir, PNG_NAME)
        _write_picture(truth, shown, X, png_path)
        console.print(f"Wrote the picture to {os.path.abspath(png_path)}")
        if gif_path is not None:
            console.print(
                f"Wrote the EM animation to {os.path.abspath(gif_path)} "
                f"({model.n_iter_ + 1} frames: the initialisation and {model.n_iter_} iterations)"
            )
    return DemoResult(truth, model, X, y, png_path, gif_path)


def _write_picture(truth, fitted, X, path):
    import matplotlib.pyplot as plt

    from ..viz import plot_mixture
    from ..viz.drawing import atomic_write

    fig, axes = plt.subplots(1, 2, figsize=(13.5, 5.6), layout="constrained", sharex=True,
                             sharey=True)  # fmt: skip
    try:
        plot_mixture(truth, X, ax=axes[0], legend="inside",
                     title=f"truth (average pairwise overlap {truth.overlap_:.3f})")  # fmt: skip
        plot_mixture(fitted, X, ax=axes[1], legend="outside",
                     title=f"learned by EM ({fitted.covariance_type} covariances)")  # fmt: skip
        axes[1].set_ylabel("")
        atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100))
    finally:
        plt.close(fig)
