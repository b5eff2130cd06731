"""Remake the pictures shown in README.md, into docs/images/.

Run from the repository root::

    python examples/make_readme_pictures.py [--out FOLDER]   # default: docs/images/

Everything is seeded, so the pictures only change when the code does.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from sklearn.metrics import adjusted_rand_score

import gaussmix as gm

OUT = Path(__file__).resolve().parent.parent / "docs" / "images"
DPI = 80
log = logging.getLogger("make_readme_pictures")


def save(fig, name):
    path = OUT / name
    tmp = path.with_suffix(".tmp" + path.suffix)
    fig.savefig(tmp, dpi=DPI)
    os.replace(tmp, path)
    plt.close(fig)
    log.info("wrote %s (%.0f KB)", path, path.stat().st_size / 1024)


def overlap_panels():
    """The same kind of mixture at three requested overlaps: overlap really sets difficulty."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.6), layout="constrained")
    for ax, overlap in zip(axes, (0.001, 0.05, 0.2)):
        X, y, truth = gm.make_mixture(600, 4, overlap=overlap, random_state=3)
        ari = adjusted_rand_score(y, truth.predict(X))
        gm.plot_mixture(truth, X, ax=ax, legend=None,
                        title=f"overlap={overlap}: ARI of the true model {ari:.2f}")  # fmt: skip
    fig.suptitle("gm.make_mixture(600, 4, overlap=...): the truth, points coloured by component")
    save(fig, "overlap.png")


def fitted_mixture():
    X, _, _ = gm.make_mixture(800, 4, overlap=0.04, weights="random", random_state=7)
    model = gm.GaussianMixture(4, random_state=0).fit(X)
    ax = gm.plot_mixture(model, X)
    ax.figure.set_size_inches(8.5, 5.5)
    save(ax.figure, "mixture.png")
    ax = gm.plot_density(model, X)
    ax.figure.set_size_inches(7.5, 5.5)
    save(ax.figure, "density.png")


def em_animation():
    X, _, _ = gm.make_mixture(500, 4, overlap=0.06, random_state=11)
    estimator = gm.GaussianMixture(4, init_params="kmeans", random_state=1)
    path = OUT / "em.gif"
    model = gm.animate_em(estimator, X, path, fps=3, dpi=64, figsize=(6.4, 4.8))
    log.info("wrote %s (%.0f KB, %d frames)", path, path.stat().st_size / 1024, model.n_iter_ + 1)
    ax = gm.plot_lower_bound(model)
    save(ax.figure, "lower_bound.png")


def pairs_plot():
    X, _, _ = gm.make_mixture(900, 3, 4, overlap=0.02, random_state=5)
    model = gm.GaussianMixture(3, random_state=0).fit(X)
    fig = gm.plot_pairs(model, X, figsize=(10, 8.5))
    save(fig, "pairs.png")


def one_dimension():
    X, _, _ = gm.make_mixture(1500, 3, 1, overlap=0.08, weights=[0.5, 0.3, 0.2], random_state=7)
    model = gm.GaussianMixture(3, random_state=0).fit(X)
    ax = gm.plot_1d(model, X)
    ax.figure.set_size_inches(8.5, 4.5)
    save(ax.figure, "one_d.png")


def bayesian_mixture():
    """Ten components offered, three kept: the variational prior switches the rest off."""
    X, _, _ = gm.make_mixture(900, 3, overlap=0.005, random_state=2)
    model = gm.BayesianGaussianMixture(10, weight_concentration_prior=1e-3, max_iter=500,
                                       random_state=0).fit(X)
    fig, axes = plt.subplots(1, 2, figsize=(13.5, 4.8), layout="constrained",
                             gridspec_kw={"width_ratios": [1.6, 1]})
    gm.plot_mixture(model, X, ax=axes[0], legend="inside",
                    title="BayesianGaussianMixture(10): the components it kept")
    gm.plot_weights(model, ax=axes[1])
    save(fig, "bayesian.png")


def covariance_models():
    """mclust's fourteen models, one small panel each: three components of a random mixture of
    that model (volume, shape and orientation equal, variable or the identity)."""
    from gaussmix.engine import covariance

    fig, axes = plt.subplots(2, 7, figsize=(15, 4.6), layout="constrained")
    for ax, code in zip(axes.ravel(), covariance.MCLUST):
        _, _, truth = gm.make_mixture(10, 3, overlap=0.01, covariance_type=code, random_state=4)
        gm.plot_mixture(truth, ax=ax, legend=None, n_std=(1, 2), title=code)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.set_aspect("equal", adjustable="box")
    fig.suptitle("covariance_type=...: volume / shape / orientation Equal, Variable or the Identity")
    save(fig, "covariance_models.png")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT,
                        help="the folder the pictures go to (default: docs/images/)")
    return parser.parse_args(argv)


def main(argv=None):
    global OUT
    OUT = parse_args(argv).out
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stdout)
    log.setLevel(logging.INFO)
    OUT.mkdir(parents=True, exist_ok=True)
    overlap_panels()
    fitted_mixture()
    em_animation()
    pairs_plot()
    one_dimension()
    bayesian_mixture()
    covariance_models()


if __name__ == "__main__":
    main()
