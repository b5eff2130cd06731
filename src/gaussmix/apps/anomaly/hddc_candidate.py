"""HDDC as a candidate density of the outlier detector (a family of :mod:`.candidates`).

:class:`SubspaceCandidate` standardises the columns (as
:class:`~gaussmix.apps.anomaly.candidates.ProjectedMixture` does) and fits a
:class:`~gaussmix.HighDimensionalMixture` at its defaults (HDclassif's ``AkjBkQkDk``, each
component's intrinsic dimension by Cattell's scree test) on all of them, the number of
components chosen by BIC over the detector's ``n_components``. It models every column itself,
so it does not depend on the ladder's dimension: the same rows give the same fit at every rung,
which is therefore fitted once per detector fit (``FitSettings.cache``).

It satisfies the family contract but is not in
:data:`~gaussmix.apps.anomaly.candidates.FAMILIES`: it lowered the mean AUC and AP off the
panel (numbers in :mod:`~gaussmix.apps.anomaly.candidates`). Add :func:`subspace_mixture` there
to try it again.
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np

from .rules import column_scales, major_log_density, minor_weight

#: Rows per component needed before a number of components is tried (the Gaussian family's).
ROWS_PER_COMPONENT = 10
BLOCK = 65_536


class NotApplicable(ValueError):
    """The family cannot model these rows (too few columns, missing cells): it proposes
    nothing and the other families compete alone."""


class SubspaceCandidate:
    """Scaled columns (as the detector's scaling says) and an HDDC mixture on all of them,
    ``K`` by BIC.

    ``log_density(x) = log sum_{k major} w_k N(z; mu_k, Sigma_k) - sum_j log s_j`` with ``z``
    the scaled row and ``s`` the column scales; minor components
    (:func:`~gaussmix.apps.anomaly.rules.minor_weight`) are left out of the sum.
    ``n_parameters_`` is the fitted mixture's own count (its dimensions included, as the scree
    test chose them).
    """

    def __init__(self, n_dims, params, seed, like=None):
        self.n_dims = n_dims  # the ladder's rung it competes at (it models every column)
        self.params = params
        self.seed = seed
        self.like = like

    def fit(self, X):
        p = self.params
        n, d = X.shape
        if d < 2 or p.missing == "em":
            raise NotApplicable("HDDC needs two columns at least and no missing cells.")
        key = (X.shape, hashlib.sha1(np.ascontiguousarray(X)).hexdigest(),
               None if self.like is None else self.like.mixture_.n_components, self.seed,
               p.standardize)
        cached = p.cache.get(key)
        if cached is not None:
            self.__dict__.update({name: value for name, value in cached.__dict__.items()
                                  if name not in ("n_dims", "like")})
            return self
        self.center_ = X.mean(axis=0)
        self.scale_ = column_scales(X, p.standardize)
        Z = (X - self.center_) / self.scale_
        ks = [k for k in p.ks if k * ROWS_PER_COMPONENT <= n] or [1]
        grids = [ks]
        if self.like is not None:  # keep the number of components unless degenerate here
            grids.insert(0, [self.like.mixture_.n_components])
        for i, grid in enumerate(grids):
            try:
                self.selection_ = _select(Z, grid, p, self.seed)
                break
            except ValueError:
                if i == len(grids) - 1:
                    raise
        self.mixture_ = self.selection_.best_
        self.n_parameters_ = self.mixture_._n_parameters()
        p.cache[key] = self
        return self

    def log_density(self, X):
        out = np.empty(len(X))
        weights = self.mixture_.weights_
        least = minor_weight(self.params.min_component_weight, len(weights))
        for start in range(0, len(X), BLOCK):
            rows = slice(start, start + BLOCK)
            Z = (X[rows] - self.center_) / self.scale_
            log_density = self.mixture_.score_samples(Z)
            if (weights < least).any():
                log_density = major_log_density(log_density, self.mixture_.predict_proba(Z),
                                                weights, least)
            out[rows] = log_density
        return out - np.log(self.scale_).sum()

    def sample(self, n_samples):
        """Rows drawn from the major components, in ``X``'s units."""
        weights = self.mixture_.weights_
        major = weights >= minor_weight(self.params.min_component_weight, len(weights))
        if not major.any():
            major[:] = True
        parts, n_drawn = [], 0
        while n_drawn < n_samples:  # draws of the minor components are discarded
            drawn, labels = self.mixture_.sample(max(n_samples - n_drawn, 1) * 2)
            parts.append(drawn[major[labels]])
            n_drawn += len(parts[-1])
        Z = np.concatenate(parts)[:n_samples]
        return self.center_ + self.scale_ * Z


def _select(Z, ks, p, seed):
    from ...estimators import HighDimensionalMixture
    from ...selection import select_parameters

    estimator = HighDimensionalMixture(reg_covar=p.reg_covar, tol=p.tol, n_init=p.n_init,
                                       random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(converge|degenerate).*")
        return select_parameters(Z, estimator, ks)


def subspace_mixture(n_dims, params, seed, like=None):
    """Family factory of :class:`SubspaceCandidate`."""
    return SubspaceCandidate(n_dims, params, seed, like)
