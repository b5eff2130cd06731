"""Factor-analyser covariances (mixtures of factor analysers and McNicholas & Murphy's PGMM).

Component ``k``'s covariance is ``Lambda_k Lambda_k^T + Psi_k``: ``q`` factors (loadings
``Lambda_k``, ``D x q``) and diagonal noise ``Psi_k``. PGMM's three letters constrain them:
the loadings Constrained equal across components or Unconstrained, the noise equal across
components (C) or not (U), and isotropic (C, ``psi I``) or not (U). ``UUU`` is the mixture of
factor analysers (Ghahramani & Hinton 1996), ``UUC`` the mixture of probabilistic PCA
(Tipping & Bishop 1999: closed form).

The M-step solves the factor model of each component's regularised sample covariance
``S_k + reg I`` from the previous loadings and noise variances (which :meth:`Factors.fit`
returns with the covariances, for the estimator to carry): each inner round takes, for unconstrained loadings,
the loadings that maximise the likelihood given the noise (from the eigen-decomposition of
``Psi^-1/2 S Psi^-1/2``, as scikit-learn's ``FactorAnalysis``), or, for shared ones, the ECM
step of the complete-data likelihood (McNicholas & Murphy 2008), then the noise's ECM step
given the loadings (``beta = Lambda^T Sigma^-1``, ``Theta = I - beta Lambda + beta S beta^T``,
``Psi = diag(S - 2 Lambda beta S + Lambda Theta Lambda^T)``, pooled or averaged as the
letters say). Every step raises the likelihood of the scatter, so EM stays monotone; at most
``INNER_ROUNDS`` rounds per M-step (EM's iterations finish them). Noise variances are held
above ``1e-12`` times the mean variance (a Heywood case; scikit-learn's ``FactorAnalysis``
floors them too).

:class:`Factors` is a :class:`~.matrices.Matrices` model (``(K, D, D)`` covariances); it is
parametrised by the number of factors and not in the registry: ``FactorMixture`` builds it.
"""

from __future__ import annotations

import numpy as np

from .base import random_rotation
from .decomposition import INNER_ROUNDS, eigh_descending
from .matrices import Matrices, cholesky_draws
from .subspace import check_features

# PGMM's eight: loadings, noise across components, noise isotropic ('C' constrained).
FACTOR_MODELS = ("UUU", "UUC", "UCU", "UCC", "CUU", "CUC", "CCU", "CCC")
# Noise variances below this times the mean variance are raised to it.
NOISE_FLOOR = 1e-12


def check_factor_model(name):
    if name not in FACTOR_MODELS:
        raise ValueError(f"Unknown factor model {name!r}; use one of "
                         + ", ".join(repr(n) for n in FACTOR_MODELS) + ".")
    return name


def _ppca(values, vectors, q):
    """Tipping & Bishop's closed form: loadings ``U_q (L_q - s I)^(1/2)`` and ``s``, the mean
    of the discarded eigenvalues, per component."""
    d = values.shape[1]
    noise = values[:, q:].sum(axis=1) / max(d - q, 1)
    loadings = vectors[:, :, :q] * np.sqrt(np.maximum(values[:, :q] - noise[:, None], 0.0))[
        :, None, :]
    return loadings, noise


def compose(loadings, psi):
    """The covariances ``Lambda_k Lambda_k^T + diag(psi_k)`` of loadings ``(K, D, q)`` and
    noise variances ``(K, D)``."""
    covariances = np.einsum("kiq,kjq->kij", loadings, loadings)
    covariances[:, np.arange(psi.shape[1]), np.arange(psi.shape[1])] += psi
    return covariances


class Factors(Matrices):
    """A PGMM model with ``n_factors`` factors.

    Parameters
    ----------
    model : str
        One of :data:`FACTOR_MODELS`.
    n_factors : int
        Factors per component (``q``), at least 1 and below ``D``.
    """

    code = "VVV"
    stackable = False

    def __init__(self, model="UUU", n_factors=2):
        self.name = check_factor_model(model)
        self.shared_loadings = model[0] == "C"
        self.shared_noise = model[1] == "C"
        self.isotropic = model[2] == "C"
        if not (isinstance(n_factors, (int, np.integer)) and n_factors >= 1):
            raise ValueError(f"n_factors must be an integer >= 1, got {n_factors!r}.")
        self.n_factors = int(n_factors)
        self.description = f"factor analysers {model} with {n_factors} factors"

    # ------------------------------------------------------------------ M-step
    def fit(self, sample_covariances, nk, reg_covar, previous=None):
        """``(covariances, packed)`` from the sample covariances, the components' weight sums
        and the previous step's packed parameters (:func:`unpack`: noise variances and
        loadings; ``None``: start from probabilistic PCA, of the pooled scatter for shared
        loadings)."""
        k, d = len(nk), sample_covariances.shape[-1]
        check_features(d, "A factor model")
        q = min(self.n_factors, d - 1)
        scatter = sample_covariances + reg_covar * np.eye(d)
        weights = nk / nk.sum()
        floor = NOISE_FLOOR * np.einsum("kii->k", scatter)[:, None] / d
        if self.name == "UUC":  # the global maximum, closed form
            loadings, noise = _ppca(*eigh_descending(scatter), q)
            psi = np.maximum(np.repeat(noise[:, None], d, axis=1), floor)
            return self._compose(loadings, psi), pack(psi, loadings)
        if previous is not None:
            psi, loadings = unpack(previous, d)
        elif self.shared_loadings:
            pooled = np.tensordot(weights, scatter, axes=1)[None]
            loadings, noise = _ppca(*eigh_descending(pooled), q)
            loadings = np.repeat(loadings, k, axis=0)
            psi = self._pool(np.repeat(noise[:, None], d, axis=1).repeat(k, axis=0), weights)
        else:
            noise = _ppca(*eigh_descending(scatter), q)[1]
            psi, loadings = self._pool(np.repeat(noise[:, None], d, axis=1), weights), None
        for _ in range(INNER_ROUNDS):
            psi = np.maximum(psi, floor)
            if not self.shared_loadings:
                loadings = _profile_loadings(scatter, psi, q)
            beta, theta = _factor_moments(scatter, loadings, psi)
            if self.shared_loadings:
                loadings = _shared_loadings(scatter, beta, theta, psi, nk)
            residual = (np.einsum("kii->ki", scatter)
                        - 2 * np.einsum("kiq,kqj,kji->ki", loadings, beta, scatter)
                        + np.einsum("kiq,kqr,kir->ki", loadings, theta, loadings))
            psi = np.maximum(self._pool(residual, weights), floor)
        return self._compose(loadings, psi), pack(psi, loadings)

    def _pool(self, noise, weights):
        """Noise variances ``(K, D)`` under the model's constraint."""
        if self.shared_noise:
            noise = np.broadcast_to(weights @ noise, noise.shape)
        if self.isotropic:
            noise = np.broadcast_to(noise.mean(axis=1, keepdims=True), noise.shape)
        return np.array(noise)

    _compose = staticmethod(compose)

    def estimate(self, sample_covariances, nk, reg_covar, previous=None):
        """The covariances alone, from the probabilistic-PCA start (the estimator carries the
        noise variances between steps through :meth:`fit`)."""
        return self.fit(sample_covariances, nk, reg_covar)[0]

    def sample(self, rng, means, covariances, counts):
        """Draws through each covariance's Cholesky factor (:func:`~.matrices.cholesky_draws`:
        its noise eigenvalue is repeated, where ``full``'s SVD would pick a basis at random)."""
        return cholesky_draws(rng, means, covariances, counts)

    # ------------------------------------------------------------------ counts
    def n_parameters(self, n_components, n_features, extra=None):
        """PGMM's count (McNicholas & Murphy 2008, table 1): loadings ``D q - q (q - 1) / 2``
        per component (once if shared), noise ``D`` or 1 per component (once if shared)."""
        q = min(self.n_factors, n_features - 1) if n_features > 1 else 1
        loadings = n_features * q - q * (q - 1) / 2
        loadings *= 1 if self.shared_loadings else n_components
        noise = 1 if self.isotropic else n_features
        noise *= 1 if self.shared_noise else n_components
        return float(loadings + noise)

    def mixture_parameters(self, n_components, n_features, extra=None):
        return (self.n_parameters(n_components, n_features)
                + n_components * n_features + n_components - 1)

    def own_parameters(self, n_features, extra=None):
        return super().own_parameters(n_features)

    def random_covariances(self, rng, sizes, n_features, log_ratio):
        """Random loadings (orthogonal columns scaled by ``sizes`` times log-uniform ratios)
        plus noise a hundredth of the smallest factor variance; then this model's M-step of
        them with equal weights, which imposes its constraints across components."""
        q = min(self.n_factors, max(n_features - 1, 1))
        out = np.empty((len(sizes), n_features, n_features))
        common = random_rotation(rng, n_features)[:, :q]
        for k, size in enumerate(sizes):
            basis = common if self.shared_loadings else random_rotation(rng, n_features)[:, :q]
            scale = size * np.exp(rng.uniform(0, log_ratio, q))
            out[k] = (basis * scale**2) @ basis.T + np.eye(n_features) * scale.min() ** 2 / 100
        return self.fit(out, np.ones(len(sizes)), 0.0)[0]

    def __repr__(self):
        return f"<factor model {self.name!r}, n_factors={self.n_factors}>"


def _profile_loadings(scatter, psi, q):
    """Per component, the loadings maximising the likelihood of ``scatter`` given diagonal noise
    ``psi``: ``Psi^1/2 U_q (L_q - I)_+^1/2`` from ``Psi^-1/2 S Psi^-1/2 = U L U^T``."""
    root = np.sqrt(psi)
    whitened = scatter / root[:, :, None] / root[:, None, :]
    values, vectors = eigh_descending(whitened)
    scale = np.sqrt(np.maximum(values[:, :q] - 1.0, 0.0))
    return root[:, :, None] * vectors[:, :, :q] * scale[:, None, :]


def _factor_moments(scatter, loadings, psi):
    """The factors' E-step terms: ``beta = Lambda^T Sigma^-1`` (by Woodbury) and
    ``Theta = I - beta Lambda + beta S beta^T``, per component."""
    q = loadings.shape[-1]
    scaled = loadings / psi[:, :, None]  # Psi^-1 Lambda
    inner = np.eye(q) + np.einsum("kiq,kir->kqr", loadings, scaled)
    beta = np.linalg.solve(inner, np.swapaxes(scaled, 1, 2))  # (K, q, D)
    theta = (np.eye(q) - beta @ loadings + beta @ scatter @ np.swapaxes(beta, 1, 2))
    return beta, theta


def _shared_loadings(scatter, beta, theta, psi, nk):
    """The ECM step of loadings shared by every component: row ``i`` solves
    ``lambda_i sum_k w_ki Theta_k = sum_k w_ki (S_k beta_k^T)_i``, ``w_ki = n_k / psi_ki``."""
    w = nk[:, None] / psi  # (K, D)
    right = np.einsum("ki,kij,kqj->iq", w, scatter, beta)  # (D, q)
    left = np.einsum("ki,kqr->iqr", w, theta)  # (D, q, q)
    shared = np.linalg.solve(left, right[:, :, None])[:, :, 0]
    return np.repeat(shared[None], len(nk), axis=0)


def pack(noise, loadings):
    """The parameters an M-step hands to the next: ``(K, D + D q)``, the noise variances then
    the loadings."""
    return np.concatenate([noise, np.reshape(loadings, (len(noise), -1))], axis=1)


def unpack(packed, n_features):
    """``(noise variances (K, D), loadings (K, D, q))`` of :func:`pack`'s array."""
    packed = np.asarray(packed, dtype=np.float64)
    k = len(packed)
    return packed[:, :n_features].copy(), packed[:, n_features:].reshape(k, n_features, -1)
