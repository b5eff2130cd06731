"""Model selection over an estimator's own parameters: the intrinsic dimension of
:class:`~gaussmix.HighDimensionalMixture`, the number of factors of
:class:`~gaussmix.FactorMixture`, their submodels, with the number of components.

:func:`select_parameters` fits ``estimator`` (its other parameters kept) at every point of
``n_components x param_grid``, all EM runs side by side
(:func:`gaussmix.estimators.batch.fit_side_by_side`), and scores each fit by BIC, AIC or ICL
with the estimator's own parameter count (HDDC's counts the dimensions the fit chose). The
fits that :func:`gaussmix.select_model` would call degenerate (a variance below
``DEGENERATE_VARIANCE`` times the data's) or spurious (a component of fewer rows than the
parameters it fits alone, plus one, counted by the estimator's covariance model) are not
chosen.
"""

from __future__ import annotations

import itertools
import numbers
from typing import TYPE_CHECKING

import numpy as np

from ..engine.validation import check_float_array, check_magnitude, check_sample_weight
from ..estimators.batch import fit_side_by_side
from ..estimators.sklearn_protocol import convergence_warnings_off
from .criteria import (
    CRITERIA,
    DataSpread,
    degenerate_reason,
    fit_summaries,
    information_criteria,
)

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from .._typing import ArrayLike

__all__ = ["ParameterSelection", "select_parameters"]


class ParameterSelection:
    """The outcome of :func:`select_parameters`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per fit: ``n_components``, one column per parameter of the grid, ``loglik``,
        ``n_parameters``, ``bic``, ``aic``, ``icl`` (lower is better), ``converged``,
        ``n_iter``, ``status`` (``"ok"``, ``"degenerate"`` or ``"failed"``), ``message``.
    criterion : str
    best_ : estimator
        The fitted estimator with the lowest criterion among the ``"ok"`` rows.
    best_params_ : dict
        ``n_components`` and the grid's parameters of ``best_``.
    best_index_ : int
    models_ : list
        The fitted estimator of each row (``None`` where the fit failed).
    """

    def __init__(self, rows, models, criterion):
        import pandas as pd

        self.table = pd.DataFrame(rows)
        self.models_ = models
        self.criterion = criterion
        scores = self.table[criterion].where(self.table["status"].eq("ok"))
        if not scores.notna().any():
            raise ValueError("No fit in the grid is usable: " + "; ".join(
                f"row {i}: {r['status']} ({r['message']})" for i, r in enumerate(rows)))
        self.best_index_ = int(scores.idxmin())
        self.best_ = models[self.best_index_]
        keys = [c for c in self.table.columns if c not in _SCORE_COLUMNS]
        self.best_params_ = {key: rows[self.best_index_][key] for key in keys}

    def __repr__(self):
        return (f"ParameterSelection(criterion={self.criterion!r}, "
                f"best_params_={self.best_params_!r}, {len(self.table)} fits)")


_SCORE_COLUMNS = ("loglik", "n_parameters", "bic", "aic", "icl", "converged", "n_iter",
                  "status", "message")


def select_parameters(X: ArrayLike, estimator: Any,
                      n_components: int | Iterable[int] = range(1, 6),
                      param_grid: dict | None = None, criterion: str = "bic", *,
                      sample_weight: ArrayLike | None = None) -> ParameterSelection:
    """Fit ``estimator`` over a grid of ``n_components`` and its own parameters; pick the best.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    estimator : HighDimensionalMixture, FactorMixture or GaussianMixture
        Unfitted; its parameters other than those of the grid are kept for every fit.
    n_components : int or iterable of int, default=range(1, 6)
    param_grid : dict, default=None
        Parameter name -> values, e.g. ``{"dimension": range(1, 6)}`` for
        :class:`~gaussmix.HighDimensionalMixture` (``"cattell"`` may be one of them),
        ``{"n_factors": [1, 2, 3], "model": ["UUU", "CUU"]}`` for
        :class:`~gaussmix.FactorMixture`. ``None``: only the numbers of components.
    criterion : {'bic', 'aic', 'icl'}, default='bic'
        Lower is better; the parameter count is the fitted model's own (``bic``).
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    ParameterSelection

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix as gm
    >>> from gaussmix.selection import select_parameters
    >>> rng = np.random.default_rng(0)
    >>> basis = np.linalg.qr(rng.normal(size=(10, 3)))[0]
    >>> X = rng.normal(size=(300, 3)) * 4 @ basis.T + 0.5 * rng.normal(size=(300, 10))
    >>> sel = select_parameters(X, gm.HighDimensionalMixture(model="AkjBkQkD"), [1, 2],
    ...                         {"dimension": [1, 2, 3, 4, 5]})
    >>> sel.best_params_
    {'n_components': 1, 'dimension': 3}
    """
    from sklearn.base import clone

    X = check_float_array(X, ensure_min_samples=2)
    check_magnitude(X)
    sample_weight = check_sample_weight(sample_weight, X.shape[0], dtype=X.dtype)
    n_eff = float(X.shape[0] if sample_weight is None else sample_weight.sum())
    ks: list = ([n_components] if isinstance(n_components, numbers.Integral)
                else list(n_components))  # type: ignore[arg-type]
    if not ks or not all(isinstance(k, numbers.Integral) and 1 <= int(k) <= X.shape[0]
                         for k in ks):
        raise ValueError(f"n_components must be integers between 1 and n_samples; got {ks!r}.")
    if not isinstance(criterion, str) or criterion.lower() not in CRITERIA:
        raise ValueError(f"Unknown criterion {criterion!r}; use 'bic', 'aic' or 'icl'.")
    grid = dict(param_grid or {})
    names = list(grid)
    points = [dict(zip(names, values)) for values in itertools.product(*grid.values())]
    estimators = [clone(estimator).set_params(n_components=int(k), **point)
                  for k in ks for point in points]
    with convergence_warnings_off():
        outcomes = fit_side_by_side(estimators, X, sample_weight)
    fitted = [m for m in outcomes if not isinstance(m, ValueError)]
    summaries = dict(zip(map(id, fitted), fit_summaries(fitted, X, sample_weight)))
    data_cov = DataSpread.of_rows(X, sample_weight)
    rows, models = [], []
    for (k, point), outcome in zip(itertools.product(ks, points), outcomes):
        row = {"n_components": int(k), **point}
        if isinstance(outcome, ValueError):
            row.update(dict.fromkeys(_SCORE_COLUMNS[:5], np.nan), converged=False, n_iter=0,
                       status="failed", message=str(outcome))
            rows.append(row)
            models.append(None)
            continue
        loglik, entropy = summaries[id(outcome)]
        n_parameters = outcome._n_parameters()
        bic, aic, icl = information_criteria(loglik, n_parameters, n_eff, entropy)
        reason = _unusable(outcome, data_cov, n_eff)
        row.update(loglik=loglik, n_parameters=int(n_parameters), bic=bic, aic=aic, icl=icl,
                   converged=bool(outcome.converged_), n_iter=int(outcome.n_iter_),
                   status="ok" if reason is None else "degenerate", message=reason or "")
        rows.append(row)
        models.append(outcome)
    return ParameterSelection(rows, models, criterion.lower())


def _unusable(model, data_cov, n_eff):
    """Why ``model`` is degenerate or spurious (``select_model``'s rules, with the fitted
    model's own parameter count), or ``None``."""
    return degenerate_reason(model, data_cov, n_eff)
