"""The uniform noise component of mclust (Banfield & Raftery 1993; ``Mclust(...,
initialization = list(noise = ...))``): a component of constant density ``1 / V`` over a
region of volume ``V`` holding the data, whose weight EM learns. It has no moments; the kernel
normalises it with the other components (``Kernel(background=log w_0 - log V)``) and the
statistics carry its responsibilities' sum as ``extras["background"]``."""

from __future__ import annotations

import numpy as np


class UniformNoise:
    """A uniform background of log-volume ``log_volume``."""

    name = "noise"

    def __init__(self, log_volume):
        self.log_volume = float(log_volume)

    def log_density(self, weight):
        """``log w_0 - log V``: the kernel's ``background``."""
        with np.errstate(divide="ignore"):
            return float(np.log(weight)) - self.log_volume


def box_log_volume(minimum, maximum):
    """The log-volume of the data's bounding box (the product of the column ranges);
    ``ValueError`` when a column does not vary (its box has no volume)."""
    ranges = np.asarray(maximum, dtype=np.float64) - np.asarray(minimum, dtype=np.float64)
    if not np.all(ranges > 0):
        flat = np.flatnonzero(~(ranges > 0)).tolist()
        raise ValueError(
            f"noise=True spans the data's bounding box, but column(s) {flat} take a single "
            "value, so the box has no volume; drop those columns or give the volume as "
            "noise=V (a positive number).")
    return float(np.sum(np.log(ranges)))
