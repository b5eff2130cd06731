"""Model selection: how many components, and which covariance type.

:func:`select_model` fits a :class:`~gaussmix.GaussianMixture` for every pair of a number of
components and a covariance type, scores each fit with information criteria and returns a
:class:`ModelSelection` holding the table, the best model and a plot.

The criteria (BIC, AIC, ICL, all lower is better) are defined in
:mod:`gaussmix.selection.criteria`. ICL (Biernacki, Celeux & Govaert 2000) adds a penalty for
overlapping components, so it prefers well-separated clusters where BIC counts a skewed cluster
as two components.

Spurious and degenerate fits. A Gaussian mixture likelihood is unbounded, and it has local
maxima where a component explains a handful of rows rather than the data. A fit is
*degenerate* when a component's variance in some direction is below ``DEGENERATE_VARIANCE``
times the data's, and *spurious* when a component holds fewer rows than the parameters it fits
on its own, plus one (:func:`~gaussmix.selection.criteria.degenerate_reason` gives the reasons
for both rules). Such fits say nothing about the data: they have status ``"degenerate"`` and
are not chosen as ``best_`` unless ``allow_degenerate``. When the ``n_init`` search of a grid
point ends on such a fit, the fit of each of its starts alone is judged too, and the best
proper one is reported instead (the ``message`` column says so); the search's higher fit is
then listed apart, in :attr:`ModelSelection.set_aside`.
Fits that fail outright (a component collapsing so far that its covariance cannot be factorised)
are reported with status ``"failed"`` and the engine's message.
"""

from __future__ import annotations

import numbers
from contextlib import contextmanager
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from ..engine import covariance
from ..engine.convergence import stopping_at_the_ridge
from ..engine.missing import fill_for_start
from ..engine.starts import MAX_PLANNED_BYTES, planned_bytes, planned_components
from ..engine.validation import (
    check_float_array,
    check_magnitude,
    check_no_empty_columns,
    check_no_empty_rows,
    check_sample_weight,
)
from ..estimators import GaussianMixture
from ..estimators.batch import fit_side_by_side
from ..estimators.sklearn_protocol import check_random_state, convergence_warnings_off
from ..estimators.start_search import starts_shared
from .criteria import (
    CRITERIA,
    DEGENERATE_VARIANCE,
    DataSpread,
    _fit_summary,
    degenerate_reason,
    fit_summaries,
    information_criteria,
)
from .result import COLUMNS, ModelSelection

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from .._typing import ArrayLike, RandomState

__all__ = ["select_model"]


# ---------------------------------------------------------------------- validation
def _check_grid(n_components, covariance_types, criterion, n_samples, n_features):
    if isinstance(n_components, numbers.Integral) and not isinstance(n_components, bool):
        n_components = [n_components]
    try:
        ks = list(n_components)
    except TypeError:
        raise TypeError(
            f"n_components must be an integer or an iterable of integers (e.g. range(1, 11)), "
            f"got {n_components!r}."
        ) from None
    if not ks:
        raise ValueError("n_components is empty; give at least one number of components.")
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"Every n_components must be an integer >= 1, got {k!r}.")
    ks = sorted({int(k) for k in ks})
    if ks[-1] > n_samples:
        raise ValueError(
            f"n_components goes up to {ks[-1]} but X has only {n_samples} rows; a mixture needs "
            "at least one row per component. Use fewer components or more data."
        )
    if isinstance(covariance_types, str):
        covariance_types = [covariance_types]
    try:
        ctypes = [name for ctype in covariance_types for name in (
            covariance.expand(ctype, n_features) if isinstance(ctype, str) else (ctype,))]
    except TypeError:
        raise TypeError(
            f"covariance_types must be a string or an iterable of strings, got {covariance_types!r}."
        ) from None
    if not ctypes:
        raise ValueError(
            "covariance_types is empty; give at least one of " + ", ".join(covariance.names())
            + "."
        )
    for ctype in ctypes:
        if not isinstance(ctype, str) or ctype not in covariance.names():
            raise ValueError(
                f"Unknown covariance type {ctype!r}; use any of "
                + ", ".join(repr(t) for t in covariance.names()) + "."
            )
    if n_features == 1:  # every model is mclust's E or V there: fit each once, by that name
        ctypes = [covariance.one_dimensional(ctype) for ctype in ctypes]
    else:
        for ctype in ctypes:
            covariance.check_dimensions(ctype, n_features)
    ctypes = list(dict.fromkeys(ctypes))
    if not isinstance(criterion, str) or criterion.lower() not in CRITERIA:
        raise ValueError(
            f"Unknown criterion {criterion!r}; use 'bic', 'aic' or 'icl' (all lower is better)."
        )
    return ks, ctypes, criterion.lower()


# ---------------------------------------------------------------------- fitting one grid point
class GridTask(NamedTuple):
    """One grid point to fit: the rows, the number of components and covariance type, the
    estimator's class and parameters, and the data's spread and effective size (for the
    degeneracy test and the criteria)."""

    X: object
    sample_weight: object
    n_components: int
    covariance_type: str
    estimator: type
    params: dict
    data_cov: DataSpread
    n_eff: float

    def build(self, **changes):
        """The unfitted estimator of this grid point (``changes`` override parameters)."""
        return self.estimator(self.n_components, covariance_type=self.covariance_type,
                              **{**self.params, **changes})


class Scored(NamedTuple):
    """One fit judged: the ``model`` (``None`` if it failed), its total ``loglik`` and
    assignment ``entropy``, its ``status`` (``'ok'``, ``'degenerate'``, ``'failed'``) and the
    ``reason``."""

    model: object
    loglik: float
    entropy: float
    status: str
    reason: str


@contextmanager
def _as_the_grid_fits(data_cov):
    """Fits as the grid runs them: warnings off (its table says), starts shared, runs held up
    by the ridge stopped (degenerate fits; ``data_cov``: the data's :class:`DataSpread`)."""
    with convergence_warnings_off(), starts_shared(), stopping_at_the_ridge(
            data_cov.whitener, DEGENERATE_VARIANCE):
        yield


def _fit_scored(task, fitted=None, summary=None, **changes):
    """The :class:`Scored` fit of ``task`` (with parameters ``changes``).

    ``fitted``: the outcome of fitting it already (the model, or the ``ValueError`` its fit
    raised; see :func:`gaussmix.estimators.batch.fit_side_by_side`); ``summary``: its
    ``(loglik, entropy)`` when they are known (:func:`~.criteria.fit_summaries`).
    """
    model = fitted
    try:
        if isinstance(fitted, ValueError):
            raise fitted
        if fitted is None:
            model = task.build(**changes)
            with _as_the_grid_fits(task.data_cov):
                model.fit(task.X, sample_weight=task.sample_weight)
        loglik, entropy = summary or _fit_summary(model, task.X, task.sample_weight)
    except ValueError as err:
        return Scored(None, np.nan, np.nan, "failed", str(err))
    if not np.isfinite(loglik):
        return Scored(model, loglik, entropy, "failed", "the log-likelihood is not finite")
    reason = degenerate_reason(model, task.data_cov, task.n_eff)
    if reason is not None:
        return Scored(model, loglik, entropy, "degenerate", reason)
    return Scored(model, loglik, entropy, "ok", "")


class GridFit(NamedTuple):
    """One grid point's outcome: its table ``row``, its fitted ``model`` (``None`` if every fit
    failed) and, when the search's best fit was degenerate or spurious and a proper one was
    kept instead, the row of that higher fit (listed apart, never chosen), else ``None``."""

    row: dict
    model: object
    set_aside: dict | None


def _fit_one(task, fit, alone=()):
    """Judge one grid point; never raises for a collapsing fit (returns a failed row instead).

    ``fit``: the :func:`_fit_scored` outcome of its ``n_init`` search. When that is a
    degenerate, spurious or failed fit, the fit from each of its starts alone is judged too,
    and the best proper one is kept (the ``message`` column says so); the search's best is then
    listed apart. ``alone``: ``(model, summary)`` of each start's fit alone (from the
    side-by-side search; none: the first start is refitted alone).
    """
    set_aside = None
    if fit.status != "ok" and task.params.get("n_init", 1) > 1:
        tries = [_fit_scored(task, model, model_summary, n_init=1)
                 for model, model_summary in (alone or [(None, None)])]
        proper = [t for t in tries if t.status == "ok"]
        fitted_at_all = [t for t in tries if t.status == "degenerate"]
        what = f"loglik {fit.loglik:.6g}" if fit.model is not None else "no fit"
        if proper:
            retry = max(proper, key=lambda t: t.loglik)
            if fit.model is not None and fit.status == "degenerate":
                set_aside = _row(fit, task)
            note = (f"the n_init search's best ({what}) was {fit.status}: {fit.reason}; "
                    "this row is the best proper fit of its starts")
            fit = retry._replace(reason=note)
        elif fit.status == "failed" and fitted_at_all:  # no proper fit: the best that is a fit
            retry = max(fitted_at_all, key=lambda t: t.loglik)
            fit = retry._replace(
                reason=f"{retry.reason} (the n_init search's best failed: {fit.reason})")
    return GridFit(_row(fit, task), fit.model, set_aside)


def _row(fit, task):
    """The table row of a :class:`Scored` ``fit`` of ``task``."""
    model, loglik, entropy = fit.model, fit.loglik, fit.entropy
    k, covariance_type = task.n_components, task.covariance_type
    n_features, n_eff = task.X.shape[1], task.n_eff
    n_parameters = (model._n_parameters() if model is not None
                    else model_n_parameters(covariance_type, k, n_features))
    row = dict.fromkeys(COLUMNS, np.nan)
    row.update(n_components=k, covariance_type=covariance_type,
               n_parameters=n_parameters, converged=False, n_iter=0, status=fit.status,
               message=fit.reason)
    if model is None:
        return row
    bic, aic, icl = information_criteria(loglik, row["n_parameters"], n_eff, entropy)
    row.update(loglik=loglik, bic=bic, aic=aic, icl=icl, converged=bool(model.converged_),
               n_iter=int(model.n_iter_))
    return row


def model_n_parameters(covariance_type, n_components, n_features):
    """Free parameters of a mixture: weights, means and covariances."""
    model = covariance.get(covariance_type)
    return int(model.mixture_parameters(n_components, n_features))


# ---------------------------------------------------------------------- public API
def select_model(
    X: ArrayLike,
    n_components: int | Iterable[int] = range(1, 11),
    covariance_types: str | Iterable[str] = ("full", "tied", "diag", "spherical"),
    criterion: str = "bic",  # "bic", "aic" or "icl", in any case
    *,
    n_init: int = 4,
    random_state: RandomState = None,
    n_jobs: int | None = None,
    progress: bool = True,
    sample_weight: ArrayLike | None = None,
    allow_degenerate: bool = False,
    estimator: Any = None,
    **params: Any,
) -> ModelSelection:
    """Fit mixtures for a grid of component numbers and covariance types; pick the best.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data (float32 stays float32).
    n_components : int or iterable of int, default=range(1, 11)
        Numbers of components to try; each must be between 1 and ``n_samples``.
    covariance_types : str or iterable of str, default=("full", "tied", "diag", "spherical")
        Covariance types to try (those four are mclust's VVV, EEE, VVI and VII); ``"all"`` means
        mclust's fourteen models (``EII`` ... ``VVV``, see ``docs/design.md``). On
        one-dimensional data every model is mclust's ``E`` (one variance) or ``V`` (a variance
        per component), and the grid fits each of the two once under that name, as mclust
        does.
    criterion : {'bic', 'aic', 'icl'}, default='bic'
        Criterion that chooses ``best_``; lower is better (see the module docstring).
    n_init : int, default=4
        Initialisations per fit. With the default ``init_params`` the first four are the
        deterministic hierarchical starts of :class:`GaussianMixture` (Ward, Ward on whitened
        rows, and two model-based VVV agglomerations, one of them mclust's own), each run to
        convergence; their agglomerations are cut from trees built once per data set, so the
        whole grid shares them. More adds screened random starts (see ``n_init`` there).
    random_state : int, RandomState instance or None, default=None
        Seeds every fit; with an int the table does not depend on ``n_jobs`` (beyond
        rounding).
    n_jobs : int or None, default=None
        The numbers of components are fitted in parallel in this many worker processes
        (``-1``: one per core), the covariance types of each together; ``None`` or ``1`` fits
        the whole grid together, which is fastest for small data where each fit takes
        milliseconds. Fits together run their EM side by side
        (:func:`gaussmix.estimators.batch.fit_side_by_side`). Workers run single-threaded
        E-steps unless ``n_threads`` is given.
    progress : bool, default=True
        Show a rich progress bar on stderr (it advances as each number of components is
        done).
    sample_weight : array-like of shape (n_samples,), default=None
        Row weights; ``n`` in BIC is then their sum.
    estimator : GaussianMixture or StudentMixture, optional
        The family to fit, as an unfitted estimator whose parameters (``noise``, ``dof_type``,
        ``tol``, ...) are kept for every fit (``n_components``, ``covariance_type``,
        ``random_state`` and ``n_init`` are set per fit; ``**params`` override the others).
        Default: ``GaussianMixture()``. The table's ``n_parameters`` and the criteria count
        the family's own parameters (degrees of freedom) and a noise component's weight.
    allow_degenerate : bool, default=False
        Whether a degenerate (spurious) fit may be chosen as ``best_``.
    **params
        Further :class:`GaussianMixture` parameters (``tol``, ``max_iter``, ``reg_covar``,
        ``init_params``...), the same for every fit. Without ``reg_covar``, the ridge is ``1e-6``
        times the smallest variance of a column that varies (``DataSpread.ridge``), so
        that the grid's likelihoods do not depend on the units of the columns.

    Returns
    -------
    ModelSelection

    Raises
    ------
    ValueError
        For an empty or invalid grid, ``n_components`` above ``n_samples``, an unknown
        criterion, or when no fit succeeds.

    Examples
    --------
    >>> import gaussmix as gm
    >>> X = gm.datasets.load_old_faithful()
    >>> sel = gm.select_model(X, range(1, 5), n_init=2, random_state=0, progress=False)
    >>> sel.best_params_["n_components"] in (2, 3)
    True
    >>> list(sel.table.columns[:4])
    ['n_components', 'covariance_type', 'loglik', 'n_parameters']
    """
    estimator_class, params = _estimator_of(estimator, params)
    missing = params.get("missing") == "em"
    X = check_float_array(X, ensure_min_samples=2, allow_nan=missing)
    if missing:
        check_no_empty_rows(X)
        check_no_empty_columns(X)
    check_magnitude(X)
    n_samples, n_features = X.shape
    ks, ctypes, criterion = _check_grid(n_components, covariance_types, criterion, n_samples,
                                        n_features)
    sample_weight = check_sample_weight(sample_weight, n_samples, dtype=X.dtype)
    n_eff = float(n_samples if sample_weight is None else sample_weight.sum())
    for name in ("n_components", "covariance_type", "random_state", "n_init"):
        if name in params:
            raise TypeError(f"select_model() got {name!r} in **params; it is set per fit.")
    unknown = sorted(set(params) - set(estimator_class().get_params()))
    if unknown:
        raise TypeError(
            f"select_model() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}; "
            f"extra keyword arguments go to {estimator_class.__name__} (tol, max_iter, "
            "reg_covar, init_params, ...)."
        )
    probe = estimator_class(n_init=n_init, **params)
    probe._check_hyperparameters()
    _check_grid_memory(ks, ctypes, n_init, X.shape[1])
    data_cov = DataSpread.of_rows(fill_for_start(X, sample_weight) if missing else X,
                                  sample_weight)
    if "reg_covar" not in params:
        params = {**params, "reg_covar": data_cov.ridge}

    grid = [(k, ctype) for ctype in ctypes for k in ks]
    seeds = check_random_state(random_state).randint(np.iinfo(np.int32).max, size=len(grid))
    parallel = n_jobs not in (None, 1)
    if parallel and "n_threads" not in params:
        params = {**params, "n_threads": 1}
    tasks = [
        GridTask(X, sample_weight, k, ctype, estimator_class,
                 {**params, "n_init": n_init, "random_state": int(seed)}, data_cov, n_eff)
        for (k, ctype), seed in zip(grid, seeds)
    ]
    with planned_components(ks):  # the model-based start builds the grid's trees together
        results = _run(tasks, n_jobs if parallel else 1, progress,
                       f"Fitting {len(grid)} mixtures ({n_samples} rows)")
    return ModelSelection(results, criterion, allow_degenerate)


def _estimator_of(estimator, params):
    """The estimator class of a grid and its parameters: ``estimator``'s (an unfitted
    estimator whose parameters are kept, except those set per fit), updated by ``params``."""
    if estimator is None:
        return GaussianMixture, dict(params)
    if isinstance(estimator, type) or not isinstance(estimator, GaussianMixture):
        raise TypeError(
            "estimator must be an unfitted GaussianMixture or StudentMixture instance (its "
            f"parameters are kept for every fit), got {estimator!r}.")
    if "covariance_type" not in estimator.get_params(deep=False):
        raise TypeError(
            f"select_model's grid is over covariance types, which {type(estimator).__name__} "
            "does not take; use gaussmix.select_parameters(X, estimator, n_components=..., "
            "param_grid=...) for a grid over its own parameters.")
    kept = {name: value for name, value in estimator.get_params(deep=False).items()
            if name not in ("n_components", "covariance_type", "random_state", "n_init")}
    return type(estimator), {**kept, **params}


def _fit_side_by_side(tasks, on_done=None):
    """``[(index, row)]`` of indexed ``tasks``: the fits together, their EM runs side by side
    (one stacked E-step per iteration for all of them); ``on_done(1)`` as each fit's EM ends."""
    X, sample_weight = tasks[0][1].X, tasks[0][1].sample_weight
    models = [task.build() for _, task in tasks]
    with _as_the_grid_fits(tasks[0][1].data_cov):
        outcomes = fit_side_by_side(models, X, sample_weight, each_alone=True,
                                    on_done=on_done and (lambda i: on_done(1)))
        fitted = [outcome for outcome, _ in outcomes if not isinstance(outcome, ValueError)]
        summaries = dict(zip(map(id, fitted), fit_summaries(fitted, X, sample_weight)))
        scored = [_fit_scored(task, outcome, summaries.get(id(outcome)))
                  for (_, task), (outcome, _) in zip(tasks, outcomes)]
        # each start alone where the search ended on a fit never chosen, in one stacked pass
        alone = [[run() for run in runs]
                 if runs and task.params.get("n_init", 1) > 1 and fit.status != "ok" else []
                 for (_, task), (_, runs), fit in zip(tasks, outcomes, scored)]
    more = [model for models in alone for model in models]
    summaries.update(zip(map(id, more), fit_summaries(more, X, sample_weight)))
    return [(i, _fit_one(task, fit, [(model, summaries[id(model)]) for model in models]))
            for (i, task), fit, models in zip(tasks, scored, alone)]


def _run(tasks, n_jobs, progress, description):
    """Run the fits: serially all together, side by side (the progress bar advancing as each
    fit's EM ends); or one number of components per joblib task (advancing as each is done).
    The results are in the order of ``tasks``."""
    indexed = list(enumerate(tasks))
    results = [None] * len(tasks)
    with _progress_bar(description, len(tasks), progress) as advance:
        if n_jobs == 1:
            done = _fit_side_by_side(indexed, advance)
        else:
            from joblib import Parallel, delayed

            by_k = {}
            for index, task in indexed:
                by_k.setdefault(task.n_components, []).append((index, task))
            done = []
            for part in Parallel(n_jobs=n_jobs, return_as="generator")(
                    delayed(_fit_side_by_side)(group) for group in by_k.values()):
                done += part
                advance(len(part))
        for index, result in done:
            results[index] = result
    return results


@contextmanager
def _progress_bar(description, total, show):
    """``advance(n)`` of a rich progress bar on stderr (of nothing, unless ``show``)."""
    if not show:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), transient=True,
    ) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)


def _check_grid_memory(ks, ctypes, n_init, n_features):
    """Refuse a grid whose fits (run side by side) would hold more parameters than
    :data:`~gaussmix.engine.starts.MAX_PLANNED_BYTES`, before anything is allocated."""
    total = 0
    for k in ks:
        for ctype in ctypes:
            runs, per_run = planned_bytes(n_init or 1, k, n_features,
                                          covariance.get(ctype).shape(k, n_features))
            total += runs * per_run
    if total > MAX_PLANNED_BYTES:
        raise ValueError(
            f"the grid of {len(ks) * len(ctypes)} fits (K up to {max(ks)}, {n_features} "
            f"features, n_init={n_init}) plans about {total / 2**30:.3g} GiB of parameters, more "
            f"than the {MAX_PLANNED_BYTES >> 30} GiB gaussmix plans; use fewer components or "
            "features, or diagonal covariance types (diag, spherical), whose size grows with "
            "the features rather than their square."
        )
