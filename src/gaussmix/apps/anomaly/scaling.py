"""The columns' scaling of :class:`~gaussmix.apps.anomaly.MixtureOutlierDetector`.

Standardised columns do not depend on the units, but blow up a nearly constant column (a border
pixel almost always blank): its rare values become many standard deviations and outweigh the
rest. Columns in one unit are then better kept as they are. With ``standardize="auto"`` both are
fitted at the ladder's first dimension and :func:`better_scaling` keeps the data's units only
where their model describes the rows clearly better (:func:`calibration_distance`).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import ks_2samp

from .rules import AUTO_DRAWS

__all__ = ["better_scaling", "calibration_distance", "scalings_tried"]


def calibration_distance(model, X):
    """How far ``model`` is from describing the rows ``X``: the Kolmogorov-Smirnov distance
    between its log-density on them and on ``AUTO_DRAWS`` rows drawn from it (0 when the rows
    look like its own draws). Two-sided: a density too narrow for the rows puts them in its
    tail, one too wide puts them all in its core; each row counts at most ``1 / n``, so a few
    gross outliers cannot decide."""
    return float(ks_2samp(model.log_density(X),
                          model.log_density(model.sample(AUTO_DRAWS))).statistic)


def better_scaling(standardised, own_units, X_fit):
    """The rung whose scaling the detector keeps: the data's own units where their model is
    closer to the rows (:func:`calibration_distance`) by more than the distance's own sampling
    scale, ``sqrt(1 / n + 1 / AUTO_DRAWS)`` (the Kolmogorov-Smirnov statistic's); else the
    standardised columns, which do not depend on the units."""
    margin = np.sqrt(1.0 / len(X_fit) + 1.0 / AUTO_DRAWS)
    if calibration_distance(own_units.model, X_fit) + margin < calibration_distance(
            standardised.model, X_fit):
        return own_units
    return standardised


def scalings_tried(standardize):
    """The column scalings tried (``True``: unit variance, ``False``: the data's units)."""
    if isinstance(standardize, str) and standardize == "auto":
        return (True, False)
    if isinstance(standardize, (bool, np.bool_)):
        return (bool(standardize),)
    raise ValueError(f"standardize must be True, False or 'auto', got {standardize!r}.")
