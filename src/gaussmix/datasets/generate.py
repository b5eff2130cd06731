"""Simulate Gaussian mixtures whose difficulty is set by their *pairwise overlap*.

Overlap is defined and computed in :mod:`gaussmix.datasets.overlap` (Maitra & Melnykov 2010, the
idea behind the R package MixSim).

How the generator hits an overlap
---------------------------------
:func:`make_mixture` draws random means, covariance shapes (random orientations and axis ratios) and
weights, then multiplies *all* covariances by one factor ``c`` found by root-finding on ``log c`` so
that the average pairwise overlap equals the request (or the maximum does, or both: the maximum
first, then the covariances of the other components are rescaled for the average). Overlap grows
from 0 (``c -> 0``) to the overlap of components sharing one mean (``c -> inf``); a request above
that limit cannot be reached with the drawn shapes, so new shapes are drawn, and after
``max_tries`` a :class:`ValueError` says what is reachable.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np
from scipy import optimize

from ..estimators import GaussianMixture
from .overlap import (
    _cholesky_stack,
    _misclassification_matrix,
    _overlap_of,
    _pair_bounds,
    _pair_terms,
    _rough_misclassification,
    _single_threaded_blas,
    _summarise,
    covariance_model,
)

if TYPE_CHECKING:
    from typing import Literal

    from .._typing import ArrayLike, FloatArray, NDArray, RandomState

__all__ = ["make_mixture"]

# ---------------------------------------------------------------------------- the generator
_MEAN_BOX = 10.0  # means are uniform in [0, _MEAN_BOX]^n_features before any scaling


def _as_generator(random_state):
    if random_state is None or isinstance(random_state, numbers.Integral):
        if isinstance(random_state, bool):
            raise TypeError("random_state must be None, an int or a numpy Generator, not a bool.")
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    raise TypeError(
        "random_state must be None, an int, a numpy Generator or a RandomState; got "
        f"{type(random_state).__name__}."
    )


def _dimension_damping(n_features):
    """``min(1, sqrt(5 / n_features))``: how much shape variety to allow in ``n_features`` dims.

    Gaussians of different shapes separate as the dimension grows (their divergence is a sum over
    dimensions), so fixed size and axis-ratio ranges would make moderate overlaps unreachable in
    high dimension; damping the log-ranges by ``sqrt(5 / n_features)`` keeps them reachable.
    """
    return min(1.0, np.sqrt(5.0 / n_features))


def _random_shapes(rng, n_components, n_features, model, max_axis_ratio):
    """Unscaled covariances of ``model`` with random shapes and sizes.

    Each component gets a size factor log-uniform in ``[1/s, s]`` with ``s = 2`` up to 5 features
    and ``2 ** sqrt(5 / n_features)`` above; the model turns the sizes into covariances (standard
    deviations along its axes are that size times log-uniform factors in ``[1,
    max_axis_ratio]``, orientations Haar-random; see ``CovarianceModel.random_covariances``).
    """
    log_ratio = np.log(max_axis_ratio)
    log_size = np.log(2.0) * _dimension_damping(n_features)
    sizes = np.exp(rng.uniform(-log_size, log_size, size=n_components))
    return model.random_covariances(rng, sizes, n_features, log_ratio)


def _random_weights(rng, weights, n_components):
    if weights is None:
        return np.full(n_components, 1.0 / n_components)
    if isinstance(weights, str):
        if weights != "random":
            raise ValueError(f"weights must be None, 'random' or an array; got {weights!r}.")
        # Dirichlet(2) weights, each at least a quarter of the equal share.
        floor = 0.25 / n_components
        return floor + (1.0 - n_components * floor) * rng.dirichlet(np.full(n_components, 2.0))
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("weights must be None, 'random' or an array of numbers.") from None
    if w.shape != (n_components,):
        raise ValueError(
            f"weights must have shape (n_components,) = ({n_components},), got {w.shape}."
        )
    if not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValueError(f"weights must be positive and finite, got {w}.")
    if not np.isclose(w.sum(), 1.0, rtol=0, atol=1e-6):
        raise ValueError(f"weights must sum to 1, but they sum to {w.sum():.8g}.")
    return w / w.sum()


def _solve_scale(objective, target, tol, unreachable=None, start=0.0, slope=None):
    """Root of ``objective(log_c) = target`` by bracketing then Brent's method.

    ``objective`` must be below the target for small ``log_c``. The bracket is searched from
    ``start`` (a guess of the root) with a first step of 2, or, given the guessed ``slope`` of
    the objective, one and a half times the Newton step; each further step doubles, up to 2.
    Returns ``(log_c, value)``, or ``None`` when no sign change is found in ``[-40, 40]``,
    or when the search has gone 4 above ``start`` and ``unreachable()`` says the target is out of
    reach.
    """
    cache = {}

    class _Close(Exception):
        pass

    def f(s):
        if s not in cache:
            cache[s] = objective(s)
        value = cache[s] - target
        if abs(value) <= 0.01 * tol:  # close enough: stop the search here
            raise _Close(s)
        return value

    try:
        return _bracket_and_solve(f, cache, unreachable, float(start), slope)
    except _Close as close:
        s = close.args[0]
        return s, cache[s]


def _bracket_and_solve(f, cache, unreachable, start, slope):
    """Bracket the sign change of ``f`` from ``start`` with growing steps, then run Brent."""
    lo = hi = start
    value = f(start)
    step = 2.0 if not slope or slope <= 0 else float(np.clip(1.5 * abs(value) / slope, 1e-4, 2))
    if value > 0:
        while f(lo) > 0:
            hi, lo = lo, lo - step
            step = min(2.0 * step, 2.0)
            if lo < -40:
                return None
    else:
        while f(hi) < 0:
            lo, hi = hi, hi + step
            step = min(2.0 * step, 2.0)
            if hi > 40 or (hi >= start + 4 and unreachable is not None and unreachable()):
                return None
    root = optimize.brentq(f, lo, hi, xtol=1e-13, rtol=1e-13, maxiter=200)
    f(root)
    return root, cache[root]


def _first_guess(bounds, key, target):
    """Where to start the search for ``log c``, and the objective's slope there: the root of
    the same search on :func:`_rough_misclassification` (no integrals) and its slope;
    ``(0, None)`` when the guess finds no root."""
    def rough(log_c):
        return key(_summarise(_rough_misclassification(bounds, np.exp(log_c)))) - target

    try:
        guess = optimize.brentq(rough, -40.0, 40.0, xtol=1e-6)
    except ValueError:  # no sign change: the guess cannot help
        return 0.0, None
    return guess, (rough(guess + 1e-3) - rough(guess - 1e-3)) / 2e-3


def _check_int(value, name, minimum):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def _check_overlap_value(value, name):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ValueError(
            f"{name} must be a number strictly between 0 and 1 (e.g. 0.01 well separated, 0.2 "
            f"strongly overlapping); got {value!r}."
        )
    return float(value)


def make_mixture(
    n_samples: int,
    n_components: int,
    n_features: int = 2,
    *,
    overlap: float | None = None,
    max_overlap: float | None = None,
    covariance_type: str = "full",
    weights: Literal["random"] | ArrayLike | None = None,
    max_axis_ratio: float | None = None,
    tol: float = 1e-6,
    max_tries: int = 20,
    random_state: RandomState = None,
) -> tuple[FloatArray, NDArray[np.intp], GaussianMixture]:
    """Draw data from a random Gaussian mixture with a requested pairwise overlap.

    Means are uniform in ``[0, 10]^n_features``; covariances get random orientations (full, tied),
    random axis ratios up to ``max_axis_ratio`` and random sizes (within a factor 4 of each other,
    less above 5 features);
    then all covariances are scaled by one factor so that the *average pairwise overlap* equals
    ``overlap`` (and/or the largest equals ``max_overlap``) within ``tol``. The overlap of two
    components is the probability that a point of one is more likely under the other, summed both
    ways, with the weights taken into account (see :mod:`gaussmix.generate`).

    Parameters
    ----------
    n_samples : int
        Number of points.
    n_components : int
        Number of components.
    n_features : int, default=2
        Dimension of the data (any value >= 1).
    overlap : float in (0, 1), default=None
        Requested average pairwise overlap. ``None`` means 0.05 unless ``max_overlap`` is given
        (then only the maximum is controlled). Rough guide: 0.001 well separated, 0.05 moderate,
        0.2 heavily overlapping. Not allowed with one component (there are no pairs).
    max_overlap : float in (0, 1), default=None
        Requested largest pairwise overlap. Given together with ``overlap``, both are hit: it must
        then hold that ``overlap <= max_overlap <= overlap * n_pairs``.
    covariance_type : str, default='full'
        Covariance model of the truth (any registered type: 'full', 'tied', 'diag',
        'spherical', ...).
    weights : None, 'random' or array-like of shape (n_components,), default=None
        ``None``: equal weights. ``'random'``: unbalanced Dirichlet weights, each at least a quarter
        of ``1 / n_components``. An array: these weights (positive, summing to 1).
    max_axis_ratio : float >= 1, default=None
        Largest ratio between the standard deviations along two axes of one component
        (eccentricity); ``1`` gives round components. ``None`` means 4 up to 5 features and
        ``4 ** sqrt(5 / n_features)`` above, because differently shaped Gaussians separate as the
        dimension grows and moderate overlaps would otherwise be unreachable.
    tol : float, default=1e-6
        Absolute tolerance on the achieved overlap(s).
    max_tries : int, default=20
        Fresh random shapes to try when a draw cannot reach the request.
    random_state : int, numpy Generator, RandomState or None, default=None
        Same value, same data.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The points, in random order.
    y : ndarray of shape (n_samples,)
        The component that generated each point.
    truth : GaussianMixture
        A fitted-like model holding the true parameters (``truth.predict``, ``truth.score``,
        ``truth.sample`` work) with extra attributes: ``overlap_`` (achieved average pairwise
        overlap), ``max_overlap_`` (achieved maximum), ``overlap_matrix_`` (``(K, K)`` pairwise
        overlaps) and ``misclassification_`` (``(K, K)``, ``[i, j]`` = probability that a point of
        ``i`` is more likely under ``j``). For one component they are ``nan`` / zeros.

    Raises
    ------
    ValueError
        For invalid arguments, or when the requested overlap cannot be reached with
        ``max_tries`` random draws (the message gives the largest reachable value seen).

    Examples
    --------
    >>> import gaussmix as gm
    >>> X, y, truth = gm.make_mixture(300, 3, overlap=0.05, random_state=0)
    >>> X.shape, abs(truth.overlap_ - 0.05) < 1e-6
    ((300, 2), True)
    """
    n_samples = _check_int(n_samples, "n_samples", 1)
    n_components = _check_int(n_components, "n_components", 1)
    n_features = _check_int(n_features, "n_features", 1)
    max_tries = _check_int(max_tries, "max_tries", 1)
    model = covariance_model(covariance_type)
    overlap = _check_overlap_value(overlap, "overlap")
    max_overlap = _check_overlap_value(max_overlap, "max_overlap")
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not 0 < tol < 0.01:
        raise ValueError(f"tol must be a number in (0, 0.01); got {tol!r}.")
    if max_axis_ratio is None:
        max_axis_ratio = 4.0 ** _dimension_damping(n_features)
    if (
        isinstance(max_axis_ratio, bool)
        or not isinstance(max_axis_ratio, numbers.Real)
        or not 1 <= max_axis_ratio < 1e6
    ):
        raise ValueError(f"max_axis_ratio must be a number >= 1; got {max_axis_ratio!r}.")
    n_pairs = n_components * (n_components - 1) // 2
    if n_components == 1 and (overlap is not None or max_overlap is not None):
        raise ValueError(
            "overlap is a property of pairs of components; with n_components=1 leave overlap "
            "and max_overlap unset."
        )
    if n_components > 1 and overlap is None and max_overlap is None:
        overlap = 0.05
    if overlap is not None and max_overlap is not None:
        if not model.variable_volume:
            what = "one matrix" if model.shared else "one volume"
            raise ValueError(
                f"With covariance_type={covariance_type!r} all components share {what}, so only "
                "one scale is free: give overlap or max_overlap, not both."
            )
        if n_pairs == 1 and abs(max_overlap - overlap) > tol:
            raise ValueError(
                "With two components there is a single pair, so overlap and max_overlap must be "
                "equal; give only one of them."
            )
        if max_overlap < overlap - tol:
            raise ValueError(
                f"max_overlap={max_overlap} is below overlap={overlap}: the largest pairwise "
                "overlap can never be smaller than the average."
            )
        if max_overlap > overlap * n_pairs + tol:
            raise ValueError(
                f"max_overlap={max_overlap} is more than n_pairs * overlap = "
                f"{overlap * n_pairs:.4g}: with {n_components} components the average overlap is "
                "at least the maximum divided by the number of pairs."
            )

    rng = _as_generator(random_state)
    mixture_weights = _random_weights(rng, weights, n_components)
    if n_components == 1:
        means = rng.uniform(0.0, _MEAN_BOX, (1, n_features))
        covariances = _random_shapes(rng, 1, n_features, model, max_axis_ratio)
        achieved = _summarise(np.zeros((1, 1)))
    else:
        with _single_threaded_blas():
            means, covariances, achieved = _draw_with_overlap(
                rng,
                mixture_weights,
                n_components,
                n_features,
                model,
                max_axis_ratio,
                overlap,
                max_overlap,
                tol,
                max_tries,
            )

    truth = GaussianMixture.from_parameters(
        mixture_weights,
        means,
        covariances,
        covariance_type=covariance_type,
        random_state=random_state if isinstance(random_state, numbers.Integral) else None,
    )
    truth.overlap_ = achieved.mean
    truth.max_overlap_ = achieved.max
    truth.overlap_matrix_ = achieved.matrix
    truth.misclassification_ = achieved.misclassification

    y = rng.choice(n_components, size=n_samples, p=mixture_weights)
    z = rng.standard_normal((n_samples, n_features))
    chols = _cholesky_stack(model.dense(covariances, n_components, n_features))
    X = np.empty((n_samples, n_features))
    for k in range(n_components):
        rows = y == k
        X[rows] = means[k] + z[rows] @ chols[k].T
    return X, y, truth


def _draw_with_overlap(
    rng,
    weights,
    n_components,
    n_features,
    model,
    max_axis_ratio,
    overlap,
    max_overlap,
    tol,
    max_tries,
):
    """Means and covariances whose overlap meets the request; raise if no draw can."""
    best_reachable = 0.0
    what = "average" if max_overlap is None else "maximum"
    first = max_overlap if max_overlap is not None else overlap
    failures = []

    def key(result):
        return result.max if max_overlap is not None else result.mean

    # The search for the scale starts at the root of a rough overlap without integrals
    # (_first_guess: typically a few hundredths of log c off), so that four or five steps find
    # it. Each step is one pass over the K (K - 1) ordered pairs with integrals good to
    # `accuracy` (the overlap module's are good to 1e-10, three times the work), skipping the
    # pairs whose Bhattacharyya bound is below it (their overlap cannot move the average by
    # more); the scale found gets one pass to full accuracy. The overlap of coinciding means
    # (the reachable limit) is computed only when the search goes far up without reaching the
    # request, to say why.
    accuracy = min(1e-9, 0.01 * tol)
    for _ in range(max_tries):
        means = rng.uniform(0.0, _MEAN_BOX, (n_components, n_features))
        shapes = _random_shapes(rng, n_components, n_features, model, max_axis_ratio)

        def summary(cov_, centres=means):
            full = model.dense(cov_, n_components, n_features)
            return _overlap_of(weights, centres, full)

        full = model.dense(shapes, n_components, n_features)
        terms = _pair_terms(weights, means, _cholesky_stack(full))
        bounds = _pair_bounds(weights, means, full)

        def objective(log_c, terms=terms, bounds=bounds):
            return key(_summarise(_misclassification_matrix(
                terms, n_components, np.exp(log_c), bounds, accuracy, epsabs=accuracy)))

        reachable = []

        def unreachable(shapes=shapes, centres=means * 0.0, reachable=reachable):
            # Limit for huge covariances: the overlap of components sharing one mean.
            if not reachable:
                reachable.append(key(summary(shapes, centres)))
            return first >= reachable[0] - tol

        found = _solve_scale(objective, first, tol, unreachable,
                             *_first_guess(bounds, key, first))
        if found is None:
            failures.append("limit" if unreachable() else "bracket")
            best_reachable = max(best_reachable, reachable[0])
            continue
        log_c, _ = found
        covariances = model.scaled(shapes, np.exp(log_c))
        result = summary(covariances)  # to full accuracy, as pairwise_overlap(truth) gives it
        if max_overlap is not None and overlap is not None:
            result, covariances = _match_average(
                summary, covariances, result, model, overlap, max_overlap, tol
            )
            if result is None:
                failures.append("average")
                continue
        if abs(key(result) - first) <= tol and (
            overlap is None or abs(result.mean - overlap) <= tol
        ):
            return means, covariances, result
        failures.append("tolerance")
    if failures and all(f == "limit" for f in failures):
        raise ValueError(
            f"The requested {what} overlap {first} cannot be reached: even with coinciding means "
            f"the drawn component shapes reach at most {best_reachable:.4g} (tried {max_tries} "
            "draws). Ask for a smaller overlap, use max_axis_ratio closer to 1, or balanced "
            "weights."
        )
    raise ValueError(
        f"Could not reach overlap={overlap}, max_overlap={max_overlap} within tol={tol} in "
        f"{max_tries} random draws. Loosen the request (a max_overlap further from the average, "
        "a larger tol) or raise max_tries."
    )


def _match_average(summary, covariances, result, model, overlap, max_overlap, tol):
    """Rescale all components but the most overlapping pair so the average hits ``overlap``.

    The pair's own overlap is unchanged; returns ``(None, None)`` when the average cannot be
    matched without another pair exceeding ``max_overlap``.
    """
    if not model.variable_volume:
        return None, None  # one volume for all: only the common scale is free
    i, j = result.argmax
    others = np.array([k for k in range(len(result.matrix)) if k not in (i, j)])
    if others.size == 0:
        return (result, covariances) if abs(result.mean - overlap) <= tol else (None, None)
    found = _solve_scale(
        lambda s: summary(model.scaled(covariances, np.exp(s), others)).mean,
        overlap,
        tol,
    )
    if found is None:
        return None, None
    new = model.scaled(covariances, np.exp(found[0]), others)
    new_result = summary(new)
    if new_result.max > max_overlap + tol:
        return None, None
    return new_result, new
