"""Pieces of the eigen-decomposed covariance models of Celeux & Govaert (1995) and mclust.

Each component's covariance is ``Sigma_k = lambda_k D_k A_k D_k^T``: a volume ``lambda_k``
(``|Sigma_k|^(1/d)``), a shape ``A_k`` (diagonal, determinant one) and an orientation ``D_k``
(orthogonal), each Equal across components, Variable, or the Identity. The M-steps work on the
regularised scatter matrices ``W_k = n_k (S_k + reg I)`` (``S_k`` the sample covariance), which
maximises the likelihood penalised by ``reg_covar`` exactly as scikit-learn's convention does for
the unconstrained models. Where no closed form exists the models iterate between blocks, each
step optimal given the others (for a common orientation, a sweep of plane rotations, each
optimal in its plane), started from the previous covariances, so that no M-step lowers the penalised likelihood.

Pure functions of float64 arrays.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .base import random_rotation
from .mixtures import StackedMixtures, moved

# Inner iterations of an iterative M-step stop when no parameter moves by more than INNER_TOL,
# relative to its size, or after INNER_ROUNDS rounds. Each round raises the expected
# complete-data log-likelihood, so EM stays monotone and keeps its fixed points with any number
# of rounds (a generalised EM, the ECM of Meng & Rubin 1993), and the M-step starts from the
# previous EM iteration's covariances: the EM iterations finish what the inner ones leave.
# Iterating every M-step to INNER_TOL cost up to 1000 rounds of five SVDs per EM iteration where
# a component is nearly singular (the majorise-minimise orientation then converges very
# slowly), for nothing EM could not do alongside its own iterations. (mclust iterates to
# sqrt(eps), which leaves the slowly converging orientation 1e-6 from its fixed point.)
INNER_TOL = 1e-10
INNER_ROUNDS = 3
# Relative tolerance of the constraint checks on user-given or stored covariances (float32 files
# included), relative to the largest entry compared.
RTOL = 1e-5


def det_root(values, axis=-1):
    """``prod(values) ** (1 / n)`` along ``axis``, through logarithms (no overflow)."""
    return np.exp(np.mean(np.log(values), axis=axis))


def det_root_matrix(matrices):
    """``det(M) ** (1 / d)`` of each symmetric positive-definite matrix."""
    sign, logdet = np.linalg.slogdet(matrices)
    return np.where(sign > 0, np.exp(logdet / matrices.shape[-1]), 0.0)


def eigh_descending(matrices):
    """Eigenvalues (descending) and eigenvectors (columns, same order) of symmetric matrices."""
    values, vectors = np.linalg.eigh(matrices)
    return values[..., ::-1], vectors[..., ::-1]


def scatter(sample_covariances, nk, reg_covar):
    """Regularised scatter matrices ``W_k = n_k (S_k + reg I)`` from ``(K, D, D)`` sample
    covariances (or ``(K, D)`` diagonals)."""
    if sample_covariances.ndim == 2:
        return nk[:, None] * (sample_covariances + reg_covar)
    eye = np.eye(sample_covariances.shape[-1])
    return nk[:, None, None] * (sample_covariances + reg_covar * eye)


def compose(orientations, variances):
    """``D_k diag(v_k) D_k^T`` for orientations ``(K, D, D)`` (or one ``(D, D)``, shared) and
    variances ``(K, D)``."""
    if orientations.ndim == 2:
        return (orientations * variances[:, None, :]) @ orientations.T
    return (orientations * variances[:, None, :]) @ np.swapaxes(orientations, 1, 2)


def equal_volume_shapes(values, nk, mixtures):
    """EVI, EVE: per-component eigenvalues ``Omega_k`` ``(C, D)`` of the scatter along the
    model's axes give ``lambda A_k = Omega_k / |Omega_k|^(1/d) * sum_j |Omega_j|^(1/d) / n``,
    each of the stacked ``mixtures`` (:class:`~.mixtures.StackedMixtures`) on its own."""
    roots = det_root(values)
    scale = mixtures.spread(mixtures.total(roots) / mixtures.total(nk))
    return values * (scale / roots)[:, None]


def variable_volumes(values, nk, mixtures, previous_volumes=None):
    """VEI, VEV: volumes ``lambda_k`` and a common shape ``A`` (determinant one) for per-component
    eigenvalues ``Omega_k`` ``(C, D)`` along fixed axes, alternating ``A = normalised sum_k
    Omega_k / lambda_k`` and ``lambda_k = sum_d Omega_kd / A_d / (d n_k)`` from the previous
    volumes (or each component's own), each of the stacked ``mixtures`` until its volumes stop
    moving. Returns the variances ``lambda_k A`` ``(C, D)``."""
    d = values.shape[1]
    volumes = det_root(values / nk[:, None]) if previous_volumes is None else previous_volumes
    going = np.ones(len(mixtures.sizes), dtype=bool)
    shape = None
    for _ in range(INNER_ROUNDS):
        pooled = mixtures.total(values / volumes[:, None])
        pooled = mixtures.spread(pooled / det_root(pooled)[:, None])
        shape = pooled if shape is None else mixtures.keep(going, pooled, shape)
        new = mixtures.keep(going, np.sum(values / shape, axis=1) / (d * nk), volumes)
        going &= moved(new, volumes, mixtures) > INNER_TOL
        volumes = new
        if not going.any():
            break
    return volumes[:, None] * shape


def common_orientation(scatters, variances_of, orientation, mixtures):
    """EVE, VVE: the common orientation ``D`` and the variances along it, by sweeps of plane
    rotations (the pairwise approach of Flury & Gautschi 1986 to common principal components)
    from ``orientation``.

    Each step turns disjoint pairs of axes ``(p, q)`` of ``D``; for the variances the model
    gives (``variances_of(Omega)`` from ``Omega_k = diag(D^T W_k D)``, inverse ``B_k``), the
    angle minimising ``sum_k tr(W_k D B_k D^T)`` in that plane has a closed form (the objective
    is ``c + P cos 2t + Q sin 2t`` there); after a sweep the variances are updated from the
    turned axes. Both updates are exact block minimisations of the M-step's objective, so it
    never increases (an ECM). A sweep turns every pair once; a mixture stops when its variances
    no longer move (``INNER_TOL``), or after ``INNER_ROUNDS`` sweeps. (The majorise-minimise
    steps of Browne & McNicholas 2014 that this replaces close a small part of the gap per step
    wherever the scatters' eigenvalues spread widely; a sweep of rotations closes most of it.)

    The scatters ``(C, D, D)`` are those of the stacked ``mixtures``
    (:class:`~.mixtures.StackedMixtures`), whose orientations are ``(M, D, D)``: a batch of EM
    runs takes every step of all of them in one pass of array operations, each mixture keeping
    its own until it stops. Returns orientations and variances ``(C, D)``.
    """
    orientation = np.array(orientation, dtype=np.float64)
    axes = mixtures.spread(orientation)
    rotated = np.swapaxes(axes, 1, 2) @ scatters @ axes
    tiny = np.finfo(float).tiny
    variances = variances_of(np.maximum(np.einsum("cii->ci", rotated), tiny))
    going = np.ones(len(mixtures.sizes), dtype=bool)
    identity = np.broadcast_to(np.eye(orientation.shape[-1]), orientation.shape)
    for _ in range(INNER_ROUNDS):
        D, M, inverse = orientation, rotated, 1.0 / variances
        with np.errstate(all="ignore"):  # (see _turn)
            for p, q in _pair_rounds(D.shape[-1]):
                D, M = _turn(D, M, p, q, inverse, mixtures, identity)
        current = variances_of(np.maximum(np.einsum("cii->ci", M), tiny))
        step = mixtures.largest(np.max(np.abs(current - variances), axis=1))
        orientation = np.where(going[:, None, None], D, orientation)
        rotated = mixtures.keep(going, M, rotated)
        current = mixtures.keep(going, current, variances)
        going &= step > INNER_TOL * mixtures.largest(np.max(current, axis=1))
        variances = current
        if not going.any():
            break
    return orientation, variances


def _turn(D, M, p, q, inverse, mixtures, identity):
    """Turn axes ``p`` and ``q`` (disjoint index arrays) of orientations ``D`` ``(M, D, D)``,
    each pair by the angle minimising ``sum_k tr(W_k D B_k D^T)`` over each mixture's
    components for inverse variances ``B_k`` ``(C, D)``; returns the turned orientations and
    rotated scatters ``M = D^T W_k D`` ``(C, D, D)`` (one block-diagonal rotation ``R`` per
    mixture: ``D R``, ``R^T M R``; ``identity``: ``(M, D, D)`` identities). The caller
    ignores floating-point warnings: a scatter with no spread (reg_covar=0 on copies of one
    point) makes its inverse variances overflow and its angle undefined, and that pair is
    kept (the factorisation that follows refuses its covariances with the reg_covar
    advice)."""
    spread = inverse[:, p] - inverse[:, q]  # (C, pairs)
    P = mixtures.total(spread * (M[:, p, p] - M[:, q, q]))  # (M, pairs), twice P
    Q = 2.0 * mixtures.total(spread * M[:, p, q])  # twice Q
    size = np.hypot(P, Q)
    cos2, sin2 = -P / size, -Q / size
    still = ~np.isfinite(cos2 + sin2)
    cos2[still], sin2[still] = 1.0, 0.0
    cos = np.sqrt(np.maximum(0.5 + 0.5 * cos2, 0.0))
    sin = np.copysign(np.sqrt(np.maximum(0.5 - 0.5 * cos2, 0.0)), sin2)
    R = identity.copy()
    R[:, p, p], R[:, q, q], R[:, q, p], R[:, p, q] = cos, cos, sin, -sin
    turns = mixtures.spread(R)
    return D @ R, np.swapaxes(turns, 1, 2) @ M @ turns


@lru_cache(maxsize=64)
def _pair_rounds(d):
    """Every pair of ``range(d)`` once, in rounds of disjoint pairs (the circle method of
    round-robin tournaments): ``(p, q)`` index arrays per round."""
    players = list(range(d + d % 2))  # an odd d plays a bye
    rounds = []
    for _ in range(len(players) - 1):
        half = len(players) // 2
        pairs = [(a, b) for a, b in zip(players[:half], players[::-1][:half]) if max(a, b) < d]
        rounds.append((np.array([min(pair) for pair in pairs], dtype=np.intp),
                       np.array([max(pair) for pair in pairs], dtype=np.intp)))
        players = players[:1] + players[-1:] + players[1:-1]
    return tuple(rounds)


def common_orientation_estimate(sample_covariances, nk, reg_covar, previous, mixtures,
                                variances_of):
    """The M-step of the stacked ``mixtures`` of a common-orientation model (EVE, VVE):
    :func:`common_orientation` of their regularised scatters ``(C, D, D)``, from each mixture's
    previous orientation (or that of its pooled scatter), ``variances_of(Omega, nk, mixtures)``
    giving the model's variances of the components' eigenvalues ``(C, D)``. Returns the
    covariances ``(C, D, D)``."""
    W = scatter(sample_covariances, nk, reg_covar)
    if not np.all(np.isfinite(W)):
        raise ValueError(
            "A component's scatter is not finite (no rows left in it, or its rows are copies "
            "of one point with reg_covar=0), so a common orientation cannot be estimated; "
            "raise reg_covar (e.g. 1e-6) or use fewer components."
        )
    start = eigh_descending(mixtures.total(W))[1] if previous is None else orientation_of(
        previous, mixtures)
    axes, variances = common_orientation(
        W, lambda values: variances_of(values, nk, mixtures), start, mixtures)
    return compose(mixtures.spread(axes), variances)


def orientation_of(previous, mixtures=None):
    """A common orientation of the previous covariances ``(C, D, D)`` of each stacked mixture
    (``None``: one mixture), which share one within a mixture: the eigenvectors of a generic
    positive combination of them (all share them). ``(M, D, D)``."""
    mixtures = StackedMixtures.of(len(previous)) if mixtures is None else mixtures
    weights = 1.0 + mixtures.position / mixtures.spread(mixtures.sizes)
    return eigh_descending(mixtures.total(weights[:, None, None] * previous))[1]


def random_decomposed(rng, sizes, n_features, log_ratio, code):
    """Random ``(K, D, D)`` covariances ``lambda_k D_k A_k D_k^T`` whose volume, shape and
    orientation are Equal, Variable or the Identity as ``code`` says: volumes ``sizes**2``
    (their mean for E), axis ratios log-uniform in ``[0, log_ratio]``, Haar orientations."""
    volume, shape, orientation = code
    k = len(sizes)
    volumes = sizes**2 if volume == "V" else np.full(k, np.mean(sizes) ** 2)
    if shape == "I":
        shapes = np.ones((k, n_features))
    else:
        draws = k if shape == "V" else 1
        stds = np.exp(rng.uniform(0, log_ratio, (draws, n_features)))
        shapes = np.broadcast_to(stds**2 / det_root(stds**2)[:, None], (k, n_features))
    if orientation == "I":
        rotations = np.eye(n_features)
    elif orientation == "E":
        rotations = random_rotation(rng, n_features)
    else:
        rotations = np.stack([random_rotation(rng, n_features) for _ in range(k)])
    return compose(rotations, volumes[:, None] * shapes)


def common_axes(matrices, rtol):
    """Whether symmetric matrices ``(K, D, D)`` share one orientation (all diagonal in one
    orthogonal basis), to ``rtol`` of their largest entry."""
    axes = orientation_of(matrices)[0]
    rotated = axes.T @ matrices @ axes
    off = rotated - np.einsum("kii->ki", rotated)[:, :, None] * np.eye(matrices.shape[-1])
    return bool(np.max(np.abs(off)) <= rtol * np.max(np.abs(rotated)))


def shares(values, rtol):
    """Whether every row of ``values`` ``(K, ...)`` equals the first, to ``rtol`` of its scale."""
    values = np.asarray(values, dtype=np.float64)
    scale = np.max(np.abs(values)) if values.size else 0.0
    return bool(np.all(np.abs(values - values[0]) <= rtol * max(scale, np.finfo(float).tiny)))
