"""Anomaly detection: a robust Gaussian mixture as a scikit-learn outlier detector.

:class:`MixtureOutlierDetector` averages trimmed, BIC-chosen mixtures on a ladder of principal-
component dimensions (``density`` holds the candidate models and the families they come
from); :func:`contamination_offset` is the thresholding rule it shares with
``gaussmix score --contamination``; :func:`plot_outliers` draws density contours with the
flagged rows ringed.
"""

from .detector import MixtureOutlierDetector
from .plot import plot_outliers
from .rules import check_contamination, contamination_offset, kept_rows, major_log_density

__all__ = [
    "MixtureOutlierDetector",
    "check_contamination",
    "contamination_offset",
    "kept_rows",
    "major_log_density",
    "plot_outliers",
]
