"""``MixtureOutlierDetector``: a robust, BIC-chosen Gaussian mixture as an outlier detector."""

from __future__ import annotations

import numbers
import warnings
from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ...engine import covariance
from ...engine.validation import validate_numeric
from .rules import (
    AUTO_MASS,
    check_contamination,
    contamination_offset,
    kept_rows,
    major_log_density,
)

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any, Literal

    from matplotlib.axes import Axes

    from ..._typing import ArrayLike, FloatArray, NDArray, RandomState

__all__ = ["MixtureOutlierDetector"]

#: ``n_components="auto"``: numbers of components tried by BIC.
AUTO_COMPONENTS = range(1, 6)
#: ``covariance_type="auto"``: covariance types tried by BIC.
AUTO_TYPES = ("full", "tied", "diag", "spherical")
#: ``n_pca="auto"``: at most this many principal components.
AUTO_PCA = 5
#: ``trim="auto"`` when ``contamination="auto"``.
AUTO_TRIM = 0.1
#: Rows per component needed before a number of components is tried.
ROWS_PER_COMPONENT = 10
#: Draws from the fitted model that set ``offset_`` with ``contamination="auto"``.
AUTO_DRAWS = 10_000


class MixtureOutlierDetector(OutlierMixin, BaseEstimator):
    """Outlier detection with a trimmed, BIC-chosen Gaussian mixture on principal components.

    The rows are standardised, projected on their leading principal components, and a
    :class:`~gaussmix.GaussianMixture` is chosen there by BIC over ``n_components`` x
    ``covariance_type``. The fit is then made robust by *trimming*: ``n_trim_steps`` times, the
    rows with the lowest scores (a fraction ``trim``) are set aside and the whole pipeline
    (standardisation, projection, BIC choice, fit) is refitted on the others, so a cluster of
    outliers neither inflates the covariances nor wins a component of its own. Components of the
    final mixture with weight below ``min_component_weight`` are treated as clusters of outliers
    and left out of the score. ``benchmarks/bench_anomaly.py`` measures each of these steps.

    Parameters
    ----------
    n_components : int, iterable of int or "auto", default="auto"
        Numbers of components tried by BIC (``"auto"``: 1 to 5); numbers above
        ``n_rows / 10`` are skipped (at least 1 is always tried).
    covariance_type : str, iterable of str or "auto", default="auto"
        Covariance types tried (``"auto"``: full, tied, diag and spherical; any name
        :class:`~gaussmix.GaussianMixture` accepts).
    contamination : float in (0, 0.5] or "auto", default=0.1
        Expected fraction of outliers: ``offset_`` flags this fraction of the training rows.
        ``"auto"``: ``offset_`` is the 1st percentile of the scores of 10,000 rows drawn from
        the fitted mixture, so rows outside the model's 99% highest-density region are flagged
        (about 1% of clean data, more of contaminated data).
    n_pca : int, None or "auto", default="auto"
        Principal components kept (``"auto"``: ``min(5, n_features)``; ``None``: all). Few
        components keep a mixture's parameters estimable when the data have many columns and
        few rows.
    standardize : bool, default=True
        Scale every column to unit variance before the projection (columns in different units).
    trim : float in [0, 0.5) or "auto", default="auto"
        Fraction of rows left out of each refit (``"auto"``: ``contamination``, or 0.1 with
        ``contamination="auto"``); 0 fits once.
    n_trim_steps : int, default=3
        Trimmed refits.
    min_component_weight : float in [0, 1), default=0.1
        Components lighter than this do not count in ``score_samples``.
    reg_covar : float, default=1e-3
        Added to the covariances' diagonal (in standardised units): keeps small data stable.
    n_init : int, default=1
        Starts per fit (see :func:`gaussmix.select_model`).
    random_state : int, RandomState instance or None, default=None
        Seeds the fits and the draws of ``contamination="auto"``.
    missing : {"error", "em"}, default="error"
        ``"em"``: rows may have missing cells (NaN). No principal components are taken then (a
        row with missing cells has no projection): the mixture is fitted on the standardised
        columns by missing-value EM (:class:`~gaussmix.GaussianMixture`'s ``missing="em"``), and
        each row is scored on its observed cells. ``n_pca`` is ignored.

    Attributes
    ----------
    mixture_ : GaussianMixture
        The final mixture, fitted on the principal-component scores of ``support_``'s rows.
    selection_ : ModelSelection
        The final BIC comparison.
    scaler_ : sklearn.preprocessing.StandardScaler
        Centring (and scaling) fitted on the kept rows.
    pca_ : sklearn.decomposition.PCA or None
        The projection fitted on the kept rows (``None`` with ``missing="em"``).
    support_ : ndarray of shape (n_samples,), dtype bool
        Rows of the training data used by the final fit.
    offset_ : float
        ``decision_function = score_samples - offset_``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when ``X`` has string column names.

    Notes
    -----
    ``score_samples(x)`` is ``log sum_k w_k N(z; mu_k, Sigma_k)`` over the components with
    ``w_k >= min_component_weight``, where ``z = pca_.transform(scaler_.transform(x))`` are the
    row's principal-component scores: the log-density of the projection, in standardised units
    (a constant away from the data's units). Adding the log-density of the PCA residual (an
    isotropic Gaussian on the discarded directions) was measured too and lowered the mean ROC
    AUC of the benchmark panel, so it is not part of the score.

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix as gm
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(size=(190, 2)), rng.uniform(-8, 8, size=(10, 2))])
    >>> detector = gm.MixtureOutlierDetector(contamination=0.05, random_state=0).fit(X)
    >>> labels = detector.predict(X)
    >>> int((labels == -1).sum())
    10
    >>> bool(detector.decision_function([[6.0, 6.0]])[0] < 0 < detector.decision_function([[0, 0]])[0])
    True
    """

    def __init__(self, n_components: int | Iterable[int] | Literal["auto"] = "auto",
                 covariance_type: str | Iterable[str] = "auto",
                 contamination: float | Literal["auto"] = 0.1, *,
                 n_pca: int | Literal["auto"] | None = "auto", standardize: bool = True,
                 trim: float | Literal["auto"] = "auto", n_trim_steps: int = 3,
                 min_component_weight: float = 0.1, reg_covar: float = 1e-3, n_init: int = 1,
                 random_state: RandomState = None,
                 missing: Literal["error", "em"] = "error") -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.contamination = contamination
        self.n_pca = n_pca
        self.standardize = standardize
        self.trim = trim
        self.n_trim_steps = n_trim_steps
        self.min_component_weight = min_component_weight
        self.reg_covar = reg_covar
        self.n_init = n_init
        self.random_state = random_state
        self.missing = missing

    def _allows_missing(self):
        return self.missing == "em"

    # ------------------------------------------------------------------ checks
    def _settings(self, n_samples, n_features):
        """The checked parameters: (ks, types, contamination, n_pca, trim)."""
        contamination = check_contamination(self.contamination)
        ks = _check_components(self.n_components)
        types = _check_types(self.covariance_type)
        n_pca = self.n_pca
        if n_pca is None:
            n_pca = n_features
        elif isinstance(n_pca, str) and n_pca == "auto":
            n_pca = min(AUTO_PCA, n_features)
        elif (isinstance(n_pca, (bool, np.bool_)) or not isinstance(n_pca, numbers.Integral)
              or n_pca < 1):
            raise ValueError(f"n_pca must be an int >= 1, None or 'auto', got {n_pca!r}.")
        trim = self.trim
        if isinstance(trim, str) and trim == "auto":
            trim = AUTO_TRIM if contamination == "auto" else contamination
        elif (isinstance(trim, (bool, np.bool_)) or not isinstance(trim, numbers.Real)
              or not 0.0 <= trim < 0.5):
            raise ValueError(f"trim must be a fraction in [0, 0.5) or 'auto', got {trim!r}.")
        _check_int(self.n_trim_steps, "n_trim_steps", 0)
        _check_int(self.n_init, "n_init", 1)
        if self.missing not in ("error", "em"):
            raise ValueError(f"missing must be 'error' or 'em', got {self.missing!r}.")
        weight = self.min_component_weight
        if (isinstance(weight, (bool, np.bool_)) or not isinstance(weight, numbers.Real)
                or not 0.0 <= weight < 1.0):
            raise ValueError(f"min_component_weight must be in [0, 1), got {weight!r}.")
        n_kept = int(np.ceil((1.0 - trim) * n_samples - 1e-9)) if self.n_trim_steps else n_samples
        if n_samples < 3 or n_kept < 2:
            raise ValueError(
                f"MixtureOutlierDetector needs at least 3 rows (and 2 after trimming), got "
                f"n_samples = {n_samples}."
            )
        return ks, types, contamination, int(min(n_pca, n_features, n_kept - 1)), float(trim)

    # ------------------------------------------------------------------ fitting
    def fit(self, X: ArrayLike, y: object = None) -> MixtureOutlierDetector:
        """Fit the robust mixture to ``X`` and set ``offset_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows (no missing values).
        y : ignored

        Returns
        -------
        self
        """
        X = validate_numeric(self, X, reset=True, ensure_min_samples=1)
        X = X.astype(np.float64, copy=False)
        n_samples, n_features = X.shape
        ks, types, contamination, n_pca, trim = self._settings(n_samples, n_features)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        support = np.arange(n_samples)
        parts = _fit_pipeline(X, ks, types, n_pca, self, seed)
        for _ in range(self.n_trim_steps if trim > 0 else 0):
            new = kept_rows(self._score(X, parts), trim)
            if np.array_equal(new, support):
                break
            support = new
            parts = _fit_pipeline(X[support], ks, types, n_pca, self, seed)
        self.scaler_, self.pca_, self.selection_, self.mixture_ = parts
        self.support_ = np.zeros(n_samples, dtype=bool)
        self.support_[support] = True
        if contamination == "auto":
            draws, _ = self.mixture_.sample(AUTO_DRAWS)
            self.offset_ = float(np.quantile(self._score_projected(draws), 1.0 - AUTO_MASS))
        else:
            self.offset_ = contamination_offset(self._score(X, parts), contamination)
        return self

    # ------------------------------------------------------------------ scoring
    def _score_projected(self, Z, mixture=None):
        mixture = self.mixture_ if mixture is None else mixture
        return major_log_density(mixture.score_samples(Z), mixture.predict_proba(Z),
                                 mixture.weights_, self.min_component_weight)

    def _score(self, X, parts):
        scaler, pca, _, mixture = parts
        Z = scaler.transform(X)
        return self._score_projected(Z if pca is None else pca.transform(Z), mixture)

    def score_samples(self, X: ArrayLike) -> FloatArray:
        """Score of each row: higher is more normal (see Notes for the exact formula).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = validate_numeric(self, X, reset=False).astype(np.float64, copy=False)
        return self._score(X, (self.scaler_, self.pca_, None, self.mixture_))

    def decision_function(self, X: ArrayLike) -> FloatArray:
        """``score_samples(X) - offset_``: negative for outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X: ArrayLike) -> NDArray[np.int_]:
        """``+1`` for inliers and ``-1`` for outliers (``decision_function(X) < 0``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,), dtype int
        """
        decision = self.decision_function(X)
        return np.where(decision < 0, -1, 1)

    def fit_predict(self, X: ArrayLike, y: object = None) -> NDArray[np.int_]:
        """``fit(X).predict(X)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        ndarray of shape (n_samples,), dtype int
        """
        return self.fit(X).predict(X)

    def plot(self, X: ArrayLike, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Density contours of a 2-column ``X`` with the flagged rows ringed (see
        :func:`gaussmix.apps.anomaly.plot_outliers`). Returns the matplotlib Axes."""
        from .plot import plot_outliers

        return plot_outliers(self, X, ax=ax, **kwargs)


# ---------------------------------------------------------------------- helpers
def _fit_pipeline(X, ks, types, n_pca, params, seed):
    """Standardise, project and choose a mixture by BIC: ``(scaler, pca, selection, mixture)``."""
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    from ...selection import select_model

    scaler = StandardScaler(with_std=bool(params.standardize)).fit(X)  # NaN-aware
    Z = scaler.transform(X)
    extra = {}
    if params.missing == "em":  # rows with missing cells have no projection: fit the columns
        pca, P, extra = None, Z, {"missing": "em"}
    else:
        pca = PCA(n_pca, svd_solver="full").fit(Z)
        P = pca.transform(Z)
    n_rows = len(P)
    tried = [k for k in ks if k * ROWS_PER_COMPONENT <= n_rows] or [1]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(converge|degenerate).*")
        selection = select_model(P, tried, types, random_state=seed, progress=False,
                                 n_init=params.n_init, reg_covar=params.reg_covar, **extra)
    return scaler, pca, selection, selection.best_


def _check_int(value, name, low):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) \
            or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}.")


def _check_components(n_components):
    if isinstance(n_components, str):
        if n_components == "auto":
            return list(AUTO_COMPONENTS)
        raise ValueError(f"n_components must be an int >= 1, a list of them or 'auto', got "
                         f"{n_components!r}.")
    values = [n_components] if np.ndim(n_components) == 0 else list(n_components)
    if not values or any(isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral)
                         or k < 1 for k in values):
        raise ValueError(f"n_components must be an int >= 1, a list of them or 'auto', got "
                         f"{n_components!r}.")
    return sorted({int(k) for k in values})


def _check_types(covariance_type):
    if isinstance(covariance_type, str):
        types = list(AUTO_TYPES) if covariance_type == "auto" else [covariance_type]
    else:
        types = list(covariance_type)
    if not all(isinstance(name, str) for name in types):
        raise ValueError(f"covariance_type must be 'auto', a name or a list of names, got "
                         f"{covariance_type!r}.")
    for name in types:
        for expanded in covariance.expand(name):
            covariance.get(expanded)  # ValueError naming the valid types
    if not types:
        raise ValueError("covariance_type must name at least one covariance type.")
    return types
