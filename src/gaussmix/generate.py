"""Simulate Gaussian mixtures whose difficulty is set by their *pairwise overlap*.

Overlap follows the mixture-simulation literature (Maitra & Melnykov, "Simulating data to study
performance of finite mixture modeling and clustering algorithms", JCGS 2010, the idea behind the R
package MixSim). For components ``i`` and ``j`` with weights ``pi``, means ``mu`` and covariances
``S``, the *misclassification probability* of a point of ``i`` into ``j`` is::

    w(j|i) = P_{X ~ N(mu_i, S_i)} [ pi_j phi(X; mu_j, S_j) > pi_i phi(X; mu_i, S_i) ]

(the chance that a point drawn from ``i`` is more likely, weights included, under ``j``; exact ties
count one half), and the *pairwise overlap* is ``w_ij = w(j|i) + w(i|j)``. Two far-apart components
have overlap near 0; two identical components with equal weights have overlap 1.

How it is computed
------------------
With ``X = mu_i + L_i Z`` (``L_i L_i' = S_i``, ``Z`` standard normal) the event above is a quadratic
form in ``Z``. Rotating ``Z`` to the eigenvectors of ``L_i' S_j^{-1} L_i`` gives independent standard
normals ``W_l`` and::

    w(j|i) = P[ sum_l a_l W_l**2 + b_l W_l > y ]

whose characteristic function is known in closed form. The probability is its exact Gil-Pelaez
inversion integral (Imhof's method), evaluated with adaptive quadrature: where the linear terms
damp the characteristic function like a Gaussian, up to the point where the damping reaches
``exp(-45)``; otherwise on ``[0, T]`` plus QUADPACK's Fourier integrator (QAWF) on the oscillating
tail, after the tail's linear phase is taken out analytically. One-term forms use the closed form
(normal CDFs). The estimated absolute error is at most ``1e-8`` per probability, typically
``1e-10`` (checked against closed forms and Monte Carlo in the tests); no random numbers are
involved.

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
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize

from ._covariance import COVARIANCE_TYPES

__all__ = ["Overlap", "make_mixture", "pairwise_overlap"]

# Absolute error target of one misclassification probability.
_EPSABS = 1e-10
# Split point of the inversion integral (in units of 1 / standard deviation of the form).
_SPLIT = 10.0
# Beyond the t where the Gaussian damping of the characteristic function reaches exp(-_DAMPED),
# the inversion integral is negligible.
_DAMPED = 45.0
# Largest estimated quadrature error accepted for one probability.
_MAX_ERROR = 1e-8
# Coefficients of the quadratic part smaller than this (relative) are treated as exactly zero.
_ZERO_A = 1e-9


# ---------------------------------------------------------------------------- quadratic forms
def _prob_quadratic_exceeds(a, b, y):
    """``P[sum_l a_l W_l**2 + b_l W_l > y]`` for independent standard normal ``W_l``.

    Exact ties (a constant form equal to ``y``) count one half. Pure function of floats.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    sd = float(np.sqrt(np.sum(2.0 * a * a + b * b)))
    scale = max(sd, abs(float(y)), 1e-300)
    if sd <= 1e-13 * scale:  # the form is (numerically) a constant, here 0
        if abs(y) <= 1e-12 * scale:
            return 0.5
        return 1.0 if y < 0 else 0.0
    a, b, y = a / sd, b / sd, float(y) / sd
    a = np.where(np.abs(a) < _ZERO_A, 0.0, a)
    quadratic = a != 0
    if not quadratic.any():
        from scipy.special import ndtr

        return float(ndtr(-y / np.sqrt(np.sum(b * b))))
    aq = a[quadratic]
    b2q = b[quadratic] ** 2
    b2_linear = float(np.sum(b[~quadratic] ** 2))
    if aq.size == 1 and b2_linear == 0.0:
        return _prob_one_term(float(aq[0]), float(b[quadratic][0]), y)
    # For large t the phase of the characteristic function grows like -t * sum(b^2 / 4a); together
    # with the -t*y of the inversion this is the tail's oscillation frequency `omega`.
    omega = y + float(np.sum(b2q / (4.0 * aq)))

    c4 = 4.0 * aq * aq
    two_a = 2.0 * aq
    b2_over_4a = b2q / (4.0 * aq)
    cache = {}

    def modulus_phase(t):
        # |phi(t)| and the bounded part of arg phi(t) (it tends to a constant as t -> inf).
        hit = cache.get(t)
        if hit is None:
            u = 1.0 + c4 * (t * t)
            log_mod = -0.25 * np.log(u).sum() - 0.5 * t * t * ((b2q / u).sum() + b2_linear)
            phase = (0.5 * np.arctan(two_a * t) + b2_over_4a * t / u).sum()
            hit = cache[t] = (np.exp(log_mod), phase)
        return hit

    def integrand(t):
        if t == 0.0:
            return 0.0
        mod, phase = modulus_phase(t)
        return mod * np.sin(phase - omega * t) / t

    def tail_cos(t):
        mod, phase = modulus_phase(t)
        return mod * np.sin(phase) / t

    def tail_sin(t):
        mod, phase = modulus_phase(t)
        return mod * np.cos(phase) / t

    # The linear parts damp |phi(t)| by exp(-g(t)), g increasing. When that damping alone
    # reaches e^-45 at some finite t_end, the integral beyond t_end is negligible (< 1e-18) and
    # only [0, t_end] is integrated; otherwise the tail is a Fourier integral (QAWF).
    def damping(t):
        return 0.5 * t * t * (np.sum(b2q / (1.0 + c4 * t * t)) + b2_linear)

    g_limit = np.inf if b2_linear > 0 else float(np.sum(b2q / (2.0 * c4)))
    errors = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        if g_limit > _DAMPED:
            t_end = 1.0
            while damping(t_end) < _DAMPED:
                t_end *= 2.0
            head, err = integrate.quad(integrand, 0.0, t_end, epsabs=_EPSABS, epsrel=0, limit=5000)
            errors.append(err)
            tail = 0.0
        else:
            head, err = integrate.quad(integrand, 0.0, _SPLIT, epsabs=_EPSABS, epsrel=0, limit=5000)
            errors.append(err)
            if abs(omega) * _SPLIT < 1e-3:  # no oscillation left: a plain improper integral
                tail, err = integrate.quad(
                    integrand, _SPLIT, np.inf, epsabs=_EPSABS, epsrel=0, limit=5000
                )
                errors.append(err)
            else:
                w = abs(omega)
                cos_part, err_c = integrate.quad(
                    tail_cos, _SPLIT, np.inf, weight="cos", wvar=w, epsabs=_EPSABS, limlst=1000
                )
                sin_part, err_s = integrate.quad(
                    tail_sin, _SPLIT, np.inf, weight="sin", wvar=w, epsabs=_EPSABS, limlst=1000
                )
                errors += [err_c, err_s]
                tail = cos_part - np.sign(omega) * sin_part
    error = float(np.sum(errors)) / np.pi
    if not error <= _MAX_ERROR:  # pragma: no cover - a numerical safety net
        raise ArithmeticError(
            f"The overlap integral reached an error of {error:.2g}, above {_MAX_ERROR:g}. Please "
            "report the mixture parameters that caused this."
        )
    return float(min(1.0, max(0.0, 0.5 + (head + tail) / np.pi)))


def _prob_one_term(a, b, y):
    """``P[a W**2 + b W > y]`` in closed form: ``a (W + m)**2 > z`` with ``m = b / 2a``."""
    from scipy.special import ndtr

    m = b / (2.0 * a)
    z = (y + b * b / (4.0 * a)) / a  # W + m must satisfy (W + m)**2 > z (a > 0) or < z (a < 0)
    if z <= 0:
        return 1.0 if a > 0 else 0.0
    r = np.sqrt(z)
    inside = ndtr(r - m) - ndtr(-r - m)  # P[(W + m)**2 < z]
    return float(min(1.0, max(0.0, 1.0 - inside if a > 0 else inside)))


def _misclassification_terms(w_i, mean_i, chol_i, w_j, mean_j, chol_j):
    """``(a, b, y)`` with ``w(j|i) = P[sum a W^2 + b W > y]`` (see the module docstring).

    ``chol_*`` are lower Cholesky factors of the covariances.
    """
    # M = L_j^{-1} L_i, so L_i' S_j^{-1} L_i = M'M = V diag(s^2) V'.
    # numpy, not scipy.linalg: scipy 1.17 costs milliseconds per small call on a busy machine
    m = np.linalg.solve(chol_j, chol_i)
    e = np.linalg.solve(chol_j, mean_i - mean_j)
    u, s, _ = np.linalg.svd(m)
    a = 1.0 - s * s
    b = -2.0 * s * (u.T @ e)
    log_det_i = 2.0 * np.sum(np.log(np.diag(chol_i)))
    log_det_j = 2.0 * np.sum(np.log(np.diag(chol_j)))
    with np.errstate(divide="ignore"):
        log_ratio = np.log(w_i) - np.log(w_j)
    y = 2.0 * log_ratio + log_det_j - log_det_i + float(e @ e)
    return a, b, y


def _pair_terms(weights, means, chols):
    """Per ordered pair ``(i, j)``: ``(a, b, y0, d2)`` with, after scaling every covariance by
    ``c``, ``w(j|i) = P[sum a W^2 + (b / sqrt(c)) W > y0 + d2 / c]``.

    Scaling all covariances by one factor leaves the eigenvalues ``a`` and the log-determinant
    ratio unchanged, so the decompositions are done once per pair and reused while searching for
    the scale. Pairs involving a zero-weight component map to ``None`` (probability 0).
    """
    terms = {}
    n_components = len(weights)
    for i in range(n_components):
        for j in range(n_components):
            if i == j:
                continue
            if weights[i] == 0 or weights[j] == 0:
                terms[i, j] = None  # an empty component has no points and takes none
                continue
            a, b, y = _misclassification_terms(
                weights[i], means[i], chols[i], weights[j], means[j], chols[j]
            )
            e = np.linalg.solve(chols[j], means[i] - means[j])
            d2 = float(e @ e)
            terms[i, j] = (a, b, y - d2, d2)
    return terms


def _misclassification_matrix(terms, n_components, scale=1.0):
    """``(K, K)`` matrix of ``w(j|i)`` (row ``i``: true component, column ``j``), zero diagonal."""
    out = np.zeros((n_components, n_components))
    root = np.sqrt(scale)
    for (i, j), term in terms.items():
        if term is not None:
            a, b, y0, d2 = term
            out[i, j] = _prob_quadratic_exceeds(a, b / root, y0 + d2 / scale)
    return out


def _full_covariances(covariances, covariance_type, n_components, n_features):
    """Covariances of any type as a ``(K, D, D)`` stack."""
    c = np.asarray(covariances, dtype=np.float64)
    if covariance_type == "full":
        return c
    if covariance_type == "tied":
        return np.broadcast_to(c, (n_components, n_features, n_features)).copy()
    if covariance_type == "diag":
        return np.stack([np.diag(row) for row in c])
    return c[:, None, None] * np.eye(n_features)[None]


def _cholesky_stack(full_covariances):
    out = np.empty_like(full_covariances)
    for k, matrix in enumerate(full_covariances):
        try:
            out[k] = np.linalg.cholesky(matrix)
        except np.linalg.LinAlgError:
            raise ValueError(
                f"The covariance of component {k} is not positive definite, so its overlap is "
                "undefined. Check the covariances (or raise reg_covar when fitting)."
            ) from None
    return out


@dataclass(frozen=True)
class Overlap:
    """Pairwise overlap of the components of a Gaussian mixture.

    Attributes
    ----------
    misclassification : ndarray of shape (n_components, n_components)
        ``misclassification[i, j]`` is the probability that a point of component ``i`` is more
        likely (weights included) under component ``j``; zero diagonal.
    matrix : ndarray of shape (n_components, n_components)
        Symmetric pairwise overlaps ``matrix[i, j] = misclassification[i, j] +
        misclassification[j, i]``; zero diagonal.
    mean : float
        Average overlap over the ``K (K - 1) / 2`` pairs (``nan`` for one component).
    max : float
        Largest pairwise overlap (``nan`` for one component).
    argmax : tuple of int
        The pair ``(i, j)``, ``i < j``, with the largest overlap (``()`` for one component).
    """

    misclassification: np.ndarray
    matrix: np.ndarray
    mean: float
    max: float
    argmax: tuple


def _summarise(misclassification):
    matrix = misclassification + misclassification.T
    n_components = matrix.shape[0]
    if n_components < 2:
        return Overlap(misclassification, matrix, float("nan"), float("nan"), ())
    iu = np.triu_indices(n_components, 1)
    values = matrix[iu]
    best = int(np.argmax(values))
    return Overlap(
        misclassification,
        matrix,
        float(values.mean()),
        float(values[best]),
        (int(iu[0][best]), int(iu[1][best])),
    )


def _overlap_of(weights, means, full_covariances, scale=1.0):
    """Overlap of the mixture whose covariances are ``scale * full_covariances``."""
    terms = _pair_terms(weights, means, _cholesky_stack(full_covariances))
    return _summarise(_misclassification_matrix(terms, len(weights), scale))


def pairwise_overlap(model_or_params, *, covariance_type=None):
    """Exact pairwise overlap of the components of a Gaussian mixture.

    Parameters
    ----------
    model_or_params : GaussianMixture or tuple
        A fitted mixture (ours or scikit-learn's: anything with ``weights_``, ``means_``,
        ``covariances_`` and ``covariance_type``), or a tuple ``(weights, means, covariances)``.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default=None
        Layout of ``covariances`` when a tuple is given (``None`` means ``'full'``); taken from the
        model otherwise.

    Returns
    -------
    Overlap
        ``.mean`` and ``.max`` pairwise overlap, the symmetric ``.matrix`` and the directed
        ``.misclassification`` probabilities (see the module docstring for the definition).

    Examples
    --------
    Two unit-variance components with equal weights, means 2 apart: each misclassifies a point
    when it falls beyond the midpoint, ``P(Z > 1) = 0.1587``, so the overlap is twice that.

    >>> import gaussmix as gm
    >>> ov = gm.pairwise_overlap(([0.5, 0.5], [[0.0], [2.0]], [[[1.0]], [[1.0]]]))
    >>> round(ov.mean, 4)
    0.3173
    """
    if isinstance(model_or_params, tuple):
        if len(model_or_params) != 3:
            raise ValueError(
                "Pass a fitted mixture or a tuple (weights, means, covariances); got a tuple of "
                f"length {len(model_or_params)}."
            )
        weights, means, covariances = model_or_params
        covariance_type = "full" if covariance_type is None else covariance_type
    elif hasattr(model_or_params, "means_"):
        model = model_or_params
        if covariance_type is not None and covariance_type != model.covariance_type:
            raise ValueError(
                f"covariance_type={covariance_type!r} contradicts the model's "
                f"{model.covariance_type!r}; leave it out when passing a model."
            )
        weights, means, covariances = model.weights_, model.means_, model.covariances_
        covariance_type = model.covariance_type
    else:
        raise TypeError(
            "pairwise_overlap needs a fitted mixture (with weights_, means_, covariances_) or a "
            f"tuple (weights, means, covariances); got {type(model_or_params).__name__}."
        )
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(
            f"covariance_type must be one of {', '.join(map(repr, COVARIANCE_TYPES))}; "
            f"got {covariance_type!r}."
        )
    weights, means, full = _validated_parameters(weights, means, covariances, covariance_type)
    with _single_threaded_blas():
        return _overlap_of(weights, means, full)


def _validated_parameters(weights, means, covariances, covariance_type):
    from ._covariance import covariance_shape

    try:
        weights = np.asarray(weights, dtype=np.float64)
        means = np.asarray(means, dtype=np.float64)
        covariances = np.asarray(covariances, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("weights, means and covariances must be numeric arrays.") from None
    if means.ndim != 2:
        raise ValueError(f"means must be 2-D (n_components, n_features), got shape {means.shape}.")
    n_components, n_features = means.shape
    if weights.shape != (n_components,):
        raise ValueError(
            f"weights must have shape ({n_components},) to match means, got {weights.shape}."
        )
    expected = covariance_shape(covariance_type, n_components, n_features)
    if covariances.shape != expected:
        raise ValueError(
            f"covariances for covariance_type={covariance_type!r} must have shape {expected}, got "
            f"{covariances.shape}."
        )
    for name, arr in (("weights", weights), ("means", means), ("covariances", covariances)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or infinite values.")
    if np.any(weights < 0) or not np.isclose(weights.sum(), 1.0, rtol=0, atol=1e-6):
        raise ValueError(f"weights must be non-negative and sum to 1, got {weights}.")
    full = _full_covariances(covariances, covariance_type, n_components, n_features)
    return weights, means, full


# ---------------------------------------------------------------------------- the generator
_MEAN_BOX = 10.0  # means are uniform in [0, _MEAN_BOX]^n_features before any scaling


def _single_threaded_blas():
    """BLAS on one thread: the matrices here are tiny, and threads only add contention."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


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


def _random_rotation(rng, n_features):
    q, r = np.linalg.qr(rng.standard_normal((n_features, n_features)))
    return q * np.sign(np.diag(r))  # Haar-distributed orthogonal matrix


def _dimension_damping(n_features):
    """``min(1, sqrt(5 / n_features))``: how much shape variety to allow in ``n_features`` dims.

    Gaussians of different shapes separate as the dimension grows (their divergence is a sum over
    dimensions), so fixed size and axis-ratio ranges would make moderate overlaps unreachable in
    high dimension; damping the log-ranges by ``sqrt(5 / n_features)`` keeps them reachable.
    """
    return min(1.0, np.sqrt(5.0 / n_features))


def _random_shapes(rng, n_components, n_features, covariance_type, max_axis_ratio):
    """Unscaled covariances (in the layout of ``covariance_type``) with random shapes and sizes.

    Each component gets a size factor log-uniform in ``[1/s, s]`` with ``s = 2`` up to 5 features
    and ``2 ** sqrt(5 / n_features)`` above (tied: one shared matrix); the standard deviations
    along its axes are that size times log-uniform factors in ``[1, max_axis_ratio]``; full and
    tied matrices get a Haar-random orientation.
    """
    log_ratio = np.log(max_axis_ratio)
    log_size = np.log(2.0) * _dimension_damping(n_features)
    sizes = np.exp(rng.uniform(-log_size, log_size, size=n_components))
    if covariance_type == "spherical":
        return sizes**2
    if covariance_type == "diag":
        stds = sizes[:, None] * np.exp(rng.uniform(0, log_ratio, (n_components, n_features)))
        return stds**2
    if covariance_type == "tied":
        q = _random_rotation(rng, n_features)
        stds = np.exp(rng.uniform(0, log_ratio, n_features))
        return (q * stds**2) @ q.T
    out = np.empty((n_components, n_features, n_features))
    for k in range(n_components):
        q = _random_rotation(rng, n_features)
        stds = sizes[k] * np.exp(rng.uniform(0, log_ratio, n_features))
        out[k] = (q * stds**2) @ q.T
    return out


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


def _scaled(covariances, factor, covariance_type, which=None):
    """Covariances with those of components ``which`` (default all) multiplied by ``factor``."""
    out = np.array(covariances, dtype=np.float64, copy=True)
    if which is None or covariance_type == "tied":
        return out * factor
    out[which] = out[which] * factor
    return out


def _solve_scale(objective, target, tol):
    """Root of ``objective(log_c) = target`` by bracketing then Brent's method.

    ``objective`` must be below the target for small ``log_c``; returns ``(log_c, value)`` or
    ``None`` when no sign change is found in ``[-40, 40]`` around 0.
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
        return _bracket_and_solve(f, cache)
    except _Close as close:
        s = close.args[0]
        return s, cache[s]


def _bracket_and_solve(f, cache):
    """Bracket the sign change of ``f`` on a grid of step 2 from 0, then run Brent's method."""
    lo = hi = 0.0
    step = 2.0
    if f(0.0) > 0:
        while f(lo) > 0:
            hi, lo = lo, lo - step
            if lo < -40:
                return None
    else:
        while f(hi) < 0:
            lo, hi = hi, hi + step
            if hi > 40:
                return None
    root = optimize.brentq(f, lo, hi, xtol=1e-13, rtol=1e-13, maxiter=200)
    f(root)
    return root, cache[root]


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
    n_samples,
    n_components,
    n_features=2,
    *,
    overlap=None,
    max_overlap=None,
    covariance_type="full",
    weights=None,
    max_axis_ratio=None,
    tol=1e-6,
    max_tries=20,
    random_state=None,
):
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
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        Layout of the true covariances (and of ``truth``).
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
    from .mixture import GaussianMixture

    n_samples = _check_int(n_samples, "n_samples", 1)
    n_components = _check_int(n_components, "n_components", 1)
    n_features = _check_int(n_features, "n_features", 1)
    max_tries = _check_int(max_tries, "max_tries", 1)
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(
            f"covariance_type must be one of {', '.join(map(repr, COVARIANCE_TYPES))}; "
            f"got {covariance_type!r}."
        )
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
        if covariance_type == "tied":
            raise ValueError(
                "With covariance_type='tied' all components share one matrix, so only one scale "
                "is free: give overlap or max_overlap, not both."
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
        covariances = _random_shapes(rng, 1, n_features, covariance_type, max_axis_ratio)
        achieved = _summarise(np.zeros((1, 1)))
    else:
        with _single_threaded_blas():
            means, covariances, achieved = _draw_with_overlap(
                rng,
                mixture_weights,
                n_components,
                n_features,
                covariance_type,
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
    chols = _cholesky_stack(
        _full_covariances(covariances, covariance_type, n_components, n_features)
    )
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
    covariance_type,
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

    for _ in range(max_tries):
        means = rng.uniform(0.0, _MEAN_BOX, (n_components, n_features))
        shapes = _random_shapes(rng, n_components, n_features, covariance_type, max_axis_ratio)

        def summary(cov_, centres=means):
            full = _full_covariances(cov_, covariance_type, n_components, n_features)
            return _overlap_of(weights, centres, full)

        # Limit for huge covariances: the overlap of components sharing one mean.
        limit = summary(shapes, np.zeros_like(means))
        reachable = limit.max if max_overlap is not None else limit.mean
        best_reachable = max(best_reachable, reachable)
        if first >= reachable - tol:
            failures.append("limit")
            continue

        full = _full_covariances(shapes, covariance_type, n_components, n_features)
        terms = _pair_terms(weights, means, _cholesky_stack(full))

        def objective(log_c, terms=terms):
            return key(_summarise(_misclassification_matrix(terms, n_components, np.exp(log_c))))

        found = _solve_scale(objective, first, tol)
        if found is None:
            failures.append("bracket")
            continue
        log_c, _ = found
        covariances = _scaled(shapes, np.exp(log_c), covariance_type)
        result = summary(covariances)
        if max_overlap is not None and overlap is not None:
            result, covariances = _match_average(
                summary, covariances, result, covariance_type, overlap, max_overlap, tol
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


def _match_average(summary, covariances, result, covariance_type, overlap, max_overlap, tol):
    """Rescale all components but the most overlapping pair so the average hits ``overlap``.

    The pair's own overlap is unchanged; returns ``(None, None)`` when the average cannot be
    matched without another pair exceeding ``max_overlap``.
    """
    if covariance_type == "tied":
        return None, None  # one shared matrix: only the common scale is free
    i, j = result.argmax
    others = np.array([k for k in range(len(result.matrix)) if k not in (i, j)])
    if others.size == 0:
        return (result, covariances) if abs(result.mean - overlap) <= tol else (None, None)
    found = _solve_scale(
        lambda s: summary(_scaled(covariances, np.exp(s), covariance_type, others)).mean,
        overlap,
        tol,
    )
    if found is None:
        return None, None
    new = _scaled(covariances, np.exp(found[0]), covariance_type, others)
    new_result = summary(new)
    if new_result.max > max_overlap + tol:
        return None, None
    return new_result, new
