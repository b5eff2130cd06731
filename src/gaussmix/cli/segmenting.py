"""``gaussmix segment``: an image file segmented by a Gaussian mixture on its pixels."""

from __future__ import annotations

import os

import click

from .optional_extras import needs_extra
from .options import (
    COVARIANCE_CHOICES,
    COVARIANCE_HELP,
    SEED_TYPE,
    CliError,
    ComponentsType,
    FiniteFloatRange,
    LazyChoice,
    consoles,
    examples,
    existing_directory,
    fail_cleanly,
    image_output,
    one_line,
    progress,
    quiet_option,
    reported_warnings,
    save_figure,
)


def _color_spaces():
    from ..apps.segmentation import COLOR_SPACES

    return list(COLOR_SPACES)


def _pillow_format(path):
    """The format Pillow writes for the extension of ``path``, or None."""
    from PIL import Image

    fmt = Image.registered_extensions().get(os.path.splitext(path)[1].lower())
    return fmt if fmt in Image.SAVE else None


def _segmented_output(ctx, param, value):
    if value is not None and _pillow_format(value) is None:
        raise click.BadParameter(
            f"{value}: use an image extension Pillow writes, e.g. .png, .jpg, .tif or .webp.")
    return existing_directory(ctx, param, value)


def _labels_output(ctx, param, value):
    if value is not None and not value.lower().endswith(".npy"):
        raise click.BadParameter(f"{value}: labels are written as a .npy file.")
    return existing_directory(ctx, param, value)


def read_image(path):
    """The pixels of the image file at ``path`` (first frame) as a uint8/uint16 array.

    Colour images (alpha dropped) become ``(H, W, 3)`` RGB, greyscale ones ``(H, W)`` (16-bit
    greyscale stays uint16, 32-bit integer and float greyscale is clipped to 8 bits); anything
    Pillow cannot read gives a ``ValueError``.
    """
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    if not os.path.exists(path):
        raise CliError(f"{path}: no such file.")
    if os.path.isdir(path):
        raise CliError(f"{path}: is a directory, not an image file.")
    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            if mode.startswith("I;16"):
                return np.asarray(image, dtype=np.uint16)
            if mode in ("1", "L", "LA", "I", "F"):
                return np.asarray(image.convert("L"))
            return np.asarray(image.convert("RGB"))  # alpha is ignored anyway
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not an image file Pillow can read (PNG, JPEG, TIFF, ...).") \
            from None
    except Image.DecompressionBombError as exc:
        raise ValueError(f"{path}: {exc}") from None
    except (OSError, SyntaxError) as exc:  # truncated or corrupt file
        raise ValueError(f"{path}: cannot read this image ({one_line(exc)}).") from None


def _write_image(path, rgb):
    import numpy as np
    from PIL import Image

    from ..io.writing import atomic_write

    picture = Image.fromarray(np.round(rgb * 255).astype(np.uint8))
    atomic_write(path, lambda f: picture.save(f, format=_pillow_format(path)))


def _write_labels(path, labels):
    import numpy as np

    from ..io.writing import atomic_write

    atomic_write(path, lambda f: np.save(f, labels))


def _write_all(output, labels_path, plot_path, result):
    """Write every output (the command runs all or nothing: see ``fail_cleanly``)."""
    _write_image(output, result.segmented)
    if labels_path is not None:
        _write_labels(labels_path, result.labels)
    if plot_path is not None:
        save_figure(plot_path, result.plot)


@click.command(epilog=examples(
    "gaussmix segment photo.jpg -k 4 -o segments.png",
    "gaussmix segment photo.jpg -k auto -o segments.png --labels labels.npy --plot panels.png",
    "gaussmix segment scan.tif -k 3 --spatial-weight 0.3 -o segments.png",
))
@click.argument("image", metavar="IMAGE")
@click.option("-k", "--n-components", "components", default="4", show_default=True,
              type=ComponentsType(),
              help="Number of segments: what you want to see (3-6 suits most photos; compare a "
              "few with --plot). 'auto' (1-8) or a range (2-6) choose by BIC, which on "
              "photographs of smooth shading usually picks the most segments offered.")
@click.option("-o", "--output", required=True, callback=_segmented_output, metavar="OUT",
              help="Segmented image to write, every pixel its segment's mean colour "
              "(.png, .jpg, .tif, ...; same size as IMAGE).")
@click.option("--labels", "labels_path", callback=_labels_output, metavar="LABELS.npy",
              help="Also write the (H, W) segment numbers (0 = darkest) as a .npy file.")
@click.option("--plot", "plot_path", callback=image_output, metavar="PICTURE",
              help="Also draw original, segments, boundaries and uncertainty (.png, .pdf, .svg).")
@click.option("--spatial-weight", default=0.0, show_default=True, type=FiniteFloatRange(0),
              help="Above 0, also fit pixel positions: crossing the image counts as much as "
              "this many black-to-white ranges (try 0.1-1).")
@click.option("--color-space", default="lab", show_default=True,
              type=LazyChoice(_color_spaces), help="Colour features (scikit-image).")
@click.option("--covariance", "covariance_type", default="full", show_default=True,
              type=COVARIANCE_CHOICES, help="Covariance model (" + COVARIANCE_HELP + ").")
@click.option("--max-pixels", default=100_000, show_default=True, type=click.IntRange(2),
              help="Fit on a random subsample of this many pixels; all are then assigned.")
@click.option("--seed", default=0, show_default=True, type=SEED_TYPE, help="Random seed.")
@quiet_option
@fail_cleanly
@needs_extra
def segment(image, components, output, labels_path, plot_path, spatial_weight, color_space,
            covariance_type, max_pixels, seed, quiet):
    """Segment IMAGE by colour (and position) with a Gaussian mixture on its pixels.

    IMAGE is any file Pillow reads (PNG, JPEG, TIFF, ...); alpha is ignored. Writes the
    segmented image, and optionally the labels and a four-panel picture.
    """
    paths = [p for p in (output, labels_path, plot_path) if p is not None]
    pixels = read_image(image)
    from ..apps.segmentation import segment_image

    settings = {"features": "color+xy" if spatial_weight > 0 else "color",
                "spatial_weight": spatial_weight, "color_space": color_space,
                "covariance_type": covariance_type, "max_pixels": max_pixels,
                "random_state": seed}
    n_components = components if components == "auto" or len(components) > 1 else components[0]
    try:
        with progress(f"Segmenting {image}", quiet), reported_warnings():
            result = segment_image(pixels, n_components, **settings)
    except ImportError as exc:
        raise CliError(one_line(exc)) from None
    except (ValueError, TypeError) as exc:
        raise CliError(one_line(f"{image}: {exc}")) from None
    _write_all(output, labels_path, plot_path, result)
    _, err = consoles(quiet)
    height, width = result.labels.shape
    chosen = " (chosen by BIC)" if result.selection is not None else ""
    offered = None if result.selection is None else result.selection.table["n_components"].max()
    if offered is not None and result.n_components == offered and offered > 2:
        err.print(f"gaussmix: note: BIC chose the most segments offered ({offered}): on a photo "
                  "shading keeps adding detail, so BIC rarely finds a best K. Choose K by eye: "
                  "try -k 3, 4 and 6 with --plot and keep the one that looks right.",
                  highlight=False, soft_wrap=True)
    written = ", ".join(paths)
    err.print(f"{image}: {width} x {height} pixels in {result.n_components} segments{chosen}, "
              f"pixels per segment {', '.join(map(str, result.sizes))}; wrote {written}",
              highlight=False, soft_wrap=True)
