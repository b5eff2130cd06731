"""Image segmentation: every pixel a row, every segment a Gaussian component.

:func:`segment_image` turns the pixels of an image into rows of colour features (CIELAB by
default, through scikit-image), optionally with the pixel's position, fits a
:class:`~gaussmix.GaussianMixture` to a random subsample of them and assigns every pixel to a
component, a block of rows at a time. It returns an :class:`ImageSegmentation` holding the
labels, the soft assignments, the model and a four-panel picture.

Memory. Fitting sees at most ``max_pixels`` pixels; prediction converts and scores about 65,536
pixels at a time. Beyond the input, the results themselves dominate: ``labels`` takes
``8 * H * W`` bytes and ``proba`` ``4 * H * W * K`` bytes (float32), e.g. 256 MiB for a
4000 x 4000 image with four segments.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

import numpy as np
from sklearn.utils import check_random_state

from ...engine import covariance
from .features import FeatureMap, check_color_space, check_features, check_image

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any, Literal

    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..._typing import ArrayLike, FloatArray, NDArray, RandomState
    from ...estimators import GaussianMixture
    from ...selection import ModelSelection

__all__ = ["ImageSegmentation", "segment_image"]

#: Pixels converted and predicted at a time.
BLOCK_PIXELS = 1 << 16
#: Numbers of components tried by ``n_components="auto"``.
AUTO_COMPONENTS = range(1, 9)
# Rec. 709 weights of R, G, B: orders segments from dark to light
_LUMINANCE = np.array([0.2126, 0.7152, 0.0722])


class ImageSegmentation:
    """The result of :func:`segment_image`.

    Attributes
    ----------
    labels : ndarray of shape (H, W), dtype intp
        Segment of every pixel (its most probable component), ``0 .. K-1``. Segments are numbered
        by the luminance of their mean colour, darkest first, so the numbering does not depend on
        the fit's start.
    proba : ndarray of shape (H, W, K), dtype float32
        Posterior probability of every segment for every pixel (``4 * H * W * K`` bytes).
    model : GaussianMixture
        The fitted mixture, its components in the order of ``labels`` (so
        ``model.predict`` on rows of :attr:`feature_names` gives ``labels``).
    mean_colors : ndarray of shape (K, 3)
        Mean RGB colour of each segment's pixels, floats in ``[0, 1]`` (grey repeated for a
        greyscale image).
    sizes : ndarray of shape (K,)
        Number of pixels in each segment.
    feature_names : tuple of str
        The model's features: the colour channels, then ``"row"`` and ``"column"`` with
        ``features="color+xy"``.
    selection : ModelSelection or None
        The BIC comparison when several numbers of components were tried (``"auto"``).
    image : ndarray
        The input image (not copied).
    color_space, features, spatial_weight
        The settings used.
    """

    def __init__(self, image: NDArray[Any], labels: NDArray[np.intp],
                 proba: NDArray[np.float32], model: GaussianMixture, mean_colors: FloatArray,
                 sizes: NDArray[Any], feature_names: tuple[str, ...],
                 selection: ModelSelection | None, color_space: str, features: str,
                 spatial_weight: float) -> None:
        self.image = image
        self.labels = labels
        self.proba = proba
        self.model = model
        self.mean_colors = mean_colors
        self.sizes = sizes
        self.feature_names = feature_names
        self.selection = selection
        self.color_space = color_space
        self.features = features
        self.spatial_weight = spatial_weight

    @property
    def n_components(self) -> int:
        """Number of segments ``K``."""
        return int(self.model.n_components)

    @property
    def segmented(self) -> FloatArray:
        """``(H, W, 3)`` RGB float image with every pixel painted its segment's mean colour."""
        return self.mean_colors[self.labels]

    @property
    def uncertainty(self) -> NDArray[np.float32]:
        """``(H, W)`` float32 map of ``1 - max probability`` (0: certain; at most ``1 - 1/K``)."""
        return 1.0 - self.proba.max(axis=2)

    @property
    def boundaries(self) -> NDArray[np.bool_]:
        """``(H, W)`` boolean mask of segment boundaries (``skimage.segmentation.find_boundaries``,
        ``mode="thick"``)."""
        from ..._optional import require

        segmentation = require("skimage.segmentation", "image", "ImageSegmentation.boundaries")
        return segmentation.find_boundaries(self.labels, mode="thick")

    def plot(self, axes: Sequence[Axes] | None = None, *,
             figsize: tuple[float, float] | None = None,
             boundary_color: Any = (1.0, 0.85, 0.0), titles: bool = True) -> Figure:
        """Original, segmented (mean colours), boundaries overlaid and uncertainty, side by side.

        Parameters
        ----------
        axes : sequence of 4 matplotlib Axes, default=None
            Where to draw (e.g. one row of a larger grid); a new figure when None.
        figsize : (float, float), default=None
            Size of the new figure (ignored with ``axes``).
        boundary_color : colour, default=(1.0, 0.85, 0.0)
            Colour of the boundary lines (anything matplotlib accepts).
        titles : bool, default=True
            Title each panel.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from .picture import plot_segmentation

        return plot_segmentation(self, axes, figsize=figsize, boundary_color=boundary_color,
                                 titles=titles)

    def __repr__(self):
        height, width = self.labels.shape
        extra = f", spatial_weight={self.spatial_weight:g}" if self.spatial_weight else ""
        return (f"ImageSegmentation(n_components={self.n_components}, shape=({height}, {width}), "
                f"color_space={self.color_space!r}, features={self.features!r}{extra})")


# ---------------------------------------------------------------------- checks
def _check_covariance_type(covariance_type):
    names = covariance.names()
    if not isinstance(covariance_type, str) or covariance_type not in names:
        raise ValueError(
            f"covariance_type={covariance_type!r} is not a covariance model; use one of "
            + ", ".join(map(repr, names)) + " ('full' is the usual choice for colours)."
        )


def _check_max_pixels(max_pixels, n_pixels):
    if max_pixels is None:
        return n_pixels
    if (isinstance(max_pixels, bool) or not isinstance(max_pixels, numbers.Integral)
            or max_pixels < 2):
        raise ValueError(
            f"max_pixels must be an integer >= 2 (pixels fitted; e.g. 100_000) or None for every "
            f"pixel, got {max_pixels!r}."
        )
    return min(int(max_pixels), n_pixels)


def _check_components(n_components, n_fit):
    """An int, or a sorted list of candidates for BIC."""
    if n_fit < 2:
        raise ValueError(
            f"the image has {n_fit} pixel(s) to fit; a mixture needs at least 2. Segment a "
            "larger image."
        )
    if isinstance(n_components, str):
        if n_components.strip().lower() != "auto":
            raise ValueError(
                f"n_components={n_components!r}: give a number of segments (e.g. 4), 'auto' "
                "(chosen by BIC among 1 to 8) or a list of candidates such as range(2, 7)."
            )
        ks = [k for k in AUTO_COMPONENTS if k <= n_fit]
    elif isinstance(n_components, numbers.Integral) and not isinstance(n_components, bool):
        ks = [int(n_components)]
    else:
        try:
            ks = list(n_components)
        except TypeError:
            raise TypeError(
                f"n_components must be an integer, 'auto' or a list of integers, got "
                f"{n_components!r}."
            ) from None
        if not ks or any(isinstance(k, bool) or not isinstance(k, numbers.Integral) for k in ks):
            raise ValueError(
                f"n_components={n_components!r}: a list of candidates must hold integers >= 1, "
                "e.g. range(2, 7)."
            )
        ks = sorted({int(k) for k in ks})
    if ks[0] < 1:
        raise ValueError(f"n_components must be >= 1, got {n_components!r}.")
    if ks[-1] > n_fit:
        raise ValueError(
            f"n_components={ks[-1]} is more than the {n_fit} pixels fitted; use fewer segments "
            "(or a larger image / max_pixels)."
        )
    return ks[0] if len(ks) == 1 else ks


# ---------------------------------------------------------------------- fit and predict
def _fit(X, ks, covariance_type, seed):
    """``(model, selection)``: one fit, or the best of several K by BIC."""
    from ...estimators import GaussianMixture
    from ...selection import select_model

    try:
        if isinstance(ks, int):
            model = GaussianMixture(ks, covariance_type=covariance_type, random_state=seed)
            return model.fit(X), None
        selection = select_model(X, ks, covariance_type, criterion="bic", n_init=1,
                                 random_state=seed, progress=False)
        return selection.best_, selection
    except ValueError as exc:
        raise ValueError(
            f"fitting {ks} component(s) to {X.shape[0]} pixels failed: {exc} Try fewer "
            "segments or covariance_type='diag'."
        ) from None


def _order_components(model, X, colours):
    """Renumber the components by the luminance of their (soft) mean colour, darkest first."""
    resp = model.predict_proba(X).astype(np.float64)
    rgb = colours[:, None] if colours.ndim == 1 else colours
    mass = resp.sum(axis=0)
    mean = (resp.T @ rgb) / np.maximum(mass, np.finfo(float).tiny)[:, None]
    light = mean @ _LUMINANCE if mean.shape[1] == 3 else mean[:, 0]
    means = np.asarray(model.means_, dtype=np.float64)
    order = np.lexsort((*means.T[::-1], np.where(mass > 0, light, np.inf)))
    model_of = covariance.get(model.covariance_type)
    model.weights_ = model.weights_[order]
    model.means_ = model.means_[order]
    for name in ("covariances_", "precisions_", "precisions_cholesky_"):
        setattr(model, name, model_of.take(getattr(model, name), order))


def _predict_blocks(model, source, features):
    """``labels, proba, mean_colors, sizes`` for every pixel, a block of rows at a time."""
    height, width = source.shape
    k = model.n_components
    channels = 1 if source.grey else 3
    labels = np.empty((height, width), dtype=np.intp)
    proba = np.empty((height, width, k), dtype=np.float32)
    sizes = np.zeros(k, dtype=np.int64)
    sums = np.zeros((k, channels))
    soft_mass = np.zeros(k)
    soft_sums = np.zeros((k, channels))
    step = max(1, BLOCK_PIXELS // width)
    for start in range(0, height, step):
        stop = min(height, start + step)
        values = source.rows(start, stop)
        flat = np.arange(start * width, stop * width) if features.xy_scale else None
        resp = model.predict_proba(features(values, flat)).astype(np.float64, copy=False)
        block = resp.argmax(axis=1)
        proba[start:stop] = resp.reshape(stop - start, width, k)
        labels[start:stop] = block.reshape(stop - start, width)
        colours = values.reshape(block.shape[0], channels)
        sizes += np.bincount(block, minlength=k)
        for c in range(channels):
            sums[:, c] += np.bincount(block, weights=colours[:, c], minlength=k)
        soft_mass += resp.sum(axis=0)
        soft_sums += resp.T @ colours
    overall = soft_sums.sum(axis=0) / max(soft_mass.sum(), np.finfo(float).tiny)
    mean_colors = np.where(
        (sizes > 0)[:, None], sums / np.maximum(sizes, 1)[:, None],
        np.where((soft_mass > 0)[:, None],
                 soft_sums / np.maximum(soft_mass, np.finfo(float).tiny)[:, None], overall),
    )
    mean_colors = np.clip(mean_colors, 0.0, 1.0)
    if source.grey:
        mean_colors = np.repeat(mean_colors, 3, axis=1)
    return labels, proba, mean_colors, sizes


# ---------------------------------------------------------------------- public API
def segment_image(
    image: ArrayLike,
    n_components: int | str | Iterable[int],  # "auto", in any case
    *,
    features: Literal["color", "color+xy"] = "color",
    color_space: str = "lab",  # "lab", "luv", "rgb", "hsv", "xyz" or "yuv", in any case
    spatial_weight: float = 0.0,
    covariance_type: str = "full",
    max_pixels: int | None = 100_000,
    random_state: RandomState = None,
) -> ImageSegmentation:
    """Segment an image with a Gaussian mixture on its pixels' colours (and positions).

    Parameters
    ----------
    image : array-like of shape (H, W), (H, W, 3) or (H, W, 4)
        Greyscale, RGB or RGBA (alpha is ignored; ``(H, W, 1)`` and ``(H, W, 2)`` grey with
        alpha work too), channels last, as ``uint8``, ``uint16`` or floats in ``[0, 1]``
        (scikit-image's conventions, e.g. ``skimage.io.imread(path)``).
    n_components : int, 'auto' or iterable of int
        Number of segments ``K``. ``'auto'`` (or a list of candidates) fits each K in 1..8 (or the
        list) on the fitted pixels and keeps the lowest BIC; on real photographs BIC tends to
        prefer the largest K offered, so give a short list when you have an idea. Fits with a
        segment of a single exact colour count as degenerate and are not chosen (see
        :func:`gaussmix.select_model`), so for a noise-free synthetic image give K itself.
    features : {'color', 'color+xy'}, default='color'
        ``'color'``: a pixel's colour in ``color_space``; ``'color+xy'``: also its (row, column),
        scaled by ``spatial_weight``, which favours spatially compact segments.
    color_space : {'lab', 'luv', 'rgb', 'hsv', 'xyz', 'yuv'}, default='lab'
        Colour features, converted by ``skimage.color`` (``'rgb'`` needs no scikit-image). CIELAB
        (L* from 0 to 100) is roughly perceptually uniform. A greyscale image has one feature:
        L* for ``'lab'`` and ``'luv'``, the grey level (0 to 1) otherwise.
    spatial_weight : float, default=0.0
        With ``features='color+xy'`` (where it must be > 0): pixel coordinates are scaled so that
        the longer side of the image spans ``spatial_weight`` times the lightness range of the
        colour space (100 for L*, 1 otherwise). With 1, crossing the whole image counts as much as
        going from black to white; try 0.05 to 1. The scale does not depend on the resolution.
        For ``'full'``, ``'diag'`` and ``'tied'`` covariances the likelihood is unchanged by
        rescaling a feature, so the weight acts through the fit's start (and the ``'spherical'``
        distance); larger values still give more compact segments in practice.
    covariance_type : str, default='full'
        Covariance model of every component (any of :class:`GaussianMixture`'s).
    max_pixels : int or None, default=100_000
        Fit on a random subsample of this many pixels (all pixels when there are fewer, or with
        None); every pixel is then assigned, a block at a time.
    random_state : int, RandomState instance or None, default=None
        Seeds the subsample and the fit.

    Returns
    -------
    ImageSegmentation
        ``labels``, ``proba`` (float32, ``H * W * K`` values), ``model``, ``mean_colors``,
        ``segmented``, ``uncertainty``, ``boundaries`` and ``plot()``.

    Raises
    ------
    ValueError, TypeError
        For a bad image (shape, dtype, values outside [0, 1]) or argument.
    ImportError
        When a colour space other than ``'rgb'`` is asked for without scikit-image installed
        (``pip install "gaussmix[image]"``).

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix as gm
    >>> rng = np.random.default_rng(0)
    >>> image = np.zeros((20, 20, 3))
    >>> image[:, 10:] = (0.9, 0.2, 0.1)                   # red right half on black
    >>> image = np.clip(image + rng.normal(0, 0.03, image.shape), 0, 1)
    >>> result = gm.segment_image(image, 2, random_state=0)
    >>> result.labels.shape, result.proba.shape, result.proba.dtype
    ((20, 20), (20, 20, 2), dtype('float32'))
    >>> print(result.labels[0, [0, 19]])                  # darkest segment first
    [0 1]
    >>> print(np.round(result.mean_colors, 1))
    [[0.  0.  0. ]
     [0.9 0.2 0.1]]
    """
    source = check_image(image)
    space = check_color_space(color_space)
    use_xy, weight = check_features(features, spatial_weight)
    _check_covariance_type(covariance_type)
    n_fit = _check_max_pixels(max_pixels, source.n_pixels)
    ks = _check_components(n_components, n_fit)
    rng = check_random_state(random_state)
    sample_seed, fit_seed = (int(s) for s in rng.randint(np.iinfo(np.int32).max, size=2))
    feature_map = FeatureMap(space, source.grey, source.shape, weight)

    if n_fit < source.n_pixels:  # a sorted random subsample, in O(n_fit) memory
        index = np.sort(np.random.default_rng(sample_seed).choice(
            source.n_pixels, n_fit, replace=False))
    else:
        index = np.arange(source.n_pixels)
    colours = source.pixels(index)
    X = feature_map(colours, index)
    model, selection = _fit(X, ks, covariance_type, fit_seed)
    _order_components(model, X, colours)
    del X, colours, index
    labels, proba, mean_colors, sizes = _predict_blocks(model, source, feature_map)
    return ImageSegmentation(
        source.array, labels, proba, model, mean_colors, sizes, feature_map.names, selection,
        space, "color+xy" if use_xy else "color", weight,
    )
