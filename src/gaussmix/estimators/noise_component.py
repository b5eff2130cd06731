"""The noise component of an estimator: ``noise=True`` (mclust's uniform background over the
data's bounding box) or ``noise=V`` (over a region of volume ``V``, mclust's ``Vinv = 1/V``).

A mixin of :class:`~gaussmix.estimators.gaussian.GaussianMixture` (and so of
``StudentMixture``): the parameter's rule, the region drawn from the data before EM, the
start's noise weight, and the fitted attributes ``noise_weight_``, ``noise_volume_``,
``noise_log_volume_`` (the volume may overflow a float in many dimensions) and
``noise_bounds_``. The E-step and M-step terms are the engine's
(:mod:`gaussmix.engine.families.uniform_noise`).
"""

from __future__ import annotations

import numpy as np

from ..backends import is_dask_collection
from ..engine.estep import em_statistics, whole_data_kernel
from ..engine.families import UniformNoise, box_log_volume
from ..engine.families.uniform_noise import stray_rows
from ..engine.validation import check_weights, is_real

NOISE_RULE = {
    "noise": (
        lambda v: isinstance(v, (bool, np.bool_)) or (isinstance(v, str) and v == "hypvol")
        or (is_real(v) and np.isfinite(v) and v > 0),
        ("False, True (a uniform component over the data's bounding box), 'hypvol' (mclust's "
         "default volume: the smaller of the column box and the principal-component box) or a "
         "volume V > 0"),
    ),
}

#: The label :meth:`predict` gives rows the noise component explains best.
NOISE_LABEL = -1


def _rotated_box_log_volume(X, sample_weight, bounds, statistics=em_statistics,
                            chunk=65536):
    """The log-volume of the box of the data's principal-component scores (mclust's
    ``hypvol`` takes the smaller of it and the column box ``bounds``): the weighted covariance
    through the data path's ``statistics`` (one whole-data component, moments around the
    box's centre), its eigenvectors, then the ranges of the rows' scores."""
    shift = bounds.mean(axis=0)
    stats = statistics(X, sample_weight, whole_data_kernel("dense", shift, X.dtype), chunk, 1)
    offset = stats.s1[0] / stats.nk[0]
    covariance = stats.s2[0] / stats.nk[0] - np.outer(offset, offset)
    vectors = np.linalg.eigh(covariance)[1]
    return box_log_volume(*_column_ranges(X, sample_weight, chunk,
                                          transform=lambda rows: (rows - shift) @ vectors))


def _column_ranges(X, sample_weight=None, chunk=65536, transform=None):
    """``(minimum, maximum)`` per column of the rows of ``X`` (NumPy, memory-mapped or Dask)
    whose weight is positive (a row of weight 0 is not data), read chunk by chunk so that a
    memory-mapped file is never loaded whole; with ``transform``, of the rows it maps them to
    (float64 rows in, float64 rows out)."""
    if is_dask_collection(X):
        import dask

        if sample_weight is not None:
            X = X[sample_weight > 0]
        if transform is not None:
            X = transform(X.astype(np.float64))
        return tuple(np.asarray(v, dtype=np.float64)
                     for v in dask.compute(X.min(axis=0), X.max(axis=0)))
    lo = np.full(X.shape[1], np.inf)
    hi = np.full(X.shape[1], -np.inf)
    for start in range(0, X.shape[0], chunk):
        part = np.asarray(X[start:start + chunk], dtype=np.float64)
        if sample_weight is not None:
            part = part[np.asarray(sample_weight[start:start + chunk]) > 0]
            if not len(part):
                continue
        if transform is not None:
            part = transform(part)
        lo = np.minimum(lo, part.min(axis=0))
        hi = np.maximum(hi, part.max(axis=0))
    return lo, hi


class NoiseComponent:
    """Mixin: an optional uniform noise component (see the module docstring)."""

    def _noise_on(self):
        noise = getattr(self, "noise", False)
        return not (noise is False or noise is np.False_)

    def _check_noise_use(self):
        if self._noise_on() and self._allows_missing():
            raise ValueError(
                "noise and missing='em' cannot be combined yet: a row with missing values has "
                "no density under a uniform box of all the features. Impute first, or fit "
                "without noise.")

    def _prepare_noise(self, X, sample_weight=None, statistics=em_statistics):
        """The noise region of the data ``X`` (before EM): the bounding box of its rows of
        positive weight, and the volume (the box's, mclust's ``hypvol``, or the given one);
        ``statistics``: the data path's (see :func:`_rotated_box_log_volume`)."""
        if not self._noise_on():
            return
        self._set_noise_region(np.vstack(_column_ranges(X, sample_weight)))
        if self.noise == "hypvol":  # mclust's: the smaller of the two boxes
            rotated = _rotated_box_log_volume(X, sample_weight, self.noise_bounds_, statistics)
            if rotated < self.noise_log_volume_:
                self.noise_log_volume_ = rotated
                with np.errstate(over="ignore"):
                    self.noise_volume_ = float(np.exp(rotated))

    def _given_noise(self, weights, noise_weight, noise_bounds):
        """Check given ``weights`` and ``noise_weight`` (``from_parameters``; they sum to one)
        and set the noise region from ``noise_bounds``; returns the noise weight."""
        if noise_weight and not self._noise_on():
            raise ValueError("noise_weight needs the noise parameter: noise=V (the volume of its "
                             "region) or noise=True with noise_bounds (the data's box).")
        if not self._noise_on():
            check_weights(weights, len(weights), "weights")
            return 0.0
        check_weights(np.append(weights, noise_weight), len(weights) + 1,
                      "weights with noise_weight")
        self._set_noise_region(noise_bounds)
        return noise_weight

    def _set_noise_region(self, bounds):
        """``noise_bounds_`` (a ``(2, D)`` box, or ``None`` with ``noise=V``: sampling then
        uses a cube of volume ``V`` about the means), ``noise_volume_`` and its logarithm."""
        box = self.noise is True or self.noise is np.True_ or self.noise == "hypvol"
        if bounds is None and box:
            raise ValueError("noise=True spans a box: give noise_bounds (2, n_features), or "
                             "the volume as noise=V.")
        self.noise_bounds_ = None if bounds is None else np.asarray(bounds, dtype=np.float64)
        if box:
            lo, hi = self.noise_bounds_
            log_volume = box_log_volume(lo, hi)
            with np.errstate(over="ignore"):
                self.noise_volume_ = float(np.exp(log_volume))
        else:
            log_volume = float(np.log(float(self.noise)))
            self.noise_volume_ = float(self.noise)
        self.noise_log_volume_ = log_volume

    def _noise_background(self, noise_weight):
        """The kernel's ``background`` of a state's noise weight (``None`` without noise)."""
        if not self._noise_on():
            return None
        return UniformNoise(self.noise_log_volume_).log_density(noise_weight)

    def _start_rows(self, X, sample_weight):
        """With a noise component, the components start on the rows that are not strays
        (:func:`~gaussmix.engine.families.uniform_noise.stray_rows`: a nearest-neighbour
        screen; strays get weight 0 in the starts), and the noise component starts with their
        share."""
        X, sample_weight = super()._start_rows(X, sample_weight)
        if not self._noise_on():
            return X, sample_weight
        rows, weights, stray = stray_rows(X, sample_weight)
        total = len(rows) if weights is None else float(np.sum(weights))
        strays = float(stray.sum()) if weights is None else float(np.sum(weights[stray]))
        # never zero, so that EM can grow it: one row's worth more than the strays found
        self._start_noise_share = (strays + 1.0) / (total + 1.0)
        kept = np.where(stray, 0.0, 1.0 if weights is None else weights)
        return rows.astype(X.dtype, copy=False), kept.astype(X.dtype)

    def _noise_start(self, weights):
        """The start's ``(weights, noise weight)`` from a start of the components alone: the
        noise component takes the share of the rows the start set aside as strays (see
        :meth:`_start_rows`), and the components keep theirs in proportion."""
        if not self._noise_on():
            return weights, 0.0
        share = getattr(self, "_start_noise_share", 1.0 / (len(weights) + 1))
        return weights * (1.0 - share), share

    def _store_noise(self, noise_weight, dtype):
        if self._noise_on():
            self.noise_weight_ = dtype(noise_weight)

    def _noise_of_fitted(self):
        return float(getattr(self, "noise_weight_", 0.0)) if self._noise_on() else 0.0

    def _sample_noise(self, rng, n_samples):
        """``n_samples`` rows drawn uniformly from the noise region: the data's bounding box,
        scaled about its centre to the noise volume when that is another (``noise=V``,
        ``noise='hypvol'`` where the rotated box is the smaller)."""
        if self.noise_bounds_ is None:  # a cube of the volume about the components' mean
            side = np.exp(self.noise_log_volume_ / self.means_.shape[1])
            centre = self.weights_ @ self.means_ / self.weights_.sum()
            return centre - side / 2 + rng.random_sample((n_samples, len(centre))) * side
        lo, hi = self.noise_bounds_
        width = hi - lo
        with np.errstate(divide="ignore"):
            box = float(np.sum(np.log(width)))
        if self.noise_log_volume_ != box:  # a region of another volume: the box, rescaled
            with np.errstate(divide="ignore", over="ignore"):
                scale = np.exp((self.noise_log_volume_ - box) / len(width))
            width = width * scale if np.isfinite(scale) and scale > 0 else np.full_like(
                width, np.exp(self.noise_log_volume_ / len(width)))
            lo = 0.5 * (self.noise_bounds_[0] + self.noise_bounds_[1]) - 0.5 * width
        return lo + rng.random_sample((n_samples, len(lo))) * width
