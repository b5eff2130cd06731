"""The estimators: state and the scikit-learn API, on the shared EM driver.

* :class:`~gaussmix.estimators.base.BaseMixture`: the EM driver (validation, data paths,
  ``n_init``, ``warm_start``, convergence, prediction, sampling);
* :mod:`~gaussmix.estimators.start_search`: starts and the default ``n_init`` search;
* :mod:`~gaussmix.estimators.stepwise`: ``partial_fit`` (stepwise EM);
* :class:`~gaussmix.estimators.gaussian.GaussianMixture` (EM) and
  :class:`~gaussmix.estimators.bayesian.BayesianGaussianMixture` (variational).
"""

from .base import BaseMixture
from .bayesian import BayesianGaussianMixture
from .gaussian import GaussianMixture

__all__ = ["BaseMixture", "BayesianGaussianMixture", "GaussianMixture"]
