"""Subspace covariances (HDDC; Bouveyron, Girard & Schmid 2007; R's HDclassif).

Each component lives in its own low-dimensional subspace plus isotropic noise:
``Sigma_k = Q_k diag(a_k1, ..., a_kd_k, b_k, ..., b_k) Q_k^T``, where ``Q_k`` holds the
eigenvectors of the component's sample covariance ``W_k``, the ``d_k`` leading eigenvalues
give the signal variances ``a_kj`` and the mean of the others the noise ``b_k``. HDclassif's
fourteen submodels constrain these parts across components; their names read

* ``Akj`` a variance per direction and component, ``Ak`` one per component, ``A`` one for all
  (``Aj``: one per direction, shared: the common-orientation models);
* ``Bk`` a noise variance per component, ``B`` one for all;
* ``Qk`` an orientation per component, ``Q`` one for all;
* ``Dk`` an intrinsic dimension per component (Cattell's scree test on each ``W_k``), ``D``
  one for all (a given integer, or the scree test on the data's covariance, chosen by the
  estimator before EM as HDclassif does).

Given the dimensions the M-step is closed form (the paper's equations; HDclassif's
``hddc_m_step``): weighted-pooled where a part is shared, each with the weights ``n_k``. The
model with a fixed common dimension ``q``, ``AkjBkQkD``, is the mixture of probabilistic PCA
(Tipping & Bishop 1999): ``W_k = U_q (L_q - b_k I)^(1/2)``, ``b_k`` the mean of the discarded
eigenvalues.

:class:`Subspace` is a :class:`~.matrices.Matrices` model (dense ``(K, D, D)`` covariances), so
the kernels, files, pictures and sampling are those of ``full``; it is parametrised (model
name, dimension, threshold) and is not in the registry: ``HighDimensionalMixture`` builds it.
:meth:`Subspace.fit` returns the dimensions with the covariances, which the estimator keeps,
so that the parameter count (:meth:`Subspace.n_parameters`) uses the fitted ones.

When Cattell's test re-chooses a dimension in an M-step, that step changes the model, and the
likelihood may fall there (as in HDclassif); with fixed dimensions every step is the exact
maximiser and EM is monotone.
"""

from __future__ import annotations

import numpy as np

from .base import random_rotation
from .decomposition import eigh_descending
from .matrices import Matrices, cholesky_draws

# name -> (signal variances, noise, orientation, dimension): HDclassif's fourteen, its order.
SUBSPACE_MODELS = {
    "AkjBkQkDk": ("akj", "bk", "qk", "dk"),
    "AkBkQkDk": ("ak", "bk", "qk", "dk"),
    "ABkQkDk": ("a", "bk", "qk", "dk"),
    "AkjBQkDk": ("akj", "b", "qk", "dk"),
    "AkBQkDk": ("ak", "b", "qk", "dk"),
    "ABQkDk": ("a", "b", "qk", "dk"),
    "AkjBkQkD": ("akj", "bk", "qk", "d"),
    "AkBkQkD": ("ak", "bk", "qk", "d"),
    "ABkQkD": ("a", "bk", "qk", "d"),
    "AkjBQkD": ("akj", "b", "qk", "d"),
    "AkBQkD": ("ak", "b", "qk", "d"),
    "ABQkD": ("a", "b", "qk", "d"),
    "AjBQD": ("aj", "b", "q", "d"),
    "ABQD": ("a", "b", "q", "d"),
}
# Cattell's scree test (HDclassif's default threshold), and the eigenvalues it ignores: below
# NOISE_CTRL times the largest (HDclassif's noise.ctrl is an absolute 1e-8).
THRESHOLD = 0.2
NOISE_CTRL = 1e-8


def canonical_name(name):
    """HDclassif's spelling of a model name given in any case (``"akjbkqkdk"``)."""
    if isinstance(name, str):
        for known in SUBSPACE_MODELS:
            if known.lower() == name.lower():
                return known
    raise ValueError(f"Unknown high-dimensional model {name!r}; use one of "
                     + ", ".join(repr(n) for n in SUBSPACE_MODELS) + ".")


def cattell(eigenvalues, threshold=THRESHOLD):
    """Cattell's scree test on descending eigenvalues ``(..., D)``: the last ``j`` whose drop
    ``l_j - l_{j+1}`` is above ``threshold`` times the largest drop (and ``l_{j+1}`` above the
    noise control), at least 1 and at most ``D - 1`` (HDclassif's ``hdclassif_dim_choice``)."""
    values = np.atleast_2d(eigenvalues)
    drops = np.abs(np.diff(values, axis=1))
    largest = drops.max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        steep = drops > threshold * largest
    steep &= values[:, 1:] > NOISE_CTRL * values[:, :1]
    index = np.arange(1, values.shape[1])
    dims = np.max(np.where(steep, index, 1), axis=1)
    return dims if np.ndim(eigenvalues) > 1 else int(dims[0])


class Subspace(Matrices):
    """An HDDC submodel with its dimension rule.

    Parameters
    ----------
    model : str
        One of :data:`SUBSPACE_MODELS` (any case).
    dimension : int or 'cattell'
        Each component's intrinsic dimension (capped at ``D - 1``), or ``'cattell'``: the scree
        test on each component's eigenvalues at every M-step (``...Dk`` models only; a common
        dimension is chosen from the data by the estimator).
    threshold : float
        Cattell's threshold.
    from_data : bool
        An integer ``dimension`` of a common-dimension model that the scree test chose from the
        data (it then counts as a parameter).
    """

    code = "VVV"
    stackable = False

    def __init__(self, model="AkjBkQkDk", dimension="cattell", threshold=THRESHOLD,
                 from_data=False):
        self.name = canonical_name(model)
        self.signal, self.noise, self.orientation, self.dimension_rule = SUBSPACE_MODELS[
            self.name]
        if dimension != "cattell" and not (isinstance(dimension, (int, np.integer))
                                           and dimension >= 1):
            raise ValueError(f"dimension must be 'cattell' or an integer >= 1, got {dimension!r}.")
        if dimension == "cattell" and self.dimension_rule == "d":
            raise ValueError(f"The common-dimension model {self.name!r} needs an integer "
                             "dimension (HighDimensionalMixture chooses it from the data).")
        self.dimension = dimension if dimension == "cattell" else int(dimension)
        self.threshold = float(threshold)
        self.from_data = bool(from_data)
        self.description = (f"HDDC {self.name}: subspace of dimension "
                            f"{self.dimension} plus isotropic noise per component")

    @property
    def chosen(self):
        """Whether the dimensions are chosen from the data (they then count as parameters)."""
        return self.dimension == "cattell"

    # ------------------------------------------------------------------ M-step
    def dimensions(self, eigenvalues):
        """The intrinsic dimension of each component from its descending eigenvalues."""
        n_features = eigenvalues.shape[1]
        if self.chosen:
            return cattell(eigenvalues, self.threshold)
        return np.full(len(eigenvalues), min(self.dimension, max(n_features - 1, 1)))

    def fit(self, sample_covariances, nk, reg_covar, previous_dimensions=None):
        """``(covariances, dimensions)``: the M-step's covariances (with ``reg_covar`` on the
        diagonal) and each component's intrinsic dimension (closed form: the previous
        dimensions are not needed)."""
        k, n_features = len(nk), sample_covariances.shape[-1]
        check_features(n_features, "A subspace model")
        weights = nk / nk.sum()
        if self.orientation == "q":  # one orientation: the eigenvectors of the pooled W
            pooled = np.tensordot(weights, sample_covariances, axes=1)
            values, vectors = eigh_descending(pooled[None])
        else:
            values, vectors = eigh_descending(sample_covariances)
        values = np.maximum(values, 0.0)
        dims = np.broadcast_to(self.dimensions(values), (len(values),)).astype(int)
        kept = np.arange(n_features)[None, :] < dims[:, None]  # (M, D)
        signal_sum = np.sum(np.where(kept, values, 0.0), axis=1)
        noise_sum = values.sum(axis=1) - signal_sum
        if self.orientation == "q":
            variances = self._common_variances(values[0], dims[0], kept[0], n_features)
            variances = np.broadcast_to(variances, (k, n_features))
            vectors = np.broadcast_to(vectors[0], (k, n_features, n_features))
            dims = np.full(k, dims[0])
        else:
            variances = self._variances(values, dims, kept, signal_sum, noise_sum, weights,
                                        n_features)
        covariances = np.einsum("kij,kj,klj->kil", vectors, variances + reg_covar, vectors)
        return 0.5 * (covariances + covariances.transpose(0, 2, 1)), dims

    def _variances(self, values, dims, kept, signal_sum, noise_sum, weights, n_features):
        """The ``(K, D)`` eigenvalues of the fitted covariances along each ``Q_k``."""
        if self.signal == "akj":
            signal = values
        elif self.signal == "ak":
            signal = np.broadcast_to((signal_sum / dims)[:, None], values.shape)
        else:  # one a: sum_k pi_k sum_j<=d_k l_kj / sum_k pi_k d_k
            signal = np.full(values.shape, weights @ signal_sum / (weights @ dims))
        if self.noise == "bk":
            noise = noise_sum / (n_features - dims)
        else:  # one b: sum_k pi_k sum_j>d_k l_kj / (D - sum_k pi_k d_k)
            noise = np.full(len(dims), weights @ noise_sum / (n_features - weights @ dims))
        return np.where(kept, signal, noise[:, None])

    def _common_variances(self, values, d, kept, n_features):
        signal = values if self.signal == "aj" else np.full(n_features, values[:d].mean())
        return np.where(kept, signal, values[d:].sum() / (n_features - d))

    def estimate(self, sample_covariances, nk, reg_covar, previous=None):
        return self.fit(sample_covariances, nk, reg_covar)[0]

    def sample(self, rng, means, covariances, counts):
        """Draws through each covariance's Cholesky factor (:func:`~.matrices.cholesky_draws`:
        its noise eigenvalue is repeated, where ``full``'s SVD would pick a basis at random)."""
        return cholesky_draws(rng, means, covariances, counts)

    # ------------------------------------------------------------------ counts
    def n_parameters(self, n_components, n_features, dimensions=None):
        """Free covariance parameters (Bouveyron et al. 2007, table 1; HDclassif's
        ``hdc_getComplexity`` less means and weights): orientations ``d_k (D - (d_k + 1) / 2)``,
        signal variances, noise variances, and the dimensions themselves when the scree test
        chose them (``K`` for ``Dk`` models, 1 for a common one). ``dimensions``: the fitted
        ones (default: the fixed dimension, or ``D - 1``, the most the test may choose)."""
        k, p = n_components, n_features
        if dimensions is None:
            fixed = self.dimension if not self.chosen else p - 1
            dimensions = np.full(k, min(fixed, max(p - 1, 1)))
        d = np.asarray(dimensions, dtype=np.float64).reshape(-1)
        if self.orientation == "q":
            d = d[:1]
        orientation = float(np.sum(d * (p - (d + 1) / 2)))
        signal = {"akj": d.sum(), "ak": k, "a": 1, "aj": d[0]}[self.signal]
        noise = k if self.noise == "bk" else 1
        chosen = (k if self.dimension_rule == "dk" else 1) if self.chosen or self.from_data \
            else 0
        return orientation + float(signal) + noise + chosen

    def mixture_parameters(self, n_components, n_features, dimensions=None):
        return (self.n_parameters(n_components, n_features, dimensions)
                + n_components * n_features + n_components - 1)

    def own_parameters(self, n_features, dimensions=None):
        """What one more component adds, less its weight, for a component of the largest of
        ``dimensions`` (default: the fixed dimension, or ``D - 1``)."""
        d = None if dimensions is None else [int(np.max(dimensions))]
        two = None if d is None else d * 2
        return round(self.mixture_parameters(2, n_features, two)
                     - self.mixture_parameters(1, n_features, d) - 1)

    # ------------------------------------------------------------------ generator
    def random_covariances(self, rng, sizes, n_features, log_ratio):
        """Random subspace covariances: a Haar orientation per component, signal standard
        deviations ``sizes`` times log-uniform ratios, noise standard deviation a tenth of the
        smallest signal's; then this model's M-step of them with equal weights, which imposes
        its constraints across components."""
        d = min(self.dimension if not self.chosen else 2, max(n_features - 1, 1))
        k = len(sizes)
        out = np.empty((k, n_features, n_features))
        for i, size in enumerate(sizes):
            q = random_rotation(rng, n_features)
            signal = (size * np.exp(rng.uniform(0, log_ratio, d))) ** 2
            variances = np.concatenate([signal, np.full(n_features - d, signal.min() / 100)])
            out[i] = (q * variances) @ q.T
        return self.fit(out, np.ones(k), 0.0)[0]

    def __repr__(self):
        return f"<subspace model {self.name!r}, dimension={self.dimension!r}>"


def check_features(n_features, what):
    """``ValueError`` for one feature: a subspace plus noise outside it needs two at least."""
    if n_features < 2:
        raise ValueError(f"{what} needs at least 2 features (a subspace and noise outside it); "
                         "X has 1. Use GaussianMixture for one-dimensional data.")


def principal_subspaces(covariances, dimensions):
    """Each component's subspace: the ``d_k`` leading eigenvectors of its covariance, a list
    of ``(D, d_k)`` orthonormal bases."""
    _, vectors = eigh_descending(np.asarray(covariances, dtype=np.float64))
    return [vectors[k][:, :int(d)] for k, d in enumerate(dimensions)]
