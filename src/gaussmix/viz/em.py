"""EM one iteration at a time: record the parameters, and animate them as a GIF.

The estimator's own fit records the path: the EM driver hands each state of the run (the
initialisation, then every iteration's) to an observer, so the path is that of
``estimator.fit(X)``, with its convergence test and its warnings (same iterations, same
parameters).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..estimators import GaussianMixture
from . import base


@dataclass(frozen=True)
class EMStep:
    """Parameters of a mixture after ``iteration`` EM iterations (0 = initialisation).

    ``lower_bound`` is the mean log-likelihood computed in that iteration's E-step (``nan`` for
    the initialisation).
    """

    iteration: int
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    lower_bound: float


def em_trajectory(estimator, X, sample_weight=None):
    """Fit ``estimator`` on ``X`` one EM iteration at a time, recording every step.

    Parameters
    ----------
    estimator : gaussmix.GaussianMixture
        An estimator (fitted or not) whose parameters are used; it is not modified. ``n_init``
        must be 1 (an animation follows one initialisation).
    X : array-like of shape (n_samples, n_features)
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    model : GaussianMixture
        The fitted model, equal to ``clone(estimator).fit(X)`` (``n_iter_``, ``converged_``,
        ``lower_bounds_`` and parameters).
    steps : list of EMStep
        ``n_iter_ + 1`` entries: the initialisation, then the parameters after each iteration.
    """
    from sklearn.base import clone

    if not isinstance(estimator, GaussianMixture):
        raise TypeError(
            "em_trajectory drives gaussmix.GaussianMixture one iteration at a time; got "
            f"{type(estimator).__name__}."
        )
    if estimator.n_init != 1:
        raise ValueError(
            f"An EM animation follows a single initialisation, but n_init={estimator.n_init}. "
            "Use n_init=1 (pick a random_state)."
        )
    model = clone(estimator)
    steps = []

    def record(iteration, state, lower_bound):
        steps.append(EMStep(iteration, np.array(state.weights, dtype=np.float64),
                            np.array(state.means, dtype=np.float64),
                            np.array(state.covariances, dtype=np.float64),
                            float("nan") if iteration == 0 else float(lower_bound)))

    model._observer = record
    try:
        model.fit(X, sample_weight=sample_weight)
    finally:
        del model._observer
    return model, steps


def _step_model(step, covariance_type):
    weights = np.clip(step.weights, 0.0, None)
    return GaussianMixture.from_parameters(
        weights / weights.sum(), step.means, step.covariances, covariance_type=covariance_type
    )


def animate_em(
    estimator,
    X,
    path,
    *,
    fps=4,
    features=(0, 1),
    projection=None,
    n_std=base.N_STD_DEFAULT,
    feature_names=None,
    figsize=(6.4, 4.8),
    dpi=80,
    max_points=2000,
    random_state=0,
    reference=None,
):
    """Save a GIF of EM at work: ellipses moving from the initialisation to convergence.

    Frame ``i`` shows the parameters after ``i`` EM iterations, so frame 0 is the initialisation
    and the GIF has exactly ``model.n_iter_ + 1`` frames. Points are coloured by each frame's
    responsibilities (blended and faded where uncertain); means are red, ellipses at ``n_std``.

    Parameters
    ----------
    estimator : gaussmix.GaussianMixture
        The estimator to run (its parameters are used; it is not modified). ``n_init`` must be 1.
    X : array-like of shape (n_samples, n_features)
        Training data (at least 2 features; see ``features`` / ``projection``).
    path : str or os.PathLike
        Output ``.gif`` file, written atomically (a temporary file then a rename).
    fps : float, default=4
        Frames per second.
    features, projection, n_std, feature_names
        As in :func:`gaussmix.plot_mixture`.
    figsize : (float, float), default=(6.4, 4.8)
    dpi : int, default=80
    max_points : int, default=2000
        At most this many points are drawn (a random subset; the fit uses all of ``X``).
    random_state : int, default=0
        Seed of that subset.
    reference : fitted Gaussian mixture, default=None
        As in :func:`gaussmix.plot_mixture`: the fitted components take the colours of the
        reference components they match (every frame keeps the final fit's colours).

    Returns
    -------
    GaussianMixture
        The fitted model (as ``estimator.fit(X)`` would give).
    """
    import os

    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter

    if not str(os.fspath(path)).lower().endswith(".gif"):
        raise ValueError(f"The animation is written as a GIF; path must end in .gif, got {path!r}.")
    if not (isinstance(fps, (int, float)) and 0 < fps <= 50):
        raise ValueError(f"fps must be a number in (0, 50]; got {fps!r}.")
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(folder):
        raise ValueError(f"Cannot write {path!r}: the folder {folder!r} does not exist.")
    model, steps = em_trajectory(estimator, X)
    n_features = model.means_.shape[1]
    if n_features < 2:
        raise ValueError("animate_em draws 2-D pictures; X has a single feature.")
    X = base.check_data(X, n_features)
    n_std = base.check_n_std(n_std)
    names = base.feature_names(feature_names, n_features)
    P, (xlabel, ylabel) = base.projection_matrix(model, X, features, projection, names)
    shown = X
    if len(X) > max_points:
        rng = np.random.default_rng(random_state)
        shown = X[np.sort(rng.choice(len(X), max_points, replace=False))]
    points2 = shown @ P.T
    colors = base.matched_colors(model, reference)
    frame_models = [_step_model(step, model.covariance_type) for step in steps]
    drawn = [base.projected_parameters(m, P) for m in frame_models]
    # one view for the whole GIF, covering every frame's largest ellipse
    lims = base.limits(points2, np.concatenate([d[0] for d in drawn]),
                       np.concatenate([d[1] for d in drawn]), n_std)
    size = base.default_point_size(len(shown))

    fig, ax = plt.subplots(figsize=figsize, dpi=dpi, layout="constrained")

    def draw(index):
        ax.clear()
        step = steps[index]
        frame_model = frame_models[index]
        rgba = base.soft_colors(frame_model.predict_proba(shown), colors)
        ax.scatter(points2[:, 0], points2[:, 1], c=rgba, s=size, linewidths=0, zorder=3)
        means2, covs2 = drawn[index]
        base.draw_ellipses(ax, means2, covs2, colors, n_std)
        base.draw_means(ax, means2, size=90)
        ax.set_xlim(*lims[0])
        ax.set_ylim(*lims[1])
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(True, color="0.92", zorder=0)
        ax.set_axisbelow(True)
        if step.iteration == 0:
            text = f"EM initialisation ({model.init_params})"
        else:
            text = (
                f"EM iteration {step.iteration} of {model.n_iter_}: "
                f"log-likelihood {step.lower_bound:.4f}"
            )
            if step.iteration == model.n_iter_ and model.converged_:
                text += " (converged)"
        ax.set_title(text, fontsize="medium")

    animation = FuncAnimation(fig, draw, frames=len(steps), repeat=False)
    try:
        base.atomic_write(path, lambda tmp: animation.save(tmp, writer=PillowWriter(fps=fps)))
    finally:
        plt.close(fig)
    return model
