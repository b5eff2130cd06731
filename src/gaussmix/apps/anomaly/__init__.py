"""Anomaly detection: a robust Gaussian mixture as a scikit-learn outlier detector.

:class:`MixtureOutlierDetector` standardises the rows, projects them on a few principal
components, chooses a mixture by BIC and refits it after trimming the rows it flags, the
whole pipeline each time; :func:`contamination_offset` is the thresholding rule it shares with
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
