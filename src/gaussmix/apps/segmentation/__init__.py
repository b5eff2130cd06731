"""Image segmentation: every pixel a row, every segment a Gaussian component.

:func:`segment_image` (in :mod:`.segment`) fits a :class:`~gaussmix.GaussianMixture` to the
pixels' colour features (:mod:`.features`: image checks, colour spaces, pixel coordinates) and
returns an :class:`ImageSegmentation`, whose four-panel picture is drawn by :mod:`.picture`
(imported when first drawn, with matplotlib).
"""

from .features import COLOR_SPACES, FEATURES, check_image
from .segment import ImageSegmentation, segment_image

__all__ = ["COLOR_SPACES", "FEATURES", "ImageSegmentation", "check_image", "segment_image"]
