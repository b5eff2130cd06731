"""Pixels as rows of features: image checks, colour spaces and pixel coordinates.

The helpers of :func:`gaussmix.apps.segmentation.segment_image`. An image is checked once
(:func:`check_image`) and then read a block of rows, or a set of chosen pixels, at a time, so
that no full-size floating-point copy of a large image is ever made.

Colour spaces are scikit-image's (``pip install "gaussmix[image]"``), imported only when used;
``"rgb"`` needs nothing beyond NumPy.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..._optional import require

__all__ = ["COLOR_SPACES", "FEATURES", "PixelSource", "check_image"]

#: colour space -> (scikit-image function, range of its lightness channel, channel names)
COLOR_SPACES = {
    "lab": ("rgb2lab", 100.0, ("L*", "a*", "b*")),
    "luv": ("rgb2luv", 100.0, ("L*", "u*", "v*")),
    "rgb": (None, 1.0, ("R", "G", "B")),
    "hsv": ("rgb2hsv", 1.0, ("H", "S", "V")),
    "xyz": ("rgb2xyz", 1.0, ("X", "Y", "Z")),
    "yuv": ("rgb2yuv", 1.0, ("Y", "U", "V")),
}
#: ``features`` values: colour only, or colour and the pixel's (row, column)
FEATURES = ("color", "color+xy")

def _shape_error(shape):
    return ValueError(
        f"image has shape {shape}; expected (H, W) greyscale, (H, W, 3) RGB or (H, W, 4) RGBA "
        "(channels last, as in scikit-image). Move the channel axis last with "
        "np.moveaxis(image, 0, -1) if it comes first."
    )


def check_image(image):
    """The image as a :class:`PixelSource` (no copy of an array), or a clear error.

    Accepts ``(H, W)`` greyscale, ``(H, W, 1)`` greyscale, ``(H, W, 2)`` greyscale with alpha,
    ``(H, W, 3)`` RGB and ``(H, W, 4)`` RGBA (alpha is ignored), as ``uint8``, ``uint16`` or
    floats in ``[0, 1]`` (scikit-image's conventions).

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix.apps.segmentation.features import check_image
    >>> source = check_image(np.zeros((4, 5, 4), dtype=np.uint8))
    >>> source.shape, source.grey
    ((4, 5), False)
    """
    if isinstance(image, (str, bytes)) or hasattr(image, "__fspath__"):
        raise TypeError(
            "image must be an array, not a file name; read it first, e.g. "
            "np.asarray(PIL.Image.open(path).convert('RGB')) or skimage.io.imread(path)."
        )
    try:
        array = np.asarray(image)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"image could not be read as an array ({exc}).") from None
    if array.ndim not in (2, 3):
        raise _shape_error(array.shape)
    if array.ndim == 3 and array.shape[2] not in (1, 2, 3, 4):
        raise _shape_error(array.shape)
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"image has shape {array.shape}, with no pixels.")
    dtype = array.dtype
    if dtype in (np.uint8, np.uint16):
        scale = float(np.iinfo(dtype).max)
    elif np.issubdtype(dtype, np.floating):
        scale = 1.0
        low, high = float(np.min(array)), float(np.max(array))  # NaN propagates: caught below
        if not (low >= 0.0 and high <= 1.0):
            raise ValueError(
                f"a float image must hold values in [0, 1] (scikit-image's convention); this one "
                f"goes from {low:.4g} to {high:.4g}. Divide 0-255 data by 255 (or pass it as "
                "uint8), and replace NaN or infinite values."
            )
    else:
        kind = "boolean" if dtype == np.bool_ else str(dtype)
        raise TypeError(
            f"image has dtype {kind}; use uint8 (0-255), uint16 (0-65535) or floats in [0, 1]. "
            "For integer data in 0-255 use image.astype(np.uint8); otherwise divide by the "
            "maximum value to get floats."
        )
    return PixelSource(array, scale)


class PixelSource:
    """A checked image read as RGB (or grey) floats in ``[0, 1]``, a part at a time."""

    def __init__(self, array, scale):
        self.array = array
        self.scale = scale
        self.shape = array.shape[:2]
        channels = 1 if array.ndim == 2 else array.shape[2]
        self.grey = channels < 3

    @property
    def n_pixels(self):
        return int(self.shape[0] * self.shape[1])

    def _as_float(self, values):
        """``values`` (..., C) or (...,) as floats in [0, 1]: (..., 3) RGB or (...,) grey."""
        if self.array.ndim == 3:
            values = values[..., 0] if self.grey else values[..., :3]
        values = values.astype(np.float64)
        if self.scale != 1.0:
            values /= self.scale
        return values

    def rows(self, start, stop):
        """Rows ``start:stop`` as floats: ``(n, W, 3)`` RGB or ``(n, W)`` grey."""
        return self._as_float(self.array[start:stop])

    def pixels(self, flat_index):
        """The pixels at flat (row-major) indices: ``(m, 3)`` RGB or ``(m,)`` grey floats."""
        rows, cols = np.unravel_index(flat_index, self.shape)
        return self._as_float(self.array[rows, cols])

    def rgb(self):
        """The whole image as ``(H, W, 3)`` RGB floats (for pictures)."""
        values = self.rows(0, self.shape[0])
        return np.repeat(values[..., None], 3, axis=-1) if self.grey else values


def check_features(features, spatial_weight):
    """``(use_xy, weight)`` or a clear error."""
    if not isinstance(features, str) or features not in FEATURES:
        raise ValueError(
            f"features={features!r} is not one of {', '.join(map(repr, FEATURES))}: 'color' "
            "uses the pixel's colour only, 'color+xy' adds its (row, column) scaled by "
            "spatial_weight."
        )
    if (isinstance(spatial_weight, bool) or not isinstance(spatial_weight, numbers.Real)
            or not np.isfinite(spatial_weight) or spatial_weight < 0):
        raise ValueError(
            f"spatial_weight must be a finite number >= 0, got {spatial_weight!r}."
        )
    spatial_weight = float(spatial_weight)
    use_xy = features == "color+xy"
    if use_xy and spatial_weight == 0:
        raise ValueError(
            "features='color+xy' needs spatial_weight > 0 (e.g. 0.2; 1 makes crossing the image "
            "count as much as going from black to white); use features='color' for colour only."
        )
    if not use_xy and spatial_weight > 0:
        raise ValueError(
            f"spatial_weight={spatial_weight:g} only applies to pixel coordinates; pass "
            "features='color+xy' to add them, or leave spatial_weight at 0."
        )
    return use_xy, spatial_weight


def check_color_space(color_space):
    """The colour space's lower-case name, or a clear error."""
    name = color_space.lower() if isinstance(color_space, str) else color_space
    if name not in COLOR_SPACES:
        raise ValueError(
            f"color_space={color_space!r} is not one of "
            f"{', '.join(map(repr, COLOR_SPACES))}; 'lab' (CIELAB, perceptually uniform) is "
            "usually best for segmentation."
        )
    return name


class FeatureMap:
    """Turns RGB or grey floats (and flat pixel indices) into rows of features."""

    def __init__(self, color_space, grey, shape, spatial_weight):
        function, lightness_range, channels = COLOR_SPACES[color_space]
        self.color_space = color_space
        self.grey = grey
        self.shape = shape
        self._function = None
        if function is not None and (not grey or lightness_range != 1.0):
            module = require("skimage.color", "image",
                             f"segment_image's colour space {color_space!r}")
            self._function = getattr(module, function)
        # pixel coordinates: the longer side spans spatial_weight lightness ranges
        self.xy_scale = spatial_weight * lightness_range / max(shape)
        if grey:
            channels = (channels[0],) if self._function is not None else ("grey",)
        self.names = channels
        if spatial_weight > 0:
            self.names = (*self.names, "row", "column")

    @property
    def n_features(self):
        return len(self.names)

    def color(self, values):
        """``(n, d)`` colour features of ``(..., 3)`` RGB or ``(...,)`` grey floats."""
        if self.grey:
            values = values.reshape(-1)
            if self._function is None:  # the grey level itself
                return values[:, None]
            return self._function(np.repeat(values[:, None], 3, axis=1))[:, :1]
        values = values.reshape(-1, 3)
        return values if self._function is None else self._function(values)

    def __call__(self, values, flat_index):
        """Rows of features for the pixels ``values`` at flat indices ``flat_index``."""
        colour = self.color(values)
        if self.xy_scale == 0:
            return np.ascontiguousarray(colour, dtype=np.float64)
        rows, cols = np.divmod(np.asarray(flat_index, dtype=np.int64), self.shape[1])
        out = np.empty((colour.shape[0], colour.shape[1] + 2))
        out[:, :-2] = colour
        out[:, -2] = rows * self.xy_scale
        out[:, -1] = cols * self.xy_scale
        return out
