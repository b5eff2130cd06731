"""Image segmentation: ``gm.segment_image`` and ``gaussmix segment``.

Synthetic images of known regions with noise are recovered; every input kind (RGB, RGBA, grey;
uint8, uint16, float) gives the same answer; results are deterministic and ordered; memory stays
bounded on a large image; bad inputs give clear errors, and the command line its one-line error
with no output file left behind.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.metrics import adjusted_rand_score

import gaussmix as gm
from gaussmix.cli import cli

pytest.importorskip("skimage")
from PIL import Image

# dark blue-grey, red, green, yellow: four regions, darkest to lightest
# (grey levels 0.11, 0.37, 0.56, 0.89: also distinct in greyscale)
COLOURS = np.array([[0.10, 0.10, 0.15], [0.90, 0.15, 0.10], [0.30, 0.75, 0.30],
                    [0.95, 0.95, 0.40]])


def regions(height=48, width=64):
    """Truth of the synthetic image: halves, a bottom-left quadrant and a disk."""
    truth = np.zeros((height, width), dtype=int)
    truth[:, width // 2:] = 1
    truth[height // 2:, : width // 2] = 2
    rows, cols = np.mgrid[0:height, 0:width]
    truth[(rows - height // 3) ** 2 + (cols - 3 * width // 4) ** 2 < (height // 5) ** 2] = 3
    return truth


def noisy_image(rng, truth, noise=0.04):
    image = COLOURS[truth] + rng.normal(0.0, noise, (*truth.shape, 3))
    return np.clip(image, 0.0, 1.0)


@pytest.fixture
def scene(rng):
    truth = regions()
    return truth, noisy_image(rng, truth)


# ---------------------------------------------------------------------- recovery
@pytest.mark.parametrize("settings", [
    {}, {"color_space": "rgb"}, {"color_space": "luv", "covariance_type": "diag"},
    {"features": "color+xy", "spatial_weight": 0.05}, {"max_pixels": 500},
])
def test_known_regions_are_recovered(rng, settings):
    truth = regions()
    image = noisy_image(rng, truth, noise=0.08)  # colours 0.4 to 1 apart; noise 0.08 per channel
    result = gm.segment_image(image, 4, random_state=0, **settings)
    ari = adjusted_rand_score(truth.ravel(), result.labels.ravel())
    assert ari > 0.95, ari
    # segments numbered dark to light, like the regions (luminance 0.11, 0.31, 0.62, 0.91)
    majority = [np.bincount(result.labels[truth == region]).argmax() for region in range(4)]
    assert majority == [0, 1, 2, 3]
    np.testing.assert_allclose(result.mean_colors, COLOURS, atol=0.03)


def test_result_arrays_are_consistent(scene):
    truth, image = scene
    result = gm.segment_image(image, 4, random_state=0)
    height, width = truth.shape
    assert result.labels.shape == (height, width) and result.labels.dtype == np.intp
    assert result.proba.shape == (height, width, 4) and result.proba.dtype == np.float32
    np.testing.assert_allclose(result.proba.sum(axis=2), 1.0, atol=1e-5)
    np.testing.assert_array_equal(result.labels, result.proba.argmax(axis=2))
    assert result.sizes.sum() == height * width
    np.testing.assert_array_equal(result.sizes, np.bincount(result.labels.ravel(), minlength=4))
    assert result.segmented.shape == (height, width, 3)
    np.testing.assert_array_equal(result.segmented, result.mean_colors[result.labels])
    uncertainty = result.uncertainty
    assert uncertainty.shape == (height, width)
    assert uncertainty.min() >= 0 and uncertainty.max() <= 0.75 + 1e-6
    assert result.boundaries.dtype == bool and 0 < result.boundaries.mean() < 0.5
    assert result.feature_names == ("L*", "a*", "b*")
    assert result.selection is None and result.n_components == 4
    assert "n_components=4" in repr(result)
    # the model's components are renumbered like the labels
    from skimage.color import rgb2lab

    rows = rgb2lab(image).reshape(-1, 3)
    np.testing.assert_array_equal(result.model.predict(rows), result.labels.ravel())


def test_same_seed_same_result_and_subsample(rng):
    truth = regions(120, 160)  # 19,200 pixels
    image = noisy_image(rng, truth)
    first = gm.segment_image(image, 4, max_pixels=2000, random_state=3)
    again = gm.segment_image(image, 4, max_pixels=2000, random_state=3)
    np.testing.assert_array_equal(first.labels, again.labels)
    np.testing.assert_array_equal(first.proba, again.proba)
    assert adjusted_rand_score(truth.ravel(), first.labels.ravel()) > 0.95
    every = gm.segment_image(image, 4, max_pixels=None, random_state=3)
    assert adjusted_rand_score(every.labels.ravel(), first.labels.ravel()) > 0.99


def test_spatial_features_split_equal_colours(rng):
    """Two separate squares of the same colour: one segment by colour, two with positions."""
    truth = np.zeros((40, 60), dtype=int)
    truth[10:30, 5:25] = 1
    truth[10:30, 35:55] = 2
    colours = np.array([[0.1, 0.1, 0.1], [0.8, 0.3, 0.2], [0.8, 0.3, 0.2]])
    image = np.clip(colours[truth] + rng.normal(0, 0.03, (*truth.shape, 3)), 0, 1)
    colour = gm.segment_image(image, 3, random_state=0)
    assert adjusted_rand_score(truth.ravel(), colour.labels.ravel()) < 0.9
    spatial = gm.segment_image(image, 3, features="color+xy", spatial_weight=2.0,
                               covariance_type="spherical", random_state=0)
    assert spatial.feature_names[-2:] == ("row", "column")
    assert spatial.model.n_features_in_ == 5
    left, right = spatial.labels[20, 15], spatial.labels[20, 45]
    assert left != right
    assert (spatial.labels[10:30, 5:25] == left).mean() > 0.9
    assert (spatial.labels[10:30, 35:55] == right).mean() > 0.9


def test_auto_picks_the_number_of_regions_by_bic(rng):
    truth = regions(24, 32)
    image = noisy_image(rng, truth, noise=0.03)
    result = gm.segment_image(image, "auto", color_space="rgb", random_state=0)
    assert result.n_components == 4
    assert sorted(result.selection.table["n_components"]) == list(range(1, 9))
    assert adjusted_rand_score(truth.ravel(), result.labels.ravel()) > 0.95


# ---------------------------------------------------------------------- input kinds
def _kinds(rgb_uint8):
    grey_uint8 = np.round(rgb_uint8 @ [0.299, 0.587, 0.114]).astype(np.uint8)
    alpha = np.random.default_rng(1).integers(0, 256, rgb_uint8.shape[:2], dtype=np.uint8)
    return {
        "rgb uint8": (rgb_uint8, "rgb"),
        "rgb float": (rgb_uint8 / 255.0, "rgb"),
        "rgb float32": ((rgb_uint8 / 255.0).astype(np.float32), "rgb"),
        "rgb uint16": (rgb_uint8.astype(np.uint16) * 257, "rgb"),
        "rgba uint8": (np.dstack([rgb_uint8, alpha]), "rgb"),
        "rgba float": (np.dstack([rgb_uint8, alpha]) / 255.0, "rgb"),
        "grey uint8": (grey_uint8, "grey"),
        "grey float": (grey_uint8 / 255.0, "grey"),
        "grey (H, W, 1)": (grey_uint8[:, :, None], "grey"),
        "grey + alpha": (np.dstack([grey_uint8, alpha]), "grey"),
        "grey list": (grey_uint8.tolist(), None),
    }


@pytest.mark.parametrize("kind", list(_kinds(np.zeros((2, 2, 3), np.uint8))))
def test_every_input_kind(scene, kind):
    truth, image = scene
    rgb_uint8 = np.round(image * 255).astype(np.uint8)
    array, family = _kinds(rgb_uint8)[kind]
    if family is None:  # a nested list of ints is not an image dtype: a clear TypeError
        with pytest.raises(TypeError, match="uint8"):
            gm.segment_image(array, 4, random_state=0)
        return
    result = gm.segment_image(array, 4, random_state=0)
    assert result.labels.shape == truth.shape
    assert adjusted_rand_score(truth.ravel(), result.labels.ravel()) > 0.95
    assert result.mean_colors.shape == (4, 3)
    assert result.mean_colors.min() >= 0 and result.mean_colors.max() <= 1
    reference, _ = _kinds(rgb_uint8)[f"{family} uint8"]
    expected = gm.segment_image(reference, 4, random_state=0)
    # the same pixel values as uint8, uint16, float64, float32 or with alpha: the same labels
    assert adjusted_rand_score(expected.labels.ravel(), result.labels.ravel()) > 0.999
    if family == "grey":
        assert result.feature_names == ("L*",)
        np.testing.assert_array_equal(result.mean_colors[:, 0], result.mean_colors[:, 2])


def test_grey_feature_in_other_colour_spaces(scene):
    truth, image = scene
    grey = image @ [0.299, 0.587, 0.114]
    result = gm.segment_image(grey, 4, color_space="hsv", random_state=0)
    assert result.feature_names == ("grey",)
    assert adjusted_rand_score(truth.ravel(), result.labels.ravel()) > 0.95


# ---------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("image, error, match", [
    (np.zeros(10), ValueError, r"shape \(10,\)"),
    (np.zeros((4, 4, 5)), ValueError, "channels last"),
    (np.zeros((3, 4, 4, 3)), ValueError, "expected"),
    (np.zeros((0, 4, 3)), ValueError, "no pixels"),
    (np.zeros((1, 1, 3)), ValueError, "at least 2"),
    (np.zeros((4, 4), dtype=bool), TypeError, "boolean"),
    (np.zeros((4, 4), dtype=np.int64), TypeError, "uint8"),
    (np.full((4, 4), 255.0), ValueError, r"\[0, 1\].*255"),
    (np.full((4, 4), np.nan), ValueError, "NaN"),
    (np.full((4, 4), -0.5), ValueError, r"\[0, 1\]"),
    ("photo.png", TypeError, "not a file name"),
    (np.zeros((4, 4), dtype=complex), TypeError, "complex"),
])
def test_bad_images_say_what_to_do(image, error, match):
    with pytest.raises(error, match=match):
        gm.segment_image(image, 2)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"n_components": 0}, ValueError, ">= 1"),
    ({"n_components": "many"}, ValueError, "'auto'"),
    ({"n_components": 2.5}, TypeError, "integer"),
    ({"n_components": True}, TypeError, "integer"),
    ({"n_components": [2, "x"]}, ValueError, "integers"),
    ({"n_components": []}, ValueError, "integers"),
    ({"n_components": 500}, ValueError, "400 pixels"),
    ({"n_components": 50, "max_pixels": 20}, ValueError, "20 pixels"),
    ({"features": "texture"}, ValueError, "'color\\+xy'"),
    ({"features": "color+xy"}, ValueError, "spatial_weight > 0"),
    ({"spatial_weight": 0.5}, ValueError, "features='color\\+xy'"),
    ({"features": "color+xy", "spatial_weight": -1}, ValueError, ">= 0"),
    ({"features": "color+xy", "spatial_weight": np.inf}, ValueError, "finite"),
    ({"color_space": "cmyk"}, ValueError, "'lab'"),
    ({"color_space": None}, ValueError, "color_space"),
    ({"covariance_type": "round"}, ValueError, "'full'"),
    ({"max_pixels": 1}, ValueError, ">= 2"),
    ({"max_pixels": 1e5}, ValueError, "integer"),
    ({"random_state": "seed"}, ValueError, "seed"),
])
def test_bad_arguments_say_what_to_do(kwargs, error, match):
    image = np.zeros((20, 20, 3))
    image[:, 10:] = 0.8
    kwargs = {"n_components": 2, **kwargs}
    with pytest.raises(error, match=match):
        gm.segment_image(image, **kwargs)


def test_missing_scikit_image_names_the_extra(scene, monkeypatch, tmp_path):
    _, image = scene
    for name in [m for m in sys.modules if m == "skimage" or m.startswith("skimage.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "skimage", None)
    with pytest.raises(ImportError, match=r'gaussmix\[image\]'):
        gm.segment_image(image, 4)
    # RGB features need no colour conversion; only the boundaries need scikit-image
    result = gm.segment_image(image, 4, color_space="rgb", random_state=0)
    with pytest.raises(ImportError, match=r'gaussmix\[image\]'):
        result.boundaries  # noqa: B018
    # the command line: the one-line error, and nothing written
    Image.fromarray(np.round(image * 255).astype(np.uint8)).save(tmp_path / "photo.png")
    before = set(os.listdir(tmp_path))
    run = _invoke(tmp_path, "photo.png", "-k", "4", "-o", "out.png")
    assert run.exit_code == 1
    assert run.output.startswith("gaussmix: error: ") and 'gaussmix[image]' in run.output
    assert set(os.listdir(tmp_path)) == before


# ---------------------------------------------------------------------- picture
def test_plot_has_four_panels(scene):
    import matplotlib.pyplot as plt

    _, image = scene
    result = gm.segment_image(image, 4, random_state=0)
    fig = result.plot()
    try:
        titles = [ax.get_title() for ax in fig.axes[:4]]
        assert titles[0] == "original" and "4 segments" in titles[1]
        assert titles[2] == "boundaries" and "uncertainty" in titles[3]
        assert len(fig.axes) == 5  # and the uncertainty colour bar
    finally:
        plt.close(fig)
    fig, axes = plt.subplots(2, 4)
    try:
        assert result.plot(axes=axes[1], titles=False) is fig
        assert all(ax.images for ax in axes[1]) and not any(ax.images for ax in axes[0])
        with pytest.raises(ValueError, match="four matplotlib Axes"):
            result.plot(axes=axes[0, :3])
        with pytest.raises(ValueError, match="not a matplotlib colour"):
            result.plot(axes=axes[1], boundary_color="nocolour")
    finally:
        plt.close(fig)


# ---------------------------------------------------------------------- memory
def test_memory_stays_bounded_on_a_large_image():
    """1.2 million pixels: beyond the results (labels and float32 proba), the work needs less
    than one float64 copy of the image (29 MB), let alone the colour conversion of all of it."""
    height, width = 1000, 1200
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = (30, 30, 40)
    image[:, width // 2:] = (200, 60, 40)
    image[height // 2:, : width // 2] = (60, 160, 70)
    image += np.random.default_rng(0).integers(0, 12, image.shape, dtype=np.uint8)
    full_float_copy = image.size * 8
    gm.segment_image(image[:40, :40], 3, random_state=0)  # imports and caches outside the trace
    tracemalloc.start()
    try:
        result = gm.segment_image(image, 3, max_pixels=20_000, random_state=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    outputs = result.labels.nbytes + result.proba.nbytes
    extra = peak - outputs
    print(f"tracemalloc peak {peak / 2**20:.1f} MiB, results {outputs / 2**20:.1f} MiB, "
          f"extra {extra / 2**20:.1f} MiB")
    assert extra < 20 * 2**20 < full_float_copy
    assert sorted(result.sizes) == [height * width // 4] * 2 + [height * width // 2]


# ---------------------------------------------------------------------- command line
def _invoke(cwd, *args):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(cli, ["segment", *map(str, args)])
    finally:
        os.chdir(old)
    return result


@pytest.fixture
def photo(tmp_path, scene):
    truth, image = scene
    path = tmp_path / "photo.png"
    Image.fromarray(np.round(image * 255).astype(np.uint8)).save(path)
    return path, truth


def test_cli_round_trip(tmp_path, photo):
    path, truth = photo
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("GAUSSMIX_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-m", "gaussmix", "segment", str(path), "-k", "4", "-o", "out.png",
         "--labels", "labels.npy", "--plot", "panels.png"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "4 segments" in done.stderr
    labels = np.load(tmp_path / "labels.npy")
    assert labels.shape == truth.shape
    assert adjusted_rand_score(truth.ravel(), labels.ravel()) > 0.95
    with Image.open(tmp_path / "out.png") as out:
        assert out.size == (truth.shape[1], truth.shape[0]) and out.mode == "RGB"
        segmented = np.asarray(out)
    assert len(np.unique(segmented.reshape(-1, 3), axis=0)) == 4
    # the library with the CLI's default seed gives the same labels
    pixels = np.asarray(Image.open(path).convert("RGB"))
    np.testing.assert_array_equal(gm.segment_image(pixels, 4, random_state=0).labels, labels)
    with Image.open(tmp_path / "panels.png") as panels:
        assert panels.size[0] > panels.size[1] > 50


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "I;16"])
def test_cli_reads_other_image_modes(tmp_path, photo, mode):
    path, truth = photo
    with Image.open(path) as image:
        converted = image.convert(mode) if mode != "I;16" else Image.fromarray(
            np.asarray(image.convert("L")).astype(np.uint16) * 257)
    other = tmp_path / "other.png"
    converted.save(other)
    result = _invoke(tmp_path, other, "-k", "4", "-o", "seg.tif", "--labels", "l.npy", "-q")
    assert result.exit_code == 0, result.output
    labels = np.load(tmp_path / "l.npy")
    assert labels.shape == truth.shape
    assert adjusted_rand_score(truth.ravel(), labels.ravel()) > 0.9


def test_cli_auto_and_spatial_weight(tmp_path, photo):
    path, _ = photo
    result = _invoke(tmp_path, path, "-k", "2-5", "--spatial-weight", "0.05", "-o", "s.jpg",
                     "--color-space", "rgb")
    assert result.exit_code == 0, result.output
    assert "chosen by BIC" in result.output
    assert (tmp_path / "s.jpg").stat().st_size > 0


@pytest.mark.parametrize("setup, args, code, message", [
    ("text", ["bad.png", "-k", "3", "-o", "out.png"], 1, "not an image file"),
    ("empty", ["bad.png", "-k", "3", "-o", "out.png"], 1, "not an image file"),
    ("truncated", ["bad.png", "-k", "3", "-o", "out.png"], 1, "bad.png"),
    (None, ["missing.png", "-k", "3", "-o", "out.png"], 1, "no such file"),
    (None, [".", "-k", "3", "-o", "out.png"], 1, "is a directory"),
    (None, ["photo.png", "-k", "5000", "-o", "out.png", "--labels", "l.npy"], 1, "3072 pixels"),
    (None, ["photo.png", "-k", "3", "-o", "out.xyz"], 2, "image extension"),
    (None, ["photo.png", "-k", "3", "-o", "out.png", "--labels", "l.csv"], 2, ".npy"),
    (None, ["photo.png", "-k", "zero", "-o", "out.png"], 2, "not a number"),
    (None, ["photo.png", "-k", "3", "-o", "nodir/out.png"], 2, "does not exist"),
    (None, ["photo.png", "-k", "3", "-o", "out.png", "--spatial-weight", "-1"], 2, "-1"),
    (None, ["photo.png", "-k", "3", "-o", "out.png", "--plot", "out.png"], 2, "different"),
])
def test_cli_bad_inputs_fail_cleanly(tmp_path, photo, setup, args, code, message):
    bad = tmp_path / "bad.png"
    if setup == "text":
        bad.write_text("not an image\n")
    elif setup == "empty":
        bad.write_bytes(b"")
    elif setup == "truncated":
        bad.write_bytes(photo[0].read_bytes()[:200])
    before = set(os.listdir(tmp_path))
    result = _invoke(tmp_path, *args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    if code == 1:
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("gaussmix: error: ")
    assert set(os.listdir(tmp_path)) == before  # no output file, no temporary left behind


def test_cli_leaves_nothing_when_a_later_write_fails(tmp_path, photo, monkeypatch):
    from gaussmix.cli import segmenting

    def broken(path, labels):
        raise OSError(28, "No space left on device", path)

    monkeypatch.setattr(segmenting, "_write_labels", broken)
    path, _ = photo
    before = set(os.listdir(tmp_path))
    result = _invoke(tmp_path, path, "-k", "4", "-o", "out.png", "--labels", "l.npy")
    assert result.exit_code == 1
    assert "No space left on device" in result.output
    assert set(os.listdir(tmp_path)) == before


def test_cli_says_how_to_choose_k_when_bic_takes_the_most_segments(tmp_path):
    """On an ordinary photo BIC keeps adding segments (issue 27): the CLI says so and how to
    choose K instead; without -k it segments into a small default number."""
    from skimage import data

    Image.fromarray(data.coffee()).resize((120, 80)).save(tmp_path / "coffee.png")
    auto = _invoke(tmp_path, "coffee.png", "-k", "2-5", "-o", "a.png")
    assert auto.exit_code == 0, auto.output
    assert "in 5 segments (chosen by BIC)" in auto.output
    assert "BIC chose the most segments offered (5)" in auto.output
    assert "Choose K by eye" in auto.output
    default = _invoke(tmp_path, "coffee.png", "-o", "d.png")
    assert default.exit_code == 0, default.output
    assert "in 4 segments" in default.output and "BIC" not in default.output
