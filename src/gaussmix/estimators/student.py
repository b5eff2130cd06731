"""``StudentMixture``: a mixture of multivariate Student-t distributions on the shared EM driver.

Heavy tails and stray points bend a Gaussian mixture: one outlier can take a component, fat
tails inflate every covariance. A t component down-weights a row by its latent precision scale
``u = (nu + D) / (nu + d^2)`` (Peel & McLachlan 2000), so rows far out count little in its
mean and scale. The family's E-step terms and ECM M-step are
:mod:`gaussmix.engine.families.student_t_family`; everything else (starts, covariance models, data
paths, the noise component, prediction) is :class:`~gaussmix.estimators.gaussian.GaussianMixture`'s.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from ..engine.families.student_t_family import MAX_DOF, MIN_DOF
from ..engine.validation import is_real
from .driver import MIXTURE_RULES
from .gaussian import GaussianMixture
from .noise_component import NOISE_RULE

if TYPE_CHECKING:
    from typing import Any

    from typing_extensions import Self

    from .._typing import ArrayLike, RandomState

DOF_TYPES = ("free", "shared", "fixed")


def _valid_dof_init(value):
    values = np.asarray(value, dtype=object)
    return all(is_real(v) and np.isfinite(v) and MIN_DOF <= v <= MAX_DOF
               for v in values.reshape(-1)) and values.ndim <= 1 and values.size >= 1


_PARAMETER_RULES = {
    **MIXTURE_RULES,
    **NOISE_RULE,
    "dof_type": (lambda v: isinstance(v, str) and v in DOF_TYPES,
                 "one of " + ", ".join(repr(v) for v in DOF_TYPES)),
    "dof_init": (_valid_dof_init,
                 f"a number in [{MIN_DOF}, {MAX_DOF}] or one per component"),
}


class StudentMixture(GaussianMixture):
    """Mixture of multivariate Student-t distributions fitted by ECM.

    The parameters, attributes and methods of :class:`GaussianMixture` (every covariance
    model, the same starts, ``sample_weight``, float32, chunked statistics, memory-mapped and
    Dask data, the noise component, the pictures), with ``covariances_`` the components'
    *scale* matrices (a t component's covariance is ``nu / (nu - 2)`` times its scale, for
    ``nu > 2``) and the degrees of freedom ``dofs_``.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : str, default='full'
        Any covariance model of :class:`GaussianMixture` (the constraint applies to the scale
        matrices).
    dof_type : {'free', 'shared', 'fixed'}, default='free'
        ``'free'``: each component's degrees of freedom are estimated (the ECM equation of
        Peel & McLachlan 2000); ``'shared'``: one value for all, estimated; ``'fixed'``: kept
        at ``dof_init``.
    dof_init : float or array-like of shape (n_components,), default=10.0
        The starting (or, with ``'fixed'``, the fixed) degrees of freedom, in ``[0.2, 1000]``.
        10 makes rows far out count little from the first M-step on (``u`` falls as
        ``(10 + D) / (10 + d^2)``) while the start stays close to the Gaussian start it comes
        from; the first ECM step replaces it.
    noise : bool or float, default=False
        A uniform noise component, as for :class:`GaussianMixture`.
    tol, reg_covar, max_iter, n_init, init_params, weights_init, means_init, precisions_init, \
random_state, warm_start, verbose, verbose_interval, chunk_size, n_threads
        As for :class:`GaussianMixture` (``precisions_init``: inverse scale matrices).

    Attributes
    ----------
    dofs_ : ndarray of shape (n_components,)
        The degrees of freedom of each component.
    weights_, means_, covariances_, precisions_, precisions_cholesky_, converged_, n_iter_, \
lower_bound_, lower_bounds_, n_features_in_
        As for :class:`GaussianMixture` (``covariances_``: scale matrices).

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix as gm
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.standard_t(3, (500, 2)) - 6, rng.standard_t(3, (500, 2)) + 6])
    >>> model = gm.StudentMixture(2, random_state=0).fit(X)
    >>> np.round(np.sort(model.means_[:, 0]))
    array([-6.,  6.])
    >>> bool(np.all(model.dofs_ < 10))
    True
    """

    _parameter_rules = _PARAMETER_RULES
    _family_name = "student"

    def __init__(
        self,
        n_components: int = 1,
        *,
        covariance_type: str = "full",
        dof_type: str = "free",
        dof_init: float | ArrayLike = 10.0,
        noise: bool | float = False,
        tol: float | None = None,
        reg_covar: float = 1e-6,
        max_iter: int = 1000,
        n_init: int = 1,
        init_params: str = "hierarchical",
        weights_init: ArrayLike | None = None,
        means_init: ArrayLike | None = None,
        precisions_init: ArrayLike | None = None,
        random_state: RandomState = None,
        warm_start: bool = False,
        verbose: int = 0,
        verbose_interval: int = 10,
        chunk_size: int | None = None,
        n_threads: int | None = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.dof_type = dof_type
        self.dof_init = dof_init
        self.noise = noise
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.chunk_size = chunk_size
        self.n_threads = n_threads

    def _check_hyperparameters(self):
        super()._check_hyperparameters()
        size = np.size(self.dof_init)
        if size not in (1, self.n_components):
            raise ValueError(f"dof_init holds {size} values; give one, or one per component "
                             f"(n_components={self.n_components}).")

    def _family_option(self):
        return self.dof_type

    def _family_start(self, state):
        state = super()._family_start(state)
        dofs = np.broadcast_to(np.asarray(self.dof_init, dtype=np.float64),
                               (self.n_components,)).copy()
        return replace(state, dofs=dofs)

    def _sample_family(self, rng, parts, means):
        """t rows: each Gaussian deviation divided by ``sqrt(w)``, ``w ~ chi2(nu) / nu``."""
        out = []
        for k, part in enumerate(parts):
            nu = float(self.dofs_[k])
            w = rng.chisquare(nu, size=len(part)) / nu
            out.append(means[k] + (part - means[k]) / np.sqrt(w)[:, None])
        return out

    @property
    def partial_fit(self) -> Any:
        """Not offered (``hasattr(model, "partial_fit")`` is False): stepwise EM's running
        statistics have no ECM update of the degrees of freedom yet."""
        raise AttributeError(
            "StudentMixture has no partial_fit: fit it on the data (a memory-mapped file or a "
            "Dask array streams through fit), or use GaussianMixture's partial_fit.")

    @classmethod
    def from_parameters(cls, weights: ArrayLike, means: ArrayLike, covariances: ArrayLike, *,
                        dofs: float | ArrayLike | None = None, **params: Any) -> Self:
        """A fitted-like model holding given parameters (scale matrices as ``covariances``,
        and ``dofs``, the degrees of freedom per component or one shared value).

        Examples
        --------
        >>> import gaussmix as gm
        >>> from scipy.stats import t
        >>> m = gm.StudentMixture.from_parameters([1.0], [[0.0]], [[[1.0]]], dofs=3.0)
        >>> bool(abs(m.score_samples([[0.5]])[0] - t.logpdf(0.5, 3)) < 1e-12)
        True
        """
        model = super().from_parameters(weights, means, covariances, **params)
        if dofs is None:
            raise ValueError("StudentMixture.from_parameters needs dofs (the degrees of freedom).")
        values = np.broadcast_to(np.asarray(dofs, dtype=np.float64), (model.n_components,))
        if not np.all((values >= MIN_DOF) & (values <= MAX_DOF)):
            raise ValueError(f"dofs must lie in [{MIN_DOF}, {MAX_DOF}].")
        model.dofs_ = values.astype(model.means_.dtype)
        return model
