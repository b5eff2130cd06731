"""Missing values: ``GaussianMixture(missing='em')`` and :meth:`MissingValues.impute`.

The E-step of rows holding NaN is the engine's (:mod:`gaussmix.engine.missing`): each such row is
scored on its observed features and enters the statistics with the conditional expectations of
its missing ones, so EM maximises the observed-data likelihood. This mixin holds the estimator's
side: the switch, the starts (which need complete rows) and the imputation.
"""

from __future__ import annotations

import numpy as np

from ..engine.missing import FilledRows, fill_for_start

MISSING_OPTIONS = ("error", "em")

MISSING_RULE = {
    "missing": (lambda v: isinstance(v, str) and v in MISSING_OPTIONS,
                "one of " + ", ".join(repr(v) for v in MISSING_OPTIONS)),
}


class MissingValues:
    """Mixin of :class:`~gaussmix.estimators.gaussian.GaussianMixture`: NaN as missing values."""

    def _allows_missing(self):
        return getattr(self, "missing", "error") == "em"

    def _holds_missing(self, X):
        """Whether EM on ``X`` meets missing values (rows with NaN take one run at a time; see
        :mod:`gaussmix.estimators.batch`)."""
        return self._allows_missing() and bool(np.isnan(np.asarray(X)).any())

    def _start_rows(self, X, sample_weight):
        """The rows the starts work on: with ``missing='em'``, each NaN replaced by its column's
        observed mean (the starts need complete rows; EM then uses only the observed values)."""
        if not self._allows_missing():
            return X, sample_weight
        if isinstance(X, np.memmap):  # filled as the starts read rows: nothing copied whole
            return FilledRows.of(X, sample_weight), sample_weight
        if isinstance(X, np.ndarray):
            return fill_for_start(X, sample_weight), sample_weight
        return X, sample_weight

    def impute(self, X, return_std=False):
        """Fill each missing entry (NaN) of ``X`` with its conditional mean under the mixture.

        For a row with observed part ``x_o``, the missing part gets ``E[x_m | x_o] = sum_k
        p(k | x_o) (mu_km + S_k,mo S_k,oo^-1 (x_o - mu_ko))``: the components' conditional means,
        weighted by the row's responsibilities on its observed values. Needs ``missing='em'``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows with NaN where values are missing (at least one observed value per row).
        return_std : bool, default=False
            Also return the conditional standard deviation of each entry (0 where observed):
            the square root of ``E[x_j^2 | x_o] - E[x_j | x_o]^2`` under the mixture.

        Returns
        -------
        X_filled : ndarray of shape (n_samples, n_features)
        std : ndarray of shape (n_samples, n_features)
            Only with ``return_std=True``.

        Examples
        --------
        >>> import numpy as np
        >>> import gaussmix as gm
        >>> model = gm.GaussianMixture.from_parameters(
        ...     [1.0], [[0.0, 0.0]], [[[1.0, 0.8], [0.8, 1.0]]], missing="em")
        >>> model.impute([[1.0, np.nan]]).round(3).tolist()
        [[1.0, 0.8]]
        """
        if not self._allows_missing():
            raise ValueError(
                "impute needs a model that accepts missing values: create it with "
                "missing='em' (set_params(missing='em') on a fitted model works too)."
            )
        X = self._validate_predict_input(X)
        filled = np.array(X, dtype=np.float64)
        std = np.zeros_like(filled)
        incomplete = np.flatnonzero(np.isnan(filled).any(axis=1))
        chunk = self._chunk_rows(X.shape[1], np.float64)
        if len(incomplete):
            rows = self._kernel(self._fitted_state(), np.float64).incomplete_rows()
            for lo in range(0, len(incomplete), chunk):
                idx = incomplete[lo : lo + chunk]
                filled[idx], std[idx] = rows.impute(filled[idx])
        filled = filled.astype(X.dtype, copy=False)
        return (filled, std.astype(X.dtype, copy=False)) if return_std else filled
