"""The estimators: state and the scikit-learn API, on the shared EM driver.

* :class:`~gaussmix.estimators.driver.BaseMixture`: the EM driver (validation, data paths,
  ``n_init``, ``warm_start``, convergence, prediction, sampling);
* :mod:`~gaussmix.estimators.start_search`: starts and the default ``n_init`` search;
* :mod:`~gaussmix.estimators.stepwise`: ``partial_fit`` (stepwise EM);
* :class:`~gaussmix.estimators.gaussian.GaussianMixture` (EM),
  :class:`~gaussmix.estimators.student.StudentMixture` (ECM, Student-t components) and
  :class:`~gaussmix.estimators.bayesian.BayesianGaussianMixture` (variational);
* :class:`~gaussmix.estimators.high_dimensional.HighDimensionalMixture` (HDDC) and
  :class:`~gaussmix.estimators.factor.FactorMixture` (factor analysers, probabilistic PCA),
  on :mod:`~gaussmix.estimators.structured`.
"""

from .bayesian import BayesianGaussianMixture
from .driver import BaseMixture
from .factor import FactorMixture
from .gaussian import GaussianMixture
from .high_dimensional import HighDimensionalMixture
from .student import StudentMixture

__all__ = ["BaseMixture", "BayesianGaussianMixture", "FactorMixture", "GaussianMixture",
           "HighDimensionalMixture", "StudentMixture"]
