"""Image segmentation with a Gaussian mixture: the README picture.

Segments scikit-image's ``coffee`` sample (a photograph that ships inside the scikit-image
wheel, so nothing is downloaded) three ways, one row each: 3 colour segments, 6 colour segments,
and 6 segments on colour and position (``features="color+xy"``). Every row shows the original,
the segments in their mean colours, the boundaries and the uncertainty ``1 - max probability``.

Run (a few seconds; needs ``pip install "gaussmix[image]"``)::

    python examples/segment_image.py [output.png]   # default: docs/images/segmentation.png

``--quick`` segments a half-size image (a smoke run; the numbers differ).
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from PIL import Image
from skimage import data

import gaussmix as gm

SEED = 0
ROWS = [
    ("K = 3, colour (CIELAB)", {"n_components": 3}),
    ("K = 6, colour", {"n_components": 6}),
    ("K = 6, colour + position\n(spatial_weight = 1)",
     {"n_components": 6, "features": "color+xy", "spatial_weight": 1.0}),
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("output", nargs="?", default="docs/images/segmentation.png",
                        help="where the picture goes (default: %(default)s)")
    parser.add_argument("--quick", action="store_true", help="a half-size image (a smoke run)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    path = args.output
    image = data.coffee()  # (400, 600, 3) uint8, from the installed package
    if args.quick:
        image = image[::2, ::2]
    height, width = image.shape[:2]
    fig, grid = plt.subplots(len(ROWS), 4, figsize=(14, len(ROWS) * 14 * height / width / 4 + 0.8),
                             layout="constrained")
    for row, (label, settings) in enumerate(ROWS):
        axes = grid[row]
        result = gm.segment_image(image, random_state=SEED, **settings)
        result.plot(axes=axes, titles=row == 0)
        axes[0].set_ylabel(label, fontsize="medium")
        print(f"{label.splitlines()[0]}: {result.n_components} segments, pixels per segment "
              f"{result.sizes.tolist()}, mean uncertainty {result.uncertainty.mean():.3f}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    # a 256-colour palette keeps the photograph's panels small enough for a README
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.open(buffer).convert("RGB").quantize(256).save(path, optimize=True)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
