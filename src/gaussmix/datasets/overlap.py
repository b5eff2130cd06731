"""The *pairwise overlap* of the components of a Gaussian mixture, computed exactly.

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
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import integrate

from ..engine import covariance

if TYPE_CHECKING:
    from .._typing import Mixture, MixtureParams

__all__ = ["Overlap", "pairwise_overlap"]

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
# Up to this many quadratic terms the integrand is computed with plain floats (faster than NumPy
# on a few numbers).
_SCALAR_TERMS = 8


# ---------------------------------------------------------------------------- quadratic forms
def _prob_quadratic_exceeds(a, b, y, epsabs=_EPSABS, max_error=_MAX_ERROR):
    """``P[sum_l a_l W_l**2 + b_l W_l > y]`` for independent standard normal ``W_l``.

    Exact ties (a constant form equal to ``y``) count one half. Pure function of floats.
    ``epsabs`` and ``max_error``: the quadrature's requested and largest accepted error (looser
    values serve the generator's search for a scale, whose result is then computed exactly).
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

    if aq.size <= _SCALAR_TERMS:  # a few terms: plain floats, without NumPy's per-call cost
        rows = list(zip(c4.tolist(), two_a.tolist(), b2q.tolist(), b2_over_4a.tolist()))

        def modulus_phase(t):
            # |phi(t)| and the bounded part of arg phi(t) (it tends to a constant as t -> inf).
            hit = cache.get(t)
            if hit is None:
                tt = t * t
                log_u = b_sum = phase = 0.0
                for c, ta, b2, b4 in rows:
                    u = 1.0 + c * tt
                    log_u += math.log(u)
                    b_sum += b2 / u
                    phase += 0.5 * math.atan(ta * t) + b4 * t / u
                hit = cache[t] = (math.exp(-0.25 * log_u - 0.5 * tt * (b_sum + b2_linear)), phase)
            return hit
    else:

        def modulus_phase(t):
            hit = cache.get(t)
            if hit is None:
                u = 1.0 + c4 * (t * t)
                log_mod = -0.25 * np.log(u).sum() - 0.5 * t * t * ((b2q / u).sum() + b2_linear)
                phase = (0.5 * np.arctan(two_a * t) + b2_over_4a * t / u).sum()
                hit = cache[t] = (math.exp(log_mod), float(phase))
            return hit

    def integrand(t):
        if t == 0.0:
            return 0.0
        mod, phase = modulus_phase(t)
        return mod * math.sin(phase - omega * t) / t

    def tail_cos(t):
        mod, phase = modulus_phase(t)
        return mod * math.sin(phase) / t

    def tail_sin(t):
        mod, phase = modulus_phase(t)
        return mod * math.cos(phase) / t

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
            head, err = integrate.quad(integrand, 0.0, t_end, epsabs=epsabs, epsrel=0, limit=5000)
            errors.append(err)
            tail = 0.0
        else:
            head, err = integrate.quad(integrand, 0.0, _SPLIT, epsabs=epsabs, epsrel=0, limit=5000)
            errors.append(err)
            if abs(omega) * _SPLIT < 1e-3:  # no oscillation left: a plain improper integral
                tail, err = integrate.quad(
                    integrand, _SPLIT, np.inf, epsabs=epsabs, epsrel=0, limit=5000
                )
                errors.append(err)
            else:
                w = abs(omega)
                cos_part, err_c = integrate.quad(
                    tail_cos, _SPLIT, np.inf, weight="cos", wvar=w, epsabs=epsabs, limlst=1000
                )
                sin_part, err_s = integrate.quad(
                    tail_sin, _SPLIT, np.inf, weight="sin", wvar=w, epsabs=epsabs, limlst=1000
                )
                errors += [err_c, err_s]
                tail = cos_part - np.sign(omega) * sin_part
    error = float(np.sum(errors)) / np.pi
    if not error <= max_error:  # pragma: no cover - a numerical safety net
        raise ArithmeticError(
            f"The overlap integral reached an error of {error:.2g}, above {max_error:g}. Please "
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


def _misclassification_matrix(terms, n_components, scale=1.0, bounds=None, negligible=0.0,
                              **accuracy):
    """``(K, K)`` matrix of ``w(j|i)`` (row ``i``: true component, column ``j``), zero diagonal.

    With ``bounds`` (:func:`_pair_bounds`), a pair whose upper bound at ``scale`` is at most
    ``negligible`` is set to 0 without its integral (an error of at most ``negligible``).
    ``accuracy``: ``epsabs`` and ``max_error`` for :func:`_prob_quadratic_exceeds`.
    """
    out = np.zeros((n_components, n_components))
    root = np.sqrt(scale)
    upper = None if bounds is None else _upper_bounds(bounds, scale)
    for (i, j), term in terms.items():
        if term is not None and (upper is None or upper[i, j] > negligible):
            a, b, y0, d2 = term
            out[i, j] = _prob_quadratic_exceeds(a, b / root, y0 + d2 / scale, **accuracy)
    return out


def _pair_bounds(weights, means, full_covariances):
    """Per ordered pair, ``(h, L, D)`` with ``w(j|i) <= exp(h - L - D / c)`` once every
    covariance is scaled by ``c``: the Bhattacharyya bound (``h = log(pi_j / pi_i) / 2``).

    ``pi_i w(j|i)`` is at most the Bayes error of the pair, at most ``sqrt(pi_i pi_j)
    exp(-B)``, with ``B = D / c + L`` the Bhattacharyya distance (``D = (mu_i - mu_j)'
    Sbar^{-1} (mu_i - mu_j) / 8``, ``L = log det Sbar / 2 - (log det S_i + log det S_j) / 4``,
    ``Sbar = (S_i + S_j) / 2``). Costs one small solve per pair, no integral: the generator
    uses it to skip the pairs too far apart to matter at a scale.
    """
    weights = np.asarray(weights, dtype=np.float64)
    covs = np.asarray(full_covariances, dtype=np.float64)
    mean_cov = 0.5 * (covs[:, None] + covs[None, :])
    diff = means[:, None, :] - means[None, :, :]
    d = 0.125 * np.einsum("ijk,ijk->ij", diff, np.linalg.solve(mean_cov, diff[..., None])[..., 0])
    log_det = np.linalg.slogdet(covs)[1]
    big_l = 0.5 * np.linalg.slogdet(mean_cov)[1] - 0.25 * (log_det[:, None] + log_det[None, :])
    with np.errstate(divide="ignore"):
        log_w = np.log(weights)
    half_log_ratio = np.nan_to_num(0.5 * (log_w[None, :] - log_w[:, None]), nan=np.inf)
    return half_log_ratio, np.maximum(big_l, 0.0), np.maximum(d, 0.0)


def _upper_bounds(bounds, scale):
    """Each ordered pair's bound on ``w(j|i)`` at ``scale`` (:func:`_pair_bounds`), at most 1."""
    half_log_ratio, big_l, d = bounds
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(np.minimum(half_log_ratio - big_l - d / scale, 0.0))


def _rough_misclassification(bounds, scale):
    """A cheap guess of the ``(K, K)`` misclassification matrix at ``scale``: exact for two
    components with one covariance and equal weights (``Phi(-sqrt(2 B))``, half the Mahalanobis
    distance), near it otherwise. Only a starting point for the generator's search."""
    from scipy.special import ndtr

    half_log_ratio, big_l, d = bounds
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.exp(np.minimum(half_log_ratio, 0.0)) * ndtr(-np.sqrt(2.0 * (big_l + d / scale)))
    np.fill_diagonal(out, 0.0)
    return out


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


def pairwise_overlap(model_or_params: Mixture | MixtureParams, *,
                     covariance_type: str | None = None) -> Overlap:
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
    model = covariance_model(covariance_type)
    weights, means, full = _validated_parameters(weights, means, covariances, model)
    with _single_threaded_blas():
        return _overlap_of(weights, means, full)


def covariance_model(covariance_type):
    """The registered model of ``covariance_type``, or an error listing the valid names."""
    if not isinstance(covariance_type, str) or covariance_type not in covariance.names():
        raise ValueError(
            f"covariance_type must be one of {', '.join(map(repr, covariance.names()))}; "
            f"got {covariance_type!r}."
        )
    return covariance.get(covariance_type)


def _single_threaded_blas():
    """BLAS on one thread: the matrices here are tiny, and threads only add contention."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _validated_parameters(weights, means, covariances, model):
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
    expected = model.shape(n_components, n_features)
    if covariances.shape != expected:
        raise ValueError(
            f"covariances for covariance_type={model.name!r} must have shape {expected}, got "
            f"{covariances.shape}."
        )
    for name, arr in (("weights", weights), ("means", means), ("covariances", covariances)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or infinite values.")
    if np.any(weights < 0) or not np.isclose(weights.sum(), 1.0, rtol=0, atol=1e-6):
        raise ValueError(f"weights must be non-negative and sum to 1, got {weights}.")
    full = model.dense(covariances, n_components, n_features)
    return weights, means, full
