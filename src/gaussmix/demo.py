"""``gaussmix demo``: generate a small 2-D mixture, fit it and compare truth with the fit."""

from __future__ import annotations

import numpy as np
from rich.console import Console
from rich.table import Table

from .mixture import GaussianMixture


def _match_components(truth_means, fitted_means):
    """Order of fitted components that best matches the true ones (Hungarian on mean distances)."""
    from scipy.optimize import linear_sum_assignment

    cost = ((truth_means[:, None, :] - fitted_means[None, :, :]) ** 2).sum(axis=2)
    _, cols = linear_sum_assignment(cost)
    return cols


def run_demo(n_components=3, n_samples=600, covariance_type="full", seed=0, console=None):
    """Generate, fit and print a table of true vs learned weights and means; return the models."""
    console = console or Console()
    rng = np.random.default_rng(seed)
    means = rng.uniform(-6, 6, size=(n_components, 2))
    a = rng.normal(size=(n_components, 2, 2))
    covariances = a @ a.transpose(0, 2, 1) + 0.3 * np.eye(2)
    weights = rng.dirichlet(np.full(n_components, 5.0))
    truth = GaussianMixture.from_parameters(weights, means, covariances, random_state=seed)
    X, _ = truth.sample(n_samples)
    model = GaussianMixture(n_components, covariance_type=covariance_type, random_state=seed).fit(X)
    order = _match_components(truth.means_, model.means_)
    table = Table(title=f"{n_components}-component mixture, {n_samples} points, {covariance_type} fit")
    for column in ("component", "true weight", "learned weight", "true mean", "learned mean"):
        table.add_column(column, justify="right")
    for k, j in enumerate(order):
        table.add_row(
            str(k),
            f"{truth.weights_[k]:.3f}",
            f"{model.weights_[j]:.3f}",
            np.array2string(truth.means_[k], precision=2),
            np.array2string(model.means_[j], precision=2),
        )
    console.print(table)
    console.print(
        f"log-likelihood per point: truth {truth.score(X):.4f}, fit {model.score(X):.4f} "
        f"({model.n_iter_} EM iterations, converged={model.converged_})"
    )
    return truth, model, X
