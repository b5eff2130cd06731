"""MAP adaptation of a fitted mixture to new data: :func:`map_adapt` (Reynolds et al. 2000).

A *universal background model* (UBM) is a mixture fitted by EM on data from many sources (in
speaker recognition: many speakers). Adapting it to a little data from one source moves each
component towards that data in proportion to how much of the data the component explains:

``alpha_k = n_k / (n_k + r)``, with ``n_k = sum_i w_i p(k | x_i)`` the component's soft count
under the UBM and ``r`` the relevance factor. A component that sees many rows follows them; one
that sees none keeps the UBM's parameters. The statistics are one pass of the chunked E-step under
the UBM's parameters (the driver's kernel and data paths), so memory-mapped and Dask data work as
in ``fit``.

Reference: D. A. Reynolds, T. F. Quatieri and R. B. Dunn, "Speaker verification using adapted
Gaussian mixture models", Digital Signal Processing 10 (2000), 19-41.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np

from ..backends import data_path_for
from ..engine import covariance
from ..engine.em import e_step
from ..engine.estep import available_threads, single_threaded_blas
from ..engine.state import MixtureState
from ..engine.stats import sample_covariances
from ..engine.validation import is_real
from .gaussian import GaussianMixture

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .._typing import ArrayLike

__all__ = ["ADAPTABLE", "map_adapt"]

#: What :func:`map_adapt` can adapt.
ADAPTABLE = ("weights", "means", "covariances")


def _adapts_covariances(model):
    """Reynolds' variance rule needs a covariance of each component's own, unconstrained within
    its representation (full matrices, diagonals or a single variance)."""
    return model.conjugate and not model.shared


def covariance_adaptable_types() -> tuple[str, ...]:
    """The ``covariance_type`` values whose covariances :func:`map_adapt` can adapt."""
    return tuple(name for name in covariance.names() if _adapts_covariances(covariance.get(name)))


def map_adapt(ubm: GaussianMixture, X: ArrayLike, *, relevance_factor: float = 16.0,
              adapt: str | Sequence[str] = ("means",),
              sample_weight: ArrayLike | None = None) -> GaussianMixture:
    """A new mixture MAP-adapted from the fitted ``ubm`` to the rows of ``X``.

    One pass of the E-step under the UBM's parameters gives each component's soft count ``n_k``,
    the mean ``E_k[x]`` and the second moments of the rows it explains; with
    ``alpha_k = n_k / (n_k + relevance_factor)`` (Reynolds, Quatieri & Dunn 2000):

    * weights: ``(alpha_k n_k / N + (1 - alpha_k) w_k)``, renormalised to sum to one
      (``N`` the total weight of the rows);
    * means: ``alpha_k E_k[x] + (1 - alpha_k) mu_k``;
    * covariances: the data's and the UBM's second moments around the component's new mean
      ``m_k`` interpolated, ``alpha_k E_k[(x - m_k)(x - m_k)^T] + (1 - alpha_k) (Sigma_k +
      (mu_k - m_k)(mu_k - m_k)^T)``. With adapted means (``m_k`` as above) this is the paper's
      ``alpha_k E_k[x x^T] + (1 - alpha_k) (Sigma_k + mu_k mu_k^T) - m_k m_k^T``; without, ``m_k``
      is ``mu_k``. The data's part carries the UBM's ``reg_covar``, as an M-step would. For
      ``'diag'`` this is the paper's variance rule; ``'spherical'`` averages it over the features.

    As ``relevance_factor`` goes to 0 every ``alpha_k`` goes to 1 and the result is one EM step
    from the UBM. The UBM is not changed.

    Parameters
    ----------
    ubm : GaussianMixture
        A fitted mixture (the universal background model), any ``covariance_type`` for the
        weights and means; for the covariances, one of :func:`covariance_adaptable_types`
        (``'full'``, ``'diag'``, ``'spherical'`` and their mclust names).
    X : array-like, np.memmap or dask.array.Array of shape (n_samples, n_features)
        The adaptation data (at least two rows), with the UBM's features.
    relevance_factor : float, default=16.0
        ``r > 0``: how many rows a component must explain before the data outweigh the UBM
        (Reynolds used 16). Smaller values follow the data more closely.
    adapt : str or sequence of str, default=("means",)
        Any of ``"weights"``, ``"means"``, ``"covariances"``. Adapting only the means is the
        usual choice for speaker models (and keeps the UBM's covariances for fast scoring).
    sample_weight : array-like of shape (n_samples,), default=None
        Non-negative row weights; integer weights give the same result as repeated rows.

    Returns
    -------
    GaussianMixture
        A deep copy of ``ubm`` holding the adapted parameters: it predicts, scores, samples and
        saves like any fitted model. ``n_iter_`` is 1, ``converged_`` True and ``lower_bound_``
        the mean log-likelihood of ``X`` under the UBM (the E-step's parameters, as in an EM
        iteration).

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix as gm
    >>> rng = np.random.default_rng(0)
    >>> ubm = gm.GaussianMixture(2, covariance_type="diag", random_state=0).fit(
    ...     np.vstack([rng.normal(-4, 1, (500, 2)), rng.normal(4, 1, (500, 2))]))
    >>> X = rng.normal(5, 1, (32, 2))
    >>> speaker = gm.map_adapt(ubm, X)
    >>> near = int(np.argmax(ubm.means_[:, 0]))  # the component that explains all 32 rows
    >>> alpha = 32 / (32 + 16)
    >>> bool(np.allclose(speaker.means_[near],
    ...                  alpha * X.mean(axis=0) + (1 - alpha) * ubm.means_[near]))
    True
    >>> bool(np.allclose(speaker.means_[1 - near], ubm.means_[1 - near]))  # it saw no rows
    True
    """
    _check_ubm(ubm)
    r = _check_relevance_factor(relevance_factor)
    parts = _check_adapt(adapt)
    model = ubm._covariance_model
    if "covariances" in parts and not _adapts_covariances(model):
        types = ", ".join(repr(name) for name in covariance_adaptable_types())
        raise ValueError(
            f"map_adapt cannot adapt the covariances of covariance_type="
            f"{ubm.covariance_type!r}: Reynolds' rule needs each component's own unconstrained "
            f"covariance, i.e. one of {types}. Adapt only 'weights' and 'means', or train the UBM "
            "with one of those types."
        )
    with single_threaded_blas():
        stats, state = _statistics(ubm, X, sample_weight)
    weights0, means0, covariances0 = state.weights, state.means, state.covariances
    prec_chol = state.prec_chol
    nk = stats.nk
    alpha = nk / (nk + r)
    safe = np.maximum(nk, np.finfo(np.float64).tiny)
    mc = stats.s1 / safe[:, None]
    data_means = stats.shift + mc

    weights, means, covariances = weights0, means0, covariances0
    if "weights" in parts:
        weights = alpha * nk / stats.weight + (1.0 - alpha) * weights0
        weights = weights / weights.sum()
    if "means" in parts:
        means = alpha[:, None] * data_means + (1.0 - alpha[:, None]) * means0
    if "covariances" in parts:
        covariances = _adapted_covariances(
            ubm, model, stats, safe, mc, alpha, data_means, means, state, weights
        )
        prec_chol = model.precision_cholesky(covariances)

    adapted = copy.deepcopy(ubm)
    adapted.__dict__.pop("_stream_state", None)  # partial_fit's running statistics are the UBM's
    adapted._store_state(MixtureState(weights, means, covariances, prec_chol),
                         ubm.means_.dtype.type)
    adapted.converged_ = True
    adapted.n_iter_ = 1
    adapted.lower_bound_ = float(stats.loglik / stats.weight)
    adapted.lower_bounds_ = [adapted.lower_bound_]
    return adapted


def _statistics(ubm, X, sample_weight):
    """Summed E-step statistics of ``X`` under the UBM (one pass, any data path)."""
    # The data paths check n_samples >= n_components, which fitting needs and adapting does not
    # (a component that sees no rows keeps the UBM's parameters): validate against one component.
    probe = copy.copy(ubm)
    probe.n_components = 1
    path = data_path_for(X)
    X, sample_weight, _ = path.prepare(probe, X, sample_weight, False, np.random.RandomState(0))
    dtype = np.result_type(X.dtype, ubm.means_.dtype).type
    chunk = ubm._chunk_rows(X.shape[1], dtype)
    n_threads = ubm.n_threads or available_threads()
    state = ubm._fitted_state()
    stats = e_step(
        lambda far: ubm._kernel(state, dtype, far), X, sample_weight, dtype, chunk, n_threads,
        path.em_statistics,
    )
    return stats, state


def _adapted_covariances(ubm, model, stats, safe, mc, alpha, data_means, means, state, weights):
    """Reynolds' rule: data and UBM second moments around the new means, interpolated."""
    n_components, n_features = means.shape
    data_cov = sample_covariances(stats, safe, mc)  # (K, D, D) dense or (K, D) diagonal
    d_data = data_means - means
    d_ubm = state.means - means
    if model.family == "dense":
        eye = np.eye(n_features)
        data_part = data_cov + ubm.reg_covar * eye + d_data[:, :, None] * d_data[:, None, :]
        ubm_part = state.covariances + d_ubm[:, :, None] * d_ubm[:, None, :]
        dense = alpha[:, None, None] * data_part + (1.0 - alpha[:, None, None]) * ubm_part
        dense = 0.5 * (dense + dense.transpose(0, 2, 1))
    else:
        variances = model.variances(state.covariances, n_components, n_features)
        data_part = data_cov + ubm.reg_covar + d_data**2
        ubm_part = variances + d_ubm**2
        diagonal = alpha[:, None] * data_part + (1.0 - alpha[:, None]) * ubm_part
        dense = diagonal[:, :, None] * np.eye(n_features)
    return model.project(dense, weights)


# ---------------------------------------------------------------------- validation
def _check_ubm(ubm):
    if not isinstance(ubm, GaussianMixture):
        raise TypeError(
            "map_adapt adapts a fitted gaussmix.GaussianMixture (the UBM); got "
            f"{type(ubm).__name__}. Fit one with gaussmix.GaussianMixture(...).fit(X_background), "
            "or build one with GaussianMixture.from_parameters."
        )
    if not hasattr(ubm, "means_"):
        raise ValueError(
            "map_adapt needs a fitted UBM; this GaussianMixture is not fitted yet. Call "
            "ubm.fit(X_background) first."
        ) from None


def _check_relevance_factor(value):
    if not is_real(value) or not np.isfinite(value) or value <= 0:
        raise ValueError(
            f"relevance_factor must be a finite number > 0 (Reynolds used 16); got {value!r}."
        )
    return float(value)


def _check_adapt(adapt):
    names = (adapt,) if isinstance(adapt, str) else adapt
    try:
        names = tuple(names)
    except TypeError:
        names = None
    valid = ", ".join(repr(name) for name in ADAPTABLE)
    if (not names or any(not isinstance(n, str) for n in names)
            or any(n not in ADAPTABLE for n in names)):
        raise ValueError(
            f"adapt must name one or more of {valid} (e.g. adapt=('means',)); got {adapt!r}."
        )
    return frozenset(names)

