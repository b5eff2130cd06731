"""``MixtureOutlierDetector``: a robust, BIC-chosen Gaussian mixture as an outlier detector."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from ...engine import covariance
from ...engine.validation import validate_numeric
from .candidates import (
    FAMILIES,
    FitSettings,
    NotApplicable,
    dimension_ladder,
    trimmed_bic,
    trimmed_fit,
)
from .rules import (
    AUTO_DRAWS,
    AUTO_MASS,
    check_contamination,
    contamination_offset,
)
from .scaling import better_scaling, scalings_tried

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Literal

    from matplotlib.axes import Axes

    from ..._typing import ArrayLike, FloatArray, NDArray, RandomState

__all__ = ["MixtureOutlierDetector"]

#: ``n_components="auto"``: numbers of components tried by BIC.
AUTO_COMPONENTS = range(1, 6)
#: ``n_components="auto"``: then these, one at a time while BIC's best is the largest tried
#: (Fibonacci numbers, as the dimension ladder).
AUTO_MORE_COMPONENTS = (8, 13, 21, 34)
#: ``covariance_type="auto"``: covariance types tried by BIC.
AUTO_TYPES = ("full", "tied", "diag", "spherical")
#: Rows fitted at most: larger data are fitted on one random subsample of this many rows (all
#: rows are scored). BIC keeps the mixtures estimable on it (10 rows per component at least),
#: and the fit's time stops growing with the number of rows.
MAX_FIT_ROWS = 4_000
#: EM stops when the mean log-likelihood per row gains less than this (scikit-learn's ``tol``):
#: a score needs the density's shape, not the last digits of its likelihood, and the
#: detector fits some 100 to 200 mixtures.
EM_TOL = 1e-3
#: ``trim="auto"`` when ``contamination="auto"``.
AUTO_TRIM = 0.1


class MixtureOutlierDetector(OutlierMixin, BaseEstimator):
    """Outlier detection with trimmed, BIC-chosen Gaussian mixtures on principal components.

    Every choice is made on the training rows alone (never on labels), by one rule for all data:

    * **dimensions**: one model per dimension ``q`` of the ladder 1, 2, 3, 5, 8, 13, 21, 34
      below the number of columns (and all columns when there are at most 34); ``n_pca`` fixes
      one. A model (:class:`~gaussmix.apps.anomaly.density.ProjectedMixture`) scales the
      columns, fits a mixture on the leading ``q`` principal components and an isotropic
      Gaussian on the rest: a density over all columns, so a row far off the subspace scores low.
    * **scaling**: columns in different units need standardising; columns in one unit (pixels,
      counts, scores on one scale) are often better kept as they are, since standardising
      blows up a nearly constant column and its rare values then dominate every score. The
      data decide: at the first dimension both scalings are fitted and the one whose model
      describes the fitted rows better is kept for all (its log-density on the rows against on
      its own draws, :func:`~gaussmix.apps.anomaly.scaling.calibration_distance`; the data's
      units must win by more than that distance's sampling scale). Likelihood
      cannot decide this:
      standardised near-constant columns raise the density of the bulk (trimmed BIC prefers
      them), and untrimmed BIC is decided by the few rows of lowest density.
    * **mixture**: at each dimension the number of components and the covariance type are
      chosen by BIC over ``n_components`` x ``covariance_type`` (``"auto"``: 1 to 5, then 8,
      13, 21, 34 one at a time while BIC's best is the largest tried, so data of many classes
      get enough components); components lighter than ``min_component_weight`` (and than half
      an equal share, ``0.5 / K``) are clusters of outliers and left out of the density.
    * **robustness**: ``n_trim_steps`` times the rows the model scores lowest (a fraction
      ``trim``) are set aside and the model (scaling, projection, mixture of the same
      structure, or chosen afresh where that structure is degenerate on the kept rows) is
      refitted on the rest, like the C-steps of the minimum covariance determinant.
    * **family**: every factory in ``density.FAMILIES`` proposes a model at each dimension and
      the trimmed BIC (:func:`~gaussmix.apps.anomaly.density.trimmed_bic`) picks one; new
      families (high-dimensional mixtures) join there.
    * **score**: each model's log-density, centred and scaled by its median and MAD on the
      fitted rows, averaged over the dimensions. BIC alone picks the largest dimension on data
      with discrete or near-constant columns and loses there; the average holds on every set
      of ``benchmarks/bench_anomaly.py``.

    Data of more than 4,000 rows are fitted on a random subsample of 4,000 and all rows are
    scored.

    Parameters
    ----------
    n_components : int, iterable of int or "auto", default="auto"
        Numbers of components tried by BIC (``"auto"``: 1 to 5, then 8, 13, 21 and 34, each
        with BIC's best covariance type and only while BIC's best is the largest number tried
        so far); numbers above ``n_rows / 10`` are skipped (at least 1 is always tried).
    covariance_type : str, iterable of str or "auto", default="auto"
        Covariance types tried (``"auto"``: full, tied, diag and spherical; any name
        :class:`~gaussmix.GaussianMixture` accepts).
    contamination : float in (0, 0.5] or "auto", default=0.1
        Expected fraction of outliers: ``offset_`` flags this fraction of the training rows.
        ``"auto"``: ``offset_`` is the 1st percentile of the scores of 10,000 rows drawn from
        the model of lowest trimmed BIC, so rows outside its 99% highest-density region are
        flagged (1-4% of clean data: the trimmed model is a little narrow; more of
        contaminated data).
    n_pca : int, None or "auto", default="auto"
        Principal components: ``"auto"``, the ladder above; an int, one model on that many;
        ``None``, one model on all of them.
    standardize : bool or "auto", default="auto"
        ``True``: scale every column to unit variance before the projection (columns in
        different units); ``False``: keep the data's units (columns in one unit, such as
        pixels, where a nearly constant column should stay nearly ignored), all columns divided
        by one scale (their root mean variance, so that ``reg_covar`` is relative);
        ``"auto"``: both are fitted at the ladder's first dimension, and the data's units are
        used for every model where their model describes the fitted rows better
        (:func:`~gaussmix.apps.anomaly.scaling.calibration_distance`) by more than the
        distance's sampling scale, else the standardised columns. The choice is
        ``standardized_``.
    trim : float in [0, 0.5) or "auto", default="auto"
        Fraction of rows left out of each refit (``"auto"``: ``contamination``, or 0.1 with
        ``contamination="auto"``); 0 fits once.
    n_trim_steps : int, default=3
        Trimmed refits.
    min_component_weight : float in [0, 1), default=0.1
        Components lighter than this, and than half an equal share ``0.5 / K`` of a
        ``K``-component mixture, do not count in ``score_samples`` (with the default the
        second bound matters from ``K = 6``: nine equal classes are all major).
    reg_covar : float, default=1e-3
        Added to the covariances' diagonal (in scaled units), and the least residual
        variance: keeps small data stable.
    n_init : int, default=1
        Starts per fit (see :func:`gaussmix.select_model`).
    random_state : int, RandomState instance or None, default=None
        Seeds the subsample, the fits and the draws of ``contamination="auto"``.
    missing : {"error", "em"}, default="error"
        ``"em"``: rows may have missing cells (NaN). No principal components are taken then (a
        row with missing cells has no projection): one mixture is fitted on the scaled
        columns by missing-value EM (:class:`~gaussmix.GaussianMixture`'s ``missing="em"``), and
        each row is scored on its observed cells. ``n_pca`` is ignored.

    Attributes
    ----------
    models_ : list of ProjectedMixture
        The model of each dimension (``n_dims``, ``mixture_``, ``selection_``,
        ``log_density``).
    criteria_ : ndarray of shape (n_models,)
        Their trimmed BIC on the fitted rows.
    standardized_ : bool
        Whether the models scale the columns to unit variance (see ``standardize``).
    score_centres_, score_spreads_ : ndarray of shape (n_models,)
        Median and MAD (times 1.4826) of each model's log-density on the fitted rows.
    best_model_ : ProjectedMixture
        The model of lowest trimmed BIC; ``mixture_`` and ``selection_`` are its.
    mixture_ : GaussianMixture
    selection_ : ModelSelection
    support_ : ndarray of shape (n_samples,), dtype bool
        Rows of the training data used by ``best_model_``'s final fit.
    offset_ : float
        ``decision_function = score_samples - offset_``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Defined when ``X`` has string column names.

    Notes
    -----
    ``score_samples(x) = mean_m (log p_m(x) - c_m) / s_m`` over the models ``m`` of
    ``models_``, with ``c_m``, ``s_m`` in ``score_centres_``, ``score_spreads_``; higher is
    more normal. ``models_[m].log_density`` is the density of the row in the data's units.

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
                 n_pca: int | Literal["auto"] | None = "auto",
                 standardize: bool | Literal["auto"] = "auto",
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
        """The checked parameters: (ks, types, contamination, dimensions, trim)."""
        contamination = check_contamination(self.contamination)
        ks = _check_components(self.n_components)
        types = _check_types(self.covariance_type)
        n_pca = self.n_pca
        if not (n_pca is None or (isinstance(n_pca, str) and n_pca == "auto")) and (
                isinstance(n_pca, (bool, np.bool_)) or not isinstance(n_pca, numbers.Integral)
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
        dims = dimension_ladder(n_features, n_pca, n_kept - 1)
        return ks, types, contamination, dims, float(trim)

    # ------------------------------------------------------------------ fitting
    def fit(self, X: ArrayLike, y: object = None) -> MixtureOutlierDetector:
        """Fit the candidate models to ``X`` and set ``offset_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows (no missing values unless ``missing="em"``).
        y : ignored

        Returns
        -------
        self
        """
        X = validate_numeric(self, X, reset=True, ensure_min_samples=1)
        X = X.astype(np.float64, copy=False)
        n_samples, n_features = X.shape
        ks, types, contamination, dims, trim = self._settings(n_samples, n_features)
        scalings = scalings_tried(self.standardize)
        settings = FitSettings(tuple(ks), tuple(types), scalings[0],
                               float(self.reg_covar), int(self.n_init),
                               float(self.min_component_weight), self.missing, EM_TOL,
                               AUTO_MORE_COMPONENTS if _is_auto(self.n_components) else ())
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        rows = np.arange(n_samples)
        if n_samples > MAX_FIT_ROWS:  # one random subsample fits every model
            rows = np.sort(rng.choice(n_samples, MAX_FIT_ROWS, replace=False))
        X_fit = X[rows]
        if self.missing == "em":  # a row with missing cells has no projection
            dims = [None]
        members, criteria, supports = [], [], []
        for q in dims:
            rungs = [_fit_rung(q, replace(settings, standardize=scaled), seed, X_fit, trim,
                               self.n_trim_steps) for scaled in scalings]
            # the first rung chooses the scaling for all
            best = rungs[0] if len(rungs) == 1 else better_scaling(rungs[0], rungs[1], X_fit)
            settings = best.model.params
            scalings = (settings.standardize,)
            members.append(best.model)
            criteria.append(best.criterion)
            supports.append(best.support)
        self.models_ = members
        self.standardized_ = bool(settings.standardize)
        self.criteria_ = np.asarray(criteria)
        self._normalise(X_fit)
        chosen = int(np.argmin(self.criteria_))
        self.best_model_ = members[chosen]
        self.mixture_ = self.best_model_.mixture_
        self.selection_ = self.best_model_.selection_
        self.support_ = np.zeros(n_samples, dtype=bool)
        self.support_[rows[supports[chosen]]] = True
        if contamination == "auto":
            draws = self.best_model_.sample(AUTO_DRAWS)
            self.offset_ = float(np.quantile(self._score(draws), 1.0 - AUTO_MASS))
        else:
            self.offset_ = contamination_offset(self._score(X), contamination)
        return self

    def _normalise(self, X_fit):
        """Centre and spread of each model's log-density on the fitted rows (median and
        normal-consistent MAD), so that the models' scores average on one scale."""
        centres, spreads = [], []
        for model in self.models_:
            log_density = model.log_density(X_fit)
            centre = float(np.median(log_density))
            spread = 1.4826 * float(np.median(np.abs(log_density - centre)))
            centres.append(centre)
            spreads.append(spread if spread > 0 else 1.0)
        self.score_centres_ = np.asarray(centres)
        self.score_spreads_ = np.asarray(spreads)

    # ------------------------------------------------------------------ scoring
    def _score(self, X):
        total = np.zeros(len(X))
        for model, centre, spread in zip(self.models_, self.score_centres_,
                                         self.score_spreads_):
            total += (model.log_density(X) - centre) / spread
        return total / len(self.models_)

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
        return self._score(X)

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
@dataclass(frozen=True)
class _Rung:
    """The model a rung of the ladder keeps: the family of lowest trimmed BIC."""

    model: Any
    criterion: float
    support: Any


def _fit_rung(q, settings, seed, X_fit, trim, n_trim_steps):
    """Every family of :data:`FAMILIES` fitted with trimming at dimension ``q``; the one of
    lowest trimmed BIC."""
    best = None
    for family in FAMILIES:
        try:
            model, support = trimmed_fit(
                lambda like=None, f=family: f(q, settings, seed, like), X_fit, trim,
                n_trim_steps)
        except NotApplicable:  # e.g. HDDC on one column
            continue
        criterion = trimmed_bic(model, X_fit, trim)
        if best is None or criterion < best.criterion:
            best = _Rung(model, criterion, support)
    assert best is not None  # FAMILIES is never empty
    return best


def _check_int(value, name, low):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) \
            or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}.")


def _is_auto(value):
    return isinstance(value, str) and value == "auto"


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
