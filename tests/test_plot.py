"""Pictures: ellipses, red means, soft colours, marginals, density, lower bound, EM animation."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.patches import Ellipse
from PIL import Image

import gaussmix as gm
from _helpers import COVARIANCE_TYPES, models_where

RED = np.array(to_rgba("red"))


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _data_and_model(covariance_type, n_features, n_components=3, seed=0, n=240):
    X, y, _ = gm.make_mixture(
        n,
        n_components,
        n_features,
        overlap=0.03,
        covariance_type=covariance_type,
        random_state=seed,
    )
    model = gm.GaussianMixture(n_components, covariance_type=covariance_type, random_state=0).fit(X)
    return X, y, model


def _full_covariances(model):
    k, d = model.means_.shape
    c = model.covariances_
    return {
        "full": lambda: c,
        "tied": lambda: np.repeat(c[None], k, axis=0),
        "diag": lambda: np.stack([np.diag(v) for v in c]),
        "spherical": lambda: c[:, None, None] * np.eye(d),
    }[model.covariance_type]()


def _ellipses(ax):
    return [p for p in ax.patches if isinstance(p, Ellipse)]


def _red_mean_offsets(ax):
    """Offsets of scatter collections whose every marker is red."""
    out = []
    for coll in ax.collections:
        faces = coll.get_facecolors()
        if len(faces) and np.allclose(faces, RED):
            out.append(np.asarray(coll.get_offsets()))
    return out


def _expected_ellipse(cov2, n_std):
    values, vectors = np.linalg.eig(cov2)  # independent of the eigh used by the library
    order = np.argsort(values)
    values, vectors = values[order], vectors[:, order]
    angle = np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1])) % 180
    return 2 * n_std * np.sqrt(values[1]), 2 * n_std * np.sqrt(values[0]), angle


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("n_features", [2, 3, 5])
def test_plot_mixture_ellipses_and_red_means(covariance_type, n_features):
    X, _, model = _data_and_model(covariance_type, n_features)
    features = (0, 1) if n_features == 2 else (n_features - 1, 1)
    ax = gm.plot_mixture(model, X, features=features)
    ellipses = _ellipses(ax)
    full = _full_covariances(model)
    sub = np.ix_(features, features)
    for k in range(model.n_components):
        mine = [e for e in ellipses if np.allclose(e.center, model.means_[k, list(features)])]
        assert len(mine) == 3  # 1, 2 and 3 standard deviations
        for e in mine:
            alpha = e.get_facecolor()[3]
            assert 0 < alpha < 0.5  # translucent
        # exact marginal ellipses: 3-sd ellipse of the 2x2 block of the covariance
        width, height, angle = _expected_ellipse(full[k][sub], 3.0)
        biggest = max(mine, key=lambda e: e.width)
        assert biggest.width == pytest.approx(width, rel=1e-8)
        assert biggest.height == pytest.approx(height, rel=1e-8)
        if not np.isclose(width, height, rtol=1e-6):
            assert (biggest.angle % 180) == pytest.approx(angle, abs=1e-6)
    reds = _red_mean_offsets(ax)
    assert len(reds) == 1
    np.testing.assert_allclose(reds[0], model.means_[:, list(features)])
    if n_features > 2:
        assert "marginal" in ax.get_xlabel() and "marginal" in ax.get_ylabel()
    assert ax.get_legend() is not None


def test_plot_mixture_pca_projection_is_exact():
    X, _, model = _data_and_model("full", 4)
    ax = gm.plot_mixture(model, X, projection="pca")
    assert "principal axis 1" in ax.get_xlabel() and "principal axis 2" in ax.get_ylabel()
    _, vectors = np.linalg.eigh(np.cov(X, rowvar=False))
    P = vectors[:, ::-1][:, :2].T
    ellipses = _ellipses(ax)
    for k in range(3):
        centre = model.means_[k] @ P.T
        # principal axes are defined up to sign
        mine = [e for e in ellipses if np.allclose(np.abs(e.center), np.abs(centre))]
        assert len(mine) == 3
        width, height, _ = _expected_ellipse(P @ model.covariances_[k] @ P.T, 3.0)
        biggest = max(mine, key=lambda e: e.width)
        assert biggest.width == pytest.approx(width, rel=1e-8)
        assert biggest.height == pytest.approx(height, rel=1e-8)


def test_uncertain_points_are_fainter_and_blended():
    model = gm.GaussianMixture.from_parameters(
        [0.5, 0.5], [[-2.0, 0.0], [2.0, 0.0]], [1.0, 1.0], covariance_type="spherical"
    )
    X = np.array([[-2.0, 0.0], [0.0, 0.0], [2.0, 0.0]])
    ax = gm.plot_mixture(model, X)
    points = next(c for c in ax.collections if len(c.get_offsets()) == 3)
    colors = points.get_facecolors()
    assert colors[1, 3] < 0.5 * min(colors[0, 3], colors[2, 3])  # the midpoint is faint
    np.testing.assert_allclose(colors[1, :3], 0.5 * (colors[0, :3] + colors[2, :3]), atol=1e-3)


def test_plot_mixture_without_data_and_sklearn_model():
    from sklearn.mixture import GaussianMixture as SkGMM

    X, _, _ = _data_and_model("diag", 2)
    sk = SkGMM(3, covariance_type="diag", random_state=0).fit(X)
    ax = gm.plot_mixture(sk, X)
    assert len(_ellipses(ax)) == 9
    ax = gm.plot_mixture(sk)  # components only
    assert len(_ellipses(ax)) == 9
    lo, hi = ax.get_xlim()
    assert lo < sk.means_[:, 0].min() and hi > sk.means_[:, 0].max()


def test_plot_1d_densities_integrate_and_add_up():
    X, _, model = _data_and_model("full", 1)
    ax = gm.plot_mixture(model, X)  # a 1-D model is drawn as a histogram with densities
    lines = ax.get_lines()
    assert len(lines) == model.n_components + 1
    x = lines[-1].get_xdata()
    mixture = lines[-1].get_ydata()
    parts = np.array([line.get_ydata() for line in lines[:-1]])
    np.testing.assert_allclose(parts.sum(axis=0), mixture, rtol=1e-12)
    # the curve is the model's density
    np.testing.assert_allclose(np.log(mixture[::50]), model.score_samples(x[::50, None]), atol=1e-8)
    assert ax.patches, "histogram bars"
    reds = _red_mean_offsets(ax)
    np.testing.assert_allclose(np.sort(reds[0][:, 0]), np.sort(model.means_[:, 0]))


def test_plot_pairs_grid():
    X, _, model = _data_and_model("full", 3)
    fig = gm.plot_pairs(model, X)
    axes = np.array(fig.axes[:9]).reshape(3, 3)
    for r in range(3):
        assert len(axes[r, r].get_lines()) == model.n_components + 1  # components + mixture
        for c in range(r):
            assert len(_ellipses(axes[r, c])) == 2 * model.n_components  # 1 and 2 sd
            np.testing.assert_allclose(_red_mean_offsets(axes[r, c])[0], model.means_[:, [c, r]])
    assert axes[0, 2].get_legend() is not None
    with pytest.raises(ValueError, match="distinct column indices"):
        gm.plot_pairs(model, X, features=[0, 0])


def test_plot_density_is_the_model_log_density():
    X, _, model = _data_and_model("tied", 2)
    ax = gm.plot_density(model, X, resolution=40, kind="heatmap")
    mesh = ax.collections[0]
    values = np.asarray(mesh.get_array()).reshape(40, 40)
    x = np.linspace(*ax.get_xlim(), 40)
    y = np.linspace(*ax.get_ylim(), 40)
    xx, yy = np.meshgrid(x, y)
    expected = model.score_samples(np.column_stack([xx.ravel(), yy.ravel()])).reshape(40, 40)
    floor = expected.max() - 12
    np.testing.assert_allclose(values, np.maximum(expected, floor), atol=1e-8)
    gm.plot_density(model, X, kind="contour")
    X5, _, model5 = _data_and_model("diag", 5)
    ax = gm.plot_density(model5, X5, features=(2, 4), kind="both", resolution=30)
    assert "marginal" in ax.get_xlabel()


def test_plot_lower_bound_shows_history():
    _, _, model = _data_and_model("full", 2)
    ax = gm.plot_lower_bound(model)
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), model.lower_bounds_)
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, model.n_iter_ + 1))
    truth = gm.GaussianMixture.from_parameters([1.0], [[0.0, 0.0]], [np.eye(2)])
    with pytest.raises(ValueError, match="no EM history"):
        gm.plot_lower_bound(truth)


@pytest.mark.parametrize("covariance_type", models_where(lambda m: not m.shared)[::2])
def test_animate_em_one_frame_per_iteration(tmp_path, covariance_type):
    X, _, _ = gm.make_mixture(
        200, 3, 2, overlap=0.1, covariance_type=covariance_type, random_state=4
    )
    estimator = gm.GaussianMixture(
        3, covariance_type=covariance_type, init_params="random_from_data", random_state=2
    )
    path = tmp_path / "em.gif"
    model = gm.animate_em(estimator, X, path, dpi=40, figsize=(4, 3))
    reference = gm.GaussianMixture(**estimator.get_params()).fit(X)
    assert model.n_iter_ == reference.n_iter_ > 1
    np.testing.assert_allclose(model.means_, reference.means_, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(model.lower_bounds_, reference.lower_bounds_, rtol=1e-12)
    assert model.converged_ == reference.converged_
    with Image.open(path) as gif:
        assert gif.format == "GIF"
        assert gif.n_frames == model.n_iter_ + 1  # frame 0 = initialisation
    assert not [p for p in tmp_path.iterdir() if p.name != "em.gif"]  # no temporary left


def test_animate_em_errors(tmp_path):
    X, _, _ = gm.make_mixture(60, 2, 2, random_state=0)
    with pytest.raises(ValueError, match="must end in .gif"):
        gm.animate_em(gm.GaussianMixture(2), X, tmp_path / "em.png")
    with pytest.raises(ValueError, match="n_init=1"):
        gm.animate_em(gm.GaussianMixture(2, n_init=3), X, tmp_path / "em.gif")
    with pytest.raises(ValueError, match="does not exist"):
        gm.animate_em(gm.GaussianMixture(2), X, tmp_path / "missing" / "em.gif")
    assert list(tmp_path.iterdir()) == []


def test_plot_errors():
    X, _, model = _data_and_model("full", 3)
    with pytest.raises(TypeError, match="fitted Gaussian mixture"):
        gm.plot_mixture(gm.GaussianMixture(2), X)
    with pytest.raises(ValueError, match="shape"):
        gm.plot_mixture(model, X[:, :2])
    with pytest.raises(ValueError, match="two different columns"):
        gm.plot_mixture(model, X, features=(1, 1))
    with pytest.raises(ValueError, match="out of range"):
        gm.plot_mixture(model, X, features=(0, 3))
    with pytest.raises(ValueError, match="projection"):
        gm.plot_mixture(model, X, projection="tsne")
    with pytest.raises(ValueError, match="n_std"):
        gm.plot_mixture(model, X, n_std=(0, 1))
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        gm.plot_mixture(model, bad)
    with pytest.raises(ValueError, match="kind"):
        gm.plot_density(model, X, kind="3d")
