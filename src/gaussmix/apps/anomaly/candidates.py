"""The candidate densities of :class:`~gaussmix.apps.anomaly.MixtureOutlierDetector`.

A *family* is a factory ``family(n_dims, params, seed) -> model``: an unfitted density model with
``fit(X)``, ``log_density(X)`` (a log-density over all of ``X``'s columns, so that models of
different families and dimensions compare) and ``n_parameters_``. At every dimension of the
detector's ladder each family in :data:`FAMILIES` is fitted with trimming, and the trimmed BIC
on the training rows (:func:`trimmed_bic`) picks one. A high-dimensional family (HDDC, mixtures
of probabilistic PCA or factor analysers) joins by one line: a factory appended to
:data:`FAMILIES`. A family that cannot model the rows (too few columns, missing cells) raises
:class:`NotApplicable` from ``fit`` and the others compete alone.

HDDC's factory (:func:`~gaussmix.apps.anomaly.hddc_candidate.subspace_mixture`) was measured
and is not in :data:`FAMILIES`: with it, ``benchmarks/bench_anomaly.py --quick`` (2 seeds) gave
mean AUC / AP on the panel 0.846 / 0.611 (without: 0.846 / 0.612) in outlier detection and
0.867 / 0.752 (0.864 / 0.742) in novelty detection, but off the panel 0.881 / 0.536
(0.924 / 0.564) and 0.981 / 0.893 (0.986 / 0.921), and fits up to 8 times slower (its scree
test re-chooses dimensions and EM runs to ``max_iter``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from .hddc_candidate import NotApplicable
from .rules import column_scales, kept_rows, minor_weight

__all__ = ["FAMILIES", "FitSettings", "NotApplicable", "ProjectedMixture", "dimension_ladder", "trimmed_bic",
           "trimmed_fit"]

#: Dimensions tried: the Fibonacci numbers (each about 1.6 times the last, so the ladder covers
#: 1 to 34 dimensions with eight models, dense where few dimensions matter).
LADDER = (1, 2, 3, 5, 8, 13, 21, 34)
#: Rows per component needed before a number of components is tried.
ROWS_PER_COMPONENT = 10
#: Rows scored per block (bounds the memory of ``log_density``).
BLOCK = 65_536


@dataclass(frozen=True)
class FitSettings:
    """The detector's checked settings that every candidate model reads."""

    ks: tuple
    types: tuple
    standardize: bool
    reg_covar: float
    n_init: int
    min_component_weight: float
    missing: str
    tol: float
    #: Numbers of components tried after ``ks`` while BIC's best is the largest one tried
    #: (``n_components="auto"``); empty: ``ks`` only.
    more_ks: tuple = ()
    #: Fits a family may share between the ladder's rungs (one detector fit's lifetime).
    cache: dict = field(default_factory=dict, compare=False, repr=False)


def dimension_ladder(n_features, n_pca, max_dims):
    """The projection dimensions, none above ``max_dims``: ``n_pca="auto"``: the ladder below
    ``n_features``, and ``n_features`` itself when it is at most the ladder's top; an int: that
    one (at most ``n_features``); ``None``: ``n_features``."""
    top = max(1, min(n_features, max_dims))
    if n_pca is None:
        return [top]
    if isinstance(n_pca, str):  # "auto", checked by the detector
        dims = [q for q in LADDER if q < n_features] + (
            [n_features] if n_features <= LADDER[-1] else [])
        return sorted({min(q, top) for q in dims})
    return [min(int(n_pca), top)]


class ProjectedMixture:
    """Scaled columns (see :func:`~gaussmix.apps.anomaly.rules.column_scales`), a Gaussian
    mixture (chosen by BIC) on the leading ``n_dims`` principal components and an isotropic
    Gaussian on the other ``n_features - n_dims``.

    ``log_density(x) = log sum_{k major} w_k N(p; mu_k, Sigma_k) + log N(r; 0, sigma^2 I)
    - sum_j log s_j``, with ``p`` the principal-component scores of the scaled row ``z``,
    ``r`` its residual off the subspace, ``sigma^2`` the mean variance of the discarded
    directions (at least ``reg_covar``) and ``s`` the column scales: the density of ``x``
    itself, a probabilistic-PCA-like model whose subspace holds a mixture. Components lighter than
    ``min_component_weight`` (clusters of outliers) are left out of the sum. ``n_dims=None``
    fits the mixture on the scaled columns (with ``missing="em"``: rows may have NaN).
    """

    def __init__(self, n_dims, params, seed, like=None):
        self.n_dims = n_dims
        self.params = params  # a FitSettings
        self.seed = seed
        self.like = like  # a fitted ProjectedMixture whose number and type of components to keep

    def fit(self, X):
        p = self.params
        n, d = X.shape
        self.center_ = np.nanmean(X, axis=0)
        self.scale_ = column_scales(X, p.standardize)
        Z = (X - self.center_) / self.scale_
        extra = {}
        if self.n_dims is None:
            self.mean_, self.components_, self.noise_variance_, P = None, None, None, Z
            extra = {"missing": "em"} if p.missing == "em" else {}
            q = d
        else:
            q = self.n_dims
            self.mean_ = Z.mean(axis=0)
            centred = Z - self.mean_
            variances, vectors = np.linalg.eigh(centred.T @ centred / n)  # d x d: cheap
            order = np.argsort(variances)[::-1]
            variances, vectors = np.maximum(variances[order], 0.0), vectors[:, order]
            self.components_ = vectors[:, :q]
            P = centred @ self.components_
            rest = variances[q:].sum() / (d - q) if q < d else None
            self.noise_variance_ = None if rest is None else max(rest, p.reg_covar)
        grid = ([k for k in p.ks if k * ROWS_PER_COMPONENT <= n] or [1], p.types)
        grids = [grid]
        if self.like is not None:  # keep the structure unless it is degenerate on these rows
            grids.insert(0, ([self.like.mixture_.n_components],
                             [self.like.mixture_.covariance_type]))
        for i, (ks, types) in enumerate(grids):
            try:
                # a refit keeps its structure though a clump it isolates shrank below the
                # component's parameters (spurious, but minor); a first fit's grid is proper
                self.selection_ = _select(P, ks, types, p, self.seed, extra,
                                          minor_spurious=i == 0 and self.like is not None)
                break
            except ValueError:
                if i == len(grids) - 1:
                    raise
        if i == len(grids) - 1:  # chosen afresh (a first fit, or a structure lost here)
            self.selection_ = _grow(self.selection_, P, p, n, self.seed, extra)
        self.mixture_ = self.selection_.best_
        self.min_weight_ = minor_weight(p.min_component_weight, self.mixture_.n_components)
        self._major = _major_mixture(self.mixture_, self.min_weight_)
        if extra and self._major is not None:  # rows with NaN: through the responsibilities
            self._major = (None, self._major[1])
        self.n_parameters_ = (self.mixture_._n_parameters() + d + q * d - q * (q + 1) // 2
                              + (self.noise_variance_ is not None))
        return self

    def sample(self, n_samples):
        """Rows drawn from the model (its major components), in ``X``'s units."""
        mixture = self.mixture_ if self._major is None or self._major[0] is None \
            else self._major[0]
        P, _ = mixture.sample(n_samples)
        if self.components_ is None:
            Z = P
        else:
            Z = self.mean_ + P @ self.components_.T
            if self.noise_variance_ is not None:
                rng = np.random.default_rng(self.seed)
                noise = rng.normal(scale=np.sqrt(self.noise_variance_), size=Z.shape)
                Z += noise - (noise @ self.components_) @ self.components_.T
        return self.center_ + self.scale_ * Z

    def project(self, X):
        """``(P, squared residual or None)`` of the scaled rows."""
        Z = (X - self.center_) / self.scale_
        if self.components_ is None:
            return Z, None
        Z -= self.mean_
        P = Z @ self.components_
        if self.noise_variance_ is None:
            return P, None
        return P, np.einsum("ij,ij->i", Z, Z) - np.einsum("ij,ij->i", P, P)

    def log_density(self, X):
        out = np.empty(len(X))
        for start in range(0, len(X), BLOCK):
            rows = slice(start, start + BLOCK)
            P, residual = self.project(X[rows])
            out[rows] = self._major_log_density(P)
            if residual is not None:
                v = self.noise_variance_
                out[rows] -= 0.5 * (np.maximum(residual, 0.0) / v
                                    + (self.center_.size - P.shape[1]) * np.log(2 * np.pi * v))
        return out - np.log(self.scale_).sum()

    def _major_log_density(self, P):
        if self._major is None:
            return self.mixture_.score_samples(P)
        mixture, log_mass = self._major
        if mixture is not None:
            return mixture.score_samples(P) + log_mass
        from .rules import major_log_density

        return major_log_density(self.mixture_.score_samples(P), self.mixture_.predict_proba(P),
                                 self.mixture_.weights_, self.min_weight_)


def _select(P, ks, types, p, seed, extra, minor_spurious=True):
    """BIC's choice over ``ks`` x ``types`` on the projected rows ``P`` among the fits a
    detector can use: proper fits, and spurious ones whose every spurious component is minor
    (:func:`minor_weight`). A component on a clump of outliers holds fewer rows than its own
    parameters wherever the clump is smaller than that (50 rows against the 105 parameters of
    a full covariance in 13 dimensions): model selection rightly refuses such a fit, but the
    detector leaves minor components out of the density, and the fit that gives the clump its
    own component is the one that flags it. Collapsed fits stay out (a variance that the data
    do not have: their likelihood, and so BIC, grows without bound). ``minor_spurious=False``:
    proper fits only. Raises ``ValueError`` when no fit is usable (as
    :func:`~gaussmix.selection.select_model` does)."""
    from ...selection import degenerate_components, select_model
    from ...selection.criteria import DataSpread

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(converge|degenerate).*")
        selection = select_model(P, ks, types, random_state=seed, progress=False,
                                 n_init=p.n_init, reg_covar=p.reg_covar, tol=p.tol,
                                 allow_degenerate=minor_spurious and not extra, **extra)
    if extra or not minor_spurious:  # proper fits only, as select_model chose
        return selection
    table, spread = selection.table, None
    usable = table["status"].eq("ok").to_numpy().copy()
    for i in np.flatnonzero(table["status"].eq("degenerate").to_numpy()):
        key = (int(table["n_components"].iloc[i]), str(table["covariance_type"].iloc[i]))
        model = selection.models_.get(key)
        if model is None:
            continue
        spread = DataSpread.of_rows(P) if spread is None else spread
        bad = degenerate_components(model, spread, len(P))
        minor = model.weights_ < minor_weight(p.min_component_weight, model.n_components)
        usable[i] = not bad.collapsed.any() and bool(np.all(minor[bad.spurious]))
    if not usable.any():
        raise ValueError("No usable fit: every fit has a degenerate major component.")
    selection.choose(int(table["bic"].where(usable).idxmin()))
    return selection


def _best_bic(selection):
    return float(selection.table["bic"].iloc[selection.best_index_])


def _grow(selection, P, p, n, seed, extra):
    """``selection``, or a selection with more components when BIC asks for them: while BIC's
    best number of components is the largest tried, the next number of ``p.more_ks`` (that
    has ``ROWS_PER_COMPONENT`` rows per component) is fitted with the best covariance type,
    and kept when its BIC is lower (proper fits only: a spurious component is no evidence of
    another class). The grid then follows the data's clusters (the nine classes of a data set
    of digits need more than five), not its clumps of outliers, without fitting many
    components where BIC already chose few."""
    tried = max(selection.table["n_components"])
    for k in p.more_ks:
        if k <= tried:
            continue
        if k * ROWS_PER_COMPONENT > n or selection.best_params_["n_components"] != tried:
            break
        try:
            grown = _select(P, [k], [selection.best_params_["covariance_type"]], p, seed, extra,
                            minor_spurious=False)
        except ValueError:  # degenerate with this many components: keep what BIC had
            break
        tried = k
        if _best_bic(grown) < _best_bic(selection):
            selection = grown
    return selection


def _major_mixture(mixture, min_weight):
    """``None`` when every component (or none) is major; else ``(mixture of the major
    components, log of their total weight)``, the mixture ``None`` where it cannot be formed
    (covariance models whose parameters the components share: scored through the
    responsibilities instead, the same number)."""
    weights = mixture.weights_
    major = weights >= min_weight
    if major.all() or not major.any():
        return None
    mass = weights[major].sum()
    covariances = np.asarray(mixture.covariances_)
    candidates = [covariances]  # shared by the components (tied models)
    if covariances.shape[:1] == weights.shape:
        candidates.insert(0, covariances[major])  # one per component
    for kept in candidates:  # from_parameters checks the shape the covariance model needs
        try:
            sub = type(mixture).from_parameters(weights[major] / mass, mixture.means_[major],
                                                kept, covariance_type=mixture.covariance_type,
                                                random_state=mixture.random_state)
            return sub, np.log(mass)
        except ValueError:  # that shape, or a constraint the subset breaks (equal volumes)
            continue
    return None, np.log(mass)  # scored through the responsibilities: the same number


def projected_mixture(n_dims, params, seed, like=None):
    """Family factory of :class:`ProjectedMixture` (``like``: a fitted model of the family
    whose structure a trimmed refit keeps)."""
    return ProjectedMixture(n_dims, params, seed, like)


#: The candidate families; a model is picked among them at each dimension by trimmed BIC.
FAMILIES = (projected_mixture,)


def trimmed_fit(model_factory, X, trim, n_steps):
    """Fit ``model_factory()`` to ``X`` (the family's own choice of structure, e.g. by BIC), then
    ``n_steps`` times refit ``model_factory(like=last)`` (the same structure) on the rows that
    the last fit scores in its top ``1 - trim`` (concentration steps, as in the minimum
    covariance determinant's C-steps). Returns ``(model, kept row indices)``."""
    support = np.arange(len(X))
    model = model_factory().fit(X)
    first = model
    for _ in range(n_steps if trim > 0 else 0):
        new = kept_rows(model.log_density(X), trim)
        if np.array_equal(new, support):
            break
        support = new
        model = model_factory(like=first).fit(X[support])
    return model, support


def trimmed_bic(model, X, trim):
    """``-2 x`` (sum of the ``ceil((1 - trim) n)`` highest log-densities of ``X``) ``+
    n_parameters_ x log`` (that count): BIC on the rows a trimmed fit keeps (the trimmed
    likelihood of TCLUST), comparable between models fitted on different kept rows."""
    log_density = np.sort(model.log_density(X))[::-1]
    n_keep = max(1, int(np.ceil((1.0 - trim) * len(X) - 1e-9)))
    return float(-2.0 * log_density[:n_keep].sum() + model.n_parameters_ * np.log(n_keep))
