"""Anomaly detection: ``gm.MixtureOutlierDetector`` and ``gaussmix score --contamination``.

The scikit-learn outlier-detector contract (labels, signs, the offset's fraction, fit_predict);
``check_estimator`` (in ``test_estimator_checks.py``); robustness (a planted cluster of outliers is not absorbed: the trimmed fit
beats the plain BIC mixture on contaminated data); reproducibility; bad inputs; and the command
line sharing the detector's threshold.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.metrics import roc_auc_score

import gaussmix as gm
from gaussmix.apps.anomaly import contamination_offset, kept_rows, major_log_density
from gaussmix.cli import cli

os.environ.setdefault("MPLBACKEND", "Agg")
pytestmark = pytest.mark.usefixtures("single_blas_thread")


def contaminated(rng, n_inliers=300, n_outliers=30, n_features=2, spread=1.0):
    """Two Gaussian clusters of inliers and a tight planted cluster of outliers between them
    (labels: 1 for outliers)."""
    half = n_inliers // 2
    inliers = np.vstack([
        rng.normal(-4.0, 1.0, size=(half, n_features)),
        rng.normal(4.0, 1.0, size=(n_inliers - half, n_features)),
    ])
    centre = np.zeros(n_features)
    centre[1 % n_features] = 6.0
    outliers = centre + spread * 0.3 * rng.normal(size=(n_outliers, n_features))
    X = np.vstack([inliers, outliers])
    y = np.r_[np.zeros(n_inliers, int), np.ones(n_outliers, int)]
    order = rng.permutation(len(X))
    return X[order], y[order]


@pytest.fixture
def data(rng):
    return contaminated(rng)


# ---------------------------------------------------------------------- the contract
@pytest.mark.parametrize("contamination", [0.02, 0.1, 0.25])
def test_offset_flags_the_requested_fraction_of_training_rows(data, contamination):
    X, _ = data
    detector = gm.MixtureOutlierDetector(contamination=contamination, random_state=0).fit(X)
    labels = detector.predict(X)
    assert set(np.unique(labels)) <= {-1, 1}
    assert (labels == -1).sum() == np.floor(contamination * len(X) + 0.5)  # 82.5 -> 83


def test_decision_function_sign_matches_predict_and_score_samples(data):
    X, _ = data
    detector = gm.MixtureOutlierDetector(random_state=0).fit(X)
    decision = detector.decision_function(X)
    np.testing.assert_allclose(decision, detector.score_samples(X) - detector.offset_)
    np.testing.assert_array_equal(detector.predict(X), np.where(decision < 0, -1, 1))


def test_fit_predict_equals_fit_then_predict(data):
    X, _ = data
    a = gm.MixtureOutlierDetector(random_state=3).fit_predict(X)
    b = gm.MixtureOutlierDetector(random_state=3).fit(X).predict(X)
    np.testing.assert_array_equal(a, b)


def test_score_samples_averages_the_models_standardised_log_densities(data):
    X, _ = data
    detector = gm.MixtureOutlierDetector(random_state=0).fit(X)
    expected = np.mean([(model.log_density(X) - centre) / spread for model, centre, spread
                        in zip(detector.models_, detector.score_centres_,
                               detector.score_spreads_)], axis=0)
    np.testing.assert_allclose(detector.score_samples(X), expected)
    assert [model.n_dims for model in detector.models_] == [1, 2]  # the ladder on 2 columns


@pytest.mark.parametrize("n_pca", [1, 3])
def test_a_models_log_density_is_the_gaussian_it_describes(rng, n_pca):
    """One component: the model is a Gaussian in the data's units, with the mixture's
    covariance on the subspace and the isotropic residual variance off it (scipy's logpdf)."""
    from scipy.stats import multivariate_normal

    X = rng.normal(size=(400, 3)) @ np.array([[2.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0, 0, 0.2]])
    X = X * [1.0, 10.0, 0.1] + [5.0, -3.0, 0.0]
    detector = gm.MixtureOutlierDetector(n_components=1, covariance_type="full", n_pca=n_pca,
                                         trim=0, random_state=0).fit(X)
    (model,) = detector.models_
    V, v = model.components_, model.noise_variance_
    inner = V @ np.reshape(model.mixture_.covariances_, (n_pca, n_pca)) @ V.T
    if v is not None:
        inner += v * (np.eye(3) - V @ V.T)
    mean = model.center_ + model.scale_ * (model.mean_ + V @ model.mixture_.means_[0])
    cov = inner * np.outer(model.scale_, model.scale_)
    np.testing.assert_allclose(model.log_density(X), multivariate_normal(mean, cov).logpdf(X),
                               rtol=1e-9, atol=1e-9)


def test_the_model_choice_is_a_function_of_the_rows(data):
    """Fitting never sees labels: the same rows give the same models, criteria and scores,
    and the rows' order does not matter beyond the random subsample."""
    X, _ = data
    a = gm.MixtureOutlierDetector(random_state=0).fit(X)
    b = gm.MixtureOutlierDetector(random_state=0).fit(X.copy())
    np.testing.assert_array_equal(a.criteria_, b.criteria_)
    assert a.selection_.best_params_ == b.selection_.best_params_
    np.testing.assert_array_equal(a.score_samples(X), b.score_samples(X))


def test_bic_choice_beats_a_forced_single_component_on_clustered_inliers(rng):
    """Three separated clusters of inliers and scattered outliers between them: one Gaussian
    covers the gaps and scores the outliers as normal; the components chosen by BIC do not."""
    centres = np.array([[-6.0, 0.0], [6.0, 0.0], [0.0, 9.0]])
    inliers = np.vstack([c + rng.normal(size=(150, 2)) for c in centres])
    outliers = rng.uniform(-2.5, 2.5, size=(20, 2)) + [0.0, 3.0]
    X = np.vstack([inliers, outliers])
    y = np.r_[np.zeros(450, int), np.ones(20, int)]
    chosen = gm.MixtureOutlierDetector(random_state=0).fit(X)
    single = gm.MixtureOutlierDetector(n_components=1, random_state=0).fit(X)
    assert chosen.mixture_.n_components >= 3
    auc_chosen = roc_auc_score(y, -chosen.score_samples(X))
    auc_single = roc_auc_score(y, -single.score_samples(X))
    assert auc_chosen > 0.95 and auc_chosen > auc_single + 0.2


def test_float32_rows_score_like_float64(data):
    X, _ = data
    a = gm.MixtureOutlierDetector(random_state=0).fit(X)
    b = gm.MixtureOutlierDetector(random_state=0).fit(X.astype(np.float32))
    assert b.score_samples(X.astype(np.float32)).dtype == np.float64
    np.testing.assert_allclose(b.score_samples(X.astype(np.float32)), a.score_samples(X),
                               rtol=1e-3, atol=1e-3)


def test_large_data_are_fitted_on_a_subsample_and_all_rows_scored(rng):
    from gaussmix.apps.anomaly.detector import MAX_FIT_ROWS

    X = rng.normal(size=(MAX_FIT_ROWS + 500, 3))
    X[:50] += 8.0
    y = np.r_[np.ones(50, int), np.zeros(len(X) - 50, int)]
    detector = gm.MixtureOutlierDetector(contamination=0.05, random_state=0).fit(X)
    assert detector.support_.sum() <= MAX_FIT_ROWS
    assert len(detector.score_samples(X)) == len(X)
    assert roc_auc_score(y, -detector.score_samples(X)) > 0.99


def test_same_random_state_same_result(data):
    X, _ = data
    a = gm.MixtureOutlierDetector(random_state=7).fit(X)
    b = gm.MixtureOutlierDetector(random_state=7).fit(X)
    np.testing.assert_array_equal(a.score_samples(X), b.score_samples(X))
    assert a.offset_ == b.offset_


def test_contamination_auto_flags_a_few_percent_of_clean_data(rng):
    """The threshold is the 1% quantile of draws from the model of lowest trimmed BIC; fitted
    on the central 90% of the rows, that model is a little narrower than clean data, so
    1-4% of them fall outside."""
    X = rng.normal(size=(2000, 3))
    detector = gm.MixtureOutlierDetector(contamination="auto", random_state=0).fit(X)
    flagged = (detector.predict(X) == -1).mean()
    assert 0.002 < flagged < 0.04


def test_feature_names_are_kept(data):
    pd = pytest.importorskip("pandas")
    X, _ = data
    frame = pd.DataFrame(X, columns=["a", "b"])
    detector = gm.MixtureOutlierDetector(random_state=0).fit(frame)
    assert list(detector.feature_names_in_) == ["a", "b"]
    assert detector.n_features_in_ == 2


# ---------------------------------------------------------------------- robustness
def test_planted_cluster_is_not_absorbed(rng):
    """BIC happily gives a tight cluster of 10% outliers its own component; trimming and
    leaving small components out of the score must find it (the plain mixture cannot)."""
    plain_aucs, robust_aucs = [], []
    for _ in range(3):
        X, y = contaminated(rng)
        plain = gm.MixtureOutlierDetector(n_pca=None, standardize=False, trim=0,
                                          min_component_weight=0, random_state=0).fit(X)
        robust = gm.MixtureOutlierDetector(random_state=0).fit(X)
        plain_aucs.append(roc_auc_score(y, -plain.score_samples(X)))
        robust_aucs.append(roc_auc_score(y, -robust.score_samples(X)))
        assert robust.support_[y == 1].mean() < 0.2  # the final fit left the cluster out
    assert np.mean(robust_aucs) > 0.95
    assert np.mean(robust_aucs) > np.mean(plain_aucs) + 0.1


def test_scattered_outliers_in_many_dimensions_with_few_rows(rng):
    """40 columns, 120 rows: a full mixture on the columns is not estimable; the projection is."""
    n, d = 120, 40
    latent = rng.normal(size=(n, 3))
    X = latent @ rng.normal(size=(3, d)) + 0.3 * rng.normal(size=(n, d))
    y = np.zeros(n, int)
    y[:6] = 1
    X[:6] += rng.normal(scale=2.0, size=(6, d))
    detector = gm.MixtureOutlierDetector(contamination=0.05, random_state=0).fit(X)
    assert roc_auc_score(y, -detector.score_samples(X)) > 0.95


# ---------------------------------------------------------------------- pure rules
def test_contamination_offset_puts_exactly_the_fraction_below(rng):
    scores = rng.normal(size=1001)
    for contamination in (0.001, 0.01, 0.1, 0.5):
        offset = contamination_offset(scores, contamination)
        assert (scores < offset).sum() == int(np.floor(contamination * 1001 + 0.5))


def test_contamination_offset_with_an_underflowed_score():
    scores = np.array([-np.inf, -3.0, -1.0, -2.0])
    offset = contamination_offset(scores, 0.25)
    assert (scores < offset).sum() == 1


def test_kept_rows_and_major_density():
    assert kept_rows(np.arange(10.0), 0.2).tolist() == list(range(2, 10))
    log_density = np.zeros(3)
    resp = np.array([[0.9, 0.1], [0.0, 1.0], [0.5, 0.5]])
    np.testing.assert_array_equal(major_log_density(log_density, resp, [0.5, 0.5], 0.1),
                                  log_density)
    out = major_log_density(log_density, resp, np.array([0.95, 0.05]), 0.1)
    assert out[1] < -600 and out[0] == pytest.approx(np.log(0.9))


# ---------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("params, message", [
    ({"contamination": 0.0}, "contamination"),
    ({"contamination": 0.6}, "contamination"),
    ({"contamination": "most"}, "contamination"),
    ({"n_components": 0}, "n_components"),
    ({"n_components": "many"}, "n_components"),
    ({"n_components": [2, 1.5]}, "n_components"),
    ({"covariance_type": "round"}, "covariance_type"),
    ({"n_pca": 0}, "n_pca"),
    ({"trim": 0.7}, "trim"),
    ({"n_trim_steps": -1}, "n_trim_steps"),
    ({"min_component_weight": 1.0}, "min_component_weight"),
    ({"standardize": "yes"}, "standardize"),
    ({"standardize": None}, "standardize"),
])
def test_bad_parameters_say_what_is_wrong(data, params, message):
    X, _ = data
    with pytest.raises(ValueError, match=message):
        gm.MixtureOutlierDetector(**params).fit(X)


def test_bad_data_gets_clear_errors():
    with pytest.raises(ValueError, match="NaN"):
        gm.MixtureOutlierDetector().fit([[0.0, 1.0], [np.nan, 2.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="at least 3 rows"):
        gm.MixtureOutlierDetector().fit([[0.0, 1.0], [1.0, 2.0]])
    with pytest.raises(ValueError, match="real numbers"):
        gm.MixtureOutlierDetector().fit([["a", "b"], ["c", "d"], ["e", "f"]])
    detector = gm.MixtureOutlierDetector(random_state=0).fit(np.arange(60.0).reshape(20, 3))
    with pytest.raises(ValueError, match="features"):
        detector.predict(np.zeros((2, 4)))


# ---------------------------------------------------------------------- picture
def test_plot_rings_the_flagged_rows(data):
    import matplotlib.pyplot as plt

    X, _ = data
    detector = gm.MixtureOutlierDetector(contamination=0.05, random_state=0).fit(X)
    ax = detector.plot(X)
    rings = ax.collections[-1]
    assert len(rings.get_offsets()) == (detector.predict(X) == -1).sum()
    plt.close("all")
    with pytest.raises(ValueError, match="two columns"):
        detector.plot(np.zeros((5, 3)))


# ---------------------------------------------------------------------- command line
def test_score_contamination_uses_the_detectors_threshold(tmp_path, monkeypatch, data):
    X, _ = data
    monkeypatch.chdir(tmp_path)
    np.save("data.npy", X)
    runner = CliRunner()
    fit = runner.invoke(cli, ["fit", "data.npy", "-k", "2", "-o", "model.npz", "--quiet"])
    assert fit.exit_code == 0, fit.output
    result = runner.invoke(cli, ["score", "data.npy", "-m", "model.npz",
                                 "--contamination", "0.05", "-o", "scores.csv"])
    assert result.exit_code == 0, result.output
    table = np.genfromtxt("scores.csv", delimiter=",", names=True)
    log_density, anomaly = table["log_density"], table["anomaly"]
    expected = log_density < contamination_offset(log_density, 0.05)
    np.testing.assert_array_equal(anomaly.astype(bool), expected)
    assert anomaly.sum() == 17  # 5% of 330 rows = 16.5, rounded half up
    assert "log-density <" in result.output


def test_outliers_verb_round_trip_equals_the_detector(tmp_path, monkeypatch, data):
    X, _ = data
    monkeypatch.chdir(tmp_path)
    np.save("data.npy", X)
    result = CliRunner().invoke(cli, ["outliers", "data.npy", "--contamination", "0.05",
                                      "--seed", "3", "-o", "flagged.csv"])
    assert result.exit_code == 0, result.output
    table = np.genfromtxt("flagged.csv", delimiter=",", names=True)
    detector = gm.MixtureOutlierDetector(contamination=0.05, random_state=3).fit(X)
    np.testing.assert_allclose(table["score"], detector.score_samples(X), rtol=1e-9)
    np.testing.assert_allclose(table["decision"], detector.decision_function(X), rtol=1e-9,
                               atol=1e-9)
    np.testing.assert_array_equal(table["outlier"] == 1, detector.predict(X) == -1)
    assert "17 of 330 rows flagged" in result.output


@pytest.mark.parametrize("flag, standardize", [("--standardize", True),
                                               ("--no-standardize", False)])
def test_outliers_verb_scaling_flags_fix_the_scaling(tmp_path, monkeypatch, data, flag,
                                                     standardize):
    X, _ = data
    monkeypatch.chdir(tmp_path)
    np.save("data.npy", X)
    result = CliRunner().invoke(cli, ["outliers", "data.npy", flag, "-o", "flagged.csv"])
    assert result.exit_code == 0, result.output
    table = np.genfromtxt("flagged.csv", delimiter=",", names=True)
    detector = gm.MixtureOutlierDetector(standardize=standardize, random_state=0).fit(X)
    np.testing.assert_allclose(table["score"], detector.score_samples(X), rtol=1e-9)
    said = "of the standardized columns" if standardize else "of the columns in their own units"
    assert said in result.output


@pytest.mark.parametrize("args, code, complaint", [
    (["--contamination", "0.7"], 2, "fraction"),
    (["--contamination", "many"], 2, "fraction"),
    (["-k", "0"], 2, ">= 1"),
])
def test_outliers_verb_bad_usage(tmp_path, monkeypatch, data, args, code, complaint):
    monkeypatch.chdir(tmp_path)
    np.save("data.npy", data[0])
    result = CliRunner().invoke(cli, ["outliers", "data.npy", "-o", "out.csv", *args])
    assert result.exit_code == code and complaint in result.output
    assert not os.path.exists("out.csv")


def test_outliers_verb_bad_data_is_one_line_and_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save("tiny.npy", np.zeros((2, 2)))
    for name in ("tiny.npy", "missing.csv"):
        result = CliRunner().invoke(cli, ["outliers", name, "-o", "out.csv"])
        assert result.exit_code == 1
        assert result.output.startswith("gaussmix: error:") and result.output.count("\n") == 1
        assert not os.path.exists("out.csv")


# ---------------------------------------------------------------------- the HDDC candidate
def test_the_hddc_candidate_is_a_density_of_every_column(rng):
    """HDDC's family (measured, not in FAMILIES): standardised columns and a
    HighDimensionalMixture by BIC; its log-density is the mixture's density of the raw rows
    (scipy's, with the Jacobian of the standardisation), and it counts the mixture's own
    parameters (its dimensions included)."""
    from scipy.special import logsumexp
    from scipy.stats import multivariate_normal

    from gaussmix.apps.anomaly.candidates import FitSettings
    from gaussmix.apps.anomaly.hddc_candidate import NotApplicable, subspace_mixture

    X, _ = contaminated(rng, n_features=4)
    X = X * [1.0, 10.0, 0.1, 3.0]
    settings = FitSettings((1, 2, 3), (), True, 1e-3, 1, 0.0, "error", 1e-3)
    model = subspace_mixture(2, settings, 0).fit(X)
    mixture = model.mixture_
    assert isinstance(mixture, gm.HighDimensionalMixture) and mixture.n_components in (1, 2, 3)
    assert model.n_parameters_ == mixture._n_parameters()
    scale = model.scale_
    by_scipy = logsumexp([np.log(w) + multivariate_normal(
        model.center_ + scale * m, c * np.outer(scale, scale)).logpdf(X)
        for w, m, c in zip(mixture.weights_, mixture.means_, mixture.covariances_)], axis=0)
    np.testing.assert_allclose(model.log_density(X), by_scipy, rtol=1e-9)
    again = subspace_mixture(5, settings, 0).fit(X)  # another rung: the same fit, shared
    assert again.mixture_ is mixture and len(settings.cache) == 1
    assert model.sample(50).shape == (50, 4)
    with pytest.raises(NotApplicable):
        subspace_mixture(1, settings, 0).fit(X[:, :1])


def test_a_family_that_cannot_model_the_rows_is_left_out(rng, monkeypatch):
    from gaussmix.apps.anomaly import detector as detector_module
    from gaussmix.apps.anomaly.hddc_candidate import subspace_mixture

    monkeypatch.setattr(detector_module, "FAMILIES", (*detector_module.FAMILIES,
                                                      subspace_mixture))
    X, y = contaminated(rng, n_inliers=120, n_outliers=12, n_features=1)
    detector = gm.MixtureOutlierDetector(n_components=[1, 2], random_state=0).fit(X)
    assert roc_auc_score(y, -detector.score_samples(X)) > 0.5


# ---------------------------------------------------------------------- many clusters
def nine_clusters(rng, sizes=(60,) * 9):
    """Nine well-separated Gaussian clusters on a 3 x 3 grid in two dimensions."""
    centres = np.array([(x, y) for x in (-12.0, 0.0, 12.0) for y in (-12.0, 0.0, 12.0)])
    return np.vstack([c + rng.normal(size=(n, 2)) for c, n in zip(centres, sizes)])


def test_auto_components_grow_past_five_while_bic_asks_for_more(rng):
    """``n_components="auto"`` tries 1-5, then 8, 13, ... while BIC's best is the largest
    tried: nine clusters get more than five components; a list is the grid itself."""
    X = nine_clusters(rng)
    grown = gm.MixtureOutlierDetector(n_pca=None, n_trim_steps=0, random_state=0).fit(X)
    assert grown.mixture_.n_components >= 8
    fixed = gm.MixtureOutlierDetector(n_components=range(1, 6), n_pca=None, n_trim_steps=0,
                                      random_state=0).fit(X)
    assert fixed.mixture_.n_components <= 5
    one = gm.MixtureOutlierDetector(n_pca=None, n_trim_steps=0, random_state=0).fit(
        rng.normal(size=(300, 2)))
    assert one.mixture_.n_components < 5  # BIC's best is inside the grid: nothing more tried


def test_a_refit_that_cannot_keep_the_structure_chooses_afresh_with_growth(rng):
    """A trimmed refit keeps its first fit's number and type of components; where that
    structure cannot be fitted on the kept rows, the refit chooses one as a first fit does,
    growing past five components while BIC asks for more (it fell back to 1-5 before)."""
    from types import SimpleNamespace

    from gaussmix.apps.anomaly.candidates import FitSettings, projected_mixture
    from gaussmix.apps.anomaly.detector import AUTO_COMPONENTS, AUTO_MORE_COMPONENTS, AUTO_TYPES

    X = nine_clusters(rng)
    settings = FitSettings(tuple(AUTO_COMPONENTS), AUTO_TYPES, True, 1e-3, 1, 0.1, "error", 1e-3,
                           AUTO_MORE_COMPONENTS)
    impossible = SimpleNamespace(mixture_=SimpleNamespace(n_components=len(X) + 1,
                                                          covariance_type="spherical"))
    refit = projected_mixture(None, settings, 0, like=impossible).fit(X)
    assert refit.mixture_.n_components >= 8


def test_minor_weight_is_at_most_half_an_equal_share():
    from gaussmix.apps.anomaly.rules import minor_weight

    assert minor_weight(0.1, 1) == minor_weight(0.1, 5) == 0.1
    assert minor_weight(0.1, 8) == pytest.approx(0.5 / 8)
    assert minor_weight(0.0, 13) == 0.0


def test_the_light_clusters_of_a_many_component_mixture_count(rng):
    """Nine clusters, four of weight 1/14 (below the default ``min_component_weight=0.1``,
    above half an equal share 1/18): all nine components are major, so a light cluster's
    centre is as dense as a heavy one's (within the factor of their weights)."""
    from gaussmix.apps.anomaly.candidates import FitSettings, projected_mixture

    X = nine_clusters(rng, sizes=(40, 80, 40, 80, 80, 80, 40, 80, 40))
    settings = FitSettings((9,), ("spherical",), True, 1e-3, 1, 0.1, "error", 1e-3)
    model = projected_mixture(None, settings, 0).fit(X)
    assert np.sort(model.mixture_.weights_)[0] < 0.1 and model._major is None
    light, heavy = model.log_density(np.array([[-12.0, -12.0], [0.0, -12.0]]))
    assert light > heavy - np.log(2) - 0.5


# ---------------------------------------------------------------------- the columns' scaling
def test_columns_in_different_units_are_standardised(rng):
    """``standardize="auto"``: columns whose spreads differ by ten orders of magnitude (units)
    make the data's own scaling a poor density, and BIC keeps the standardised one."""
    X = rng.normal(size=(300, 4)) @ rng.normal(size=(4, 4)) * [1000.0, 1.0, 0.01, 5.0]
    assert gm.MixtureOutlierDetector(random_state=0).fit(X).standardized_


def pixels_with_a_rare_class():
    """1000 of scikit-learn's 8 x 8 digits 1-9 and 30 zeros (labels: 1 for the zeros)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    inliers = np.flatnonzero(digits.target > 0)[:1000]
    outliers = np.flatnonzero(digits.target == 0)[:30]
    return digits.data[np.r_[inliers, outliers]], np.r_[np.zeros(1000, int), np.ones(30, int)]


def test_pixels_keep_their_units_and_the_rare_class_stands_out():
    """Pixels share one unit and many are nearly always blank: standardised, a stray stroke
    there is many standard deviations off and outweighs the shape of the digit. BIC on all
    the fitted rows keeps the pixels' units, and the rare class ranks higher than with
    standardised columns. The choice made, the detector is the one that scaling gives."""
    X, y = pixels_with_a_rare_class()
    auto = gm.MixtureOutlierDetector(random_state=0).fit(X)
    assert not auto.standardized_
    assert all(not model.params.standardize for model in auto.models_)
    same = gm.MixtureOutlierDetector(standardize=False, random_state=0).fit(X)
    assert not same.standardized_
    np.testing.assert_array_equal(auto.score_samples(X), same.score_samples(X))
    scaled = gm.MixtureOutlierDetector(standardize=True, random_state=0).fit(X)
    assert scaled.standardized_
    auc_auto = roc_auc_score(y, -auto.score_samples(X))
    assert auc_auto > roc_auc_score(y, -scaled.score_samples(X)) + 0.05
    assert auc_auto > 0.65


def test_the_data_units_scaling_does_not_depend_on_the_unit():
    """Kept in the data's units, the columns are divided by one common scale: the same pixels
    in another unit (0-1 instead of 0-16) give the same scores."""
    X, _ = pixels_with_a_rare_class()
    X = X[::3]
    first = gm.MixtureOutlierDetector(standardize=False, random_state=0).fit(X)
    second = gm.MixtureOutlierDetector(standardize=False, random_state=0).fit(X / 16.0)
    np.testing.assert_allclose(first.score_samples(X), second.score_samples(X / 16.0),
                               rtol=1e-6, atol=1e-6)


def test_calibration_distance_is_two_sided(rng):
    """Rows like the model's own draws are near 0; rows spread three times wider (in its tail)
    and rows shrunk to a fifth (all in its core) are both far."""
    from gaussmix.apps.anomaly.scaling import calibration_distance

    X = rng.normal(size=(400, 3)) @ np.diag([3.0, 1.0, 0.5])
    model = gm.MixtureOutlierDetector(n_pca=None, trim=0, random_state=0).fit(X).models_[0]
    centre = X.mean(axis=0)
    assert calibration_distance(model, X) < 0.1
    assert calibration_distance(model, centre + 3.0 * (X - centre)) > 0.5
    assert calibration_distance(model, centre + 0.2 * (X - centre)) > 0.5


# ---------------------------------------------------------------------- clumps of outliers
def clusters_and_a_clump(rng, n_features=8, clump=15):
    """Three clusters of 200 rows in ``n_features`` dimensions and a tight clump of ``clump``
    rows far from them (labels: 1 for the clump)."""
    centres = 8.0 * np.eye(3, n_features)
    inliers = np.vstack([c + rng.normal(size=(200, n_features)) for c in centres])
    far = np.full(n_features, -8.0)
    X = np.vstack([inliers, far + 0.3 * rng.normal(size=(clump, n_features))])
    return X, np.r_[np.zeros(600, int), np.ones(clump, int)]


def test_a_clump_smaller_than_a_components_parameters_gets_a_minor_component(rng):
    """15 rows against the 44 parameters of a full covariance in 8 dimensions: model selection
    refuses the fit that gives them a component (spurious), the detector takes it, since the
    spurious component is minor and left out of the density, and flags the clump."""
    from gaussmix.apps.anomaly.candidates import FitSettings, _select
    from gaussmix.selection import degenerate_components, select_model
    from gaussmix.selection.criteria import DataSpread

    X, y = clusters_and_a_clump(rng)
    settings = FitSettings((4,), ("full",), True, 1e-3, 1, 0.1, "error", 1e-3)
    chosen = _select(X, [4], ["full"], settings, 0, {}).best_
    bad = degenerate_components(chosen, DataSpread.of_rows(X), len(X))
    assert not bad.collapsed.any()
    assert bad.spurious.sum() == 1 and chosen.weights_[bad.spurious][0] < 0.03
    with pytest.raises(ValueError, match="usable"):
        select_model(X, [4], ["full"], random_state=0, progress=False, reg_covar=1e-3)
    detector = gm.MixtureOutlierDetector(n_pca=8, random_state=0).fit(X)
    assert roc_auc_score(y, -detector.score_samples(X)) > 0.99


def test_degenerate_components_say_which_components_make_a_fit_degenerate(rng):
    """The per-component rule agrees with ``degenerate_reason``: a fit is degenerate exactly
    where some component is flagged, and the flagged one is the small component."""
    from gaussmix.selection import degenerate_components, degenerate_reason
    from gaussmix.selection.criteria import DataSpread

    X = rng.normal(size=(100, 3))
    spread = DataSpread.of_rows(X)
    for weights, spurious in (([0.5, 0.5], False), ([0.97, 0.03], True)):
        model = gm.GaussianMixture.from_parameters(
            np.array(weights), np.zeros((2, 3)), np.stack([np.eye(3)] * 2))
        bad = degenerate_components(model, spread, len(X))
        assert not bad.collapsed.any()
        assert bad.spurious.any() == spurious == (
            degenerate_reason(model, spread, len(X)) is not None)
        assert bad.spurious.tolist() == [False, spurious]
    collapsed = gm.GaussianMixture.from_parameters(
        np.array([0.5, 0.5]), np.zeros((2, 3)), np.stack([np.eye(3), 1e-6 * np.eye(3)]))
    bad = degenerate_components(collapsed, spread, len(X))
    assert bad.collapsed.tolist() == [False, True]
    assert "collapsed" in degenerate_reason(collapsed, spread, len(X))


def test_a_refit_keeps_a_structure_whose_only_fault_is_a_minor_spurious_component(rng):
    """A trimmed refit of four full components, on rows whose clump of 15 is smaller than a
    component's 44 own parameters: the refit keeps the four (the clump's component is
    spurious but minor), where a first fit over 1-3 components could not isolate it."""
    from types import SimpleNamespace

    from gaussmix.apps.anomaly.candidates import FitSettings, projected_mixture

    X, y = clusters_and_a_clump(rng)
    settings = FitSettings((1, 2, 3), ("full",), True, 1e-3, 1, 0.1, "error", 1e-3)
    four = SimpleNamespace(mixture_=SimpleNamespace(n_components=4, covariance_type="full"))
    refit = projected_mixture(None, settings, 0, like=four).fit(X)
    assert refit.mixture_.n_components == 4
    P, _ = refit.project(X)
    clump = refit.mixture_.predict(P)[y == 1]
    assert np.all(clump == clump[0]) and refit.mixture_.weights_[clump[0]] < 0.05
