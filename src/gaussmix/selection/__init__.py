"""Model selection: how many components, and which covariance model.

:func:`~gaussmix.selection.grid.select_model` fits a grid of mixtures and scores them by BIC,
AIC or ICL (:mod:`~gaussmix.selection.criteria`), returning a
:class:`~gaussmix.selection.result.ModelSelection`;
:func:`~gaussmix.selection.polish.polished_log_likelihood` compares fits at their optima;
:func:`~gaussmix.selection.parameter_grid.select_parameters` fits a grid of an estimator's own
parameters (HDDC's dimension, the number of factors) with the number of components.
"""

from .criteria import (
    CRITERIA,
    DEGENERATE_VARIANCE,
    DegenerateComponents,
    degenerate_components,
    degenerate_reason,
    information_criteria,
)
from .grid import select_model
from .parameter_grid import ParameterSelection, select_parameters
from .polish import polished_log_likelihood
from .result import ModelSelection

__all__ = [
    "CRITERIA", "DEGENERATE_VARIANCE", "DegenerateComponents", "ModelSelection",
    "ParameterSelection", "degenerate_components", "degenerate_reason", "information_criteria",
    "polished_log_likelihood", "select_model", "select_parameters",
]
