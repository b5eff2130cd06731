"""Model files of ``BayesianGaussianMixture`` (format version 2): exact round trips, warm
starts that continue, and refusal of posteriors no fit could give. GaussianMixture files stay
format version 1."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import gaussmix as gm
from _helpers import (
    COVARIANCE_TYPES,
    model_file_arrays,
    set_metadata,
    tampered_model_file,
    three_blobs,
)

BGM = gm.BayesianGaussianMixture
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _metadata(path):
    return json.loads(model_file_arrays(path)["metadata"].tobytes())


@pytest.mark.parametrize("prior_type", ["dirichlet_process", "dirichlet_distribution"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_loaded_bayesian_mixture_predicts_bit_identically(rng, tmp_path, covariance_type,
                                                          prior_type):
    X = three_blobs(rng)
    model = BGM(5, covariance_type=covariance_type, weight_concentration_prior_type=prior_type,
                random_state=0, max_iter=40).fit(X)
    gm.save(model, tmp_path / "b.npz")
    loaded = gm.load(tmp_path / "b.npz")
    assert type(loaded) is BGM and loaded.get_params() == model.get_params()
    for method in ("predict_proba", "score_samples", "predict"):
        np.testing.assert_array_equal(getattr(loaded, method)(X), getattr(model, method)(X))
    for name in ("weights_", "means_", "covariances_", "mean_precision_", "degrees_of_freedom_",
                 "mean_prior_", "covariance_prior_"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(model, name))
    if prior_type == "dirichlet_process":
        assert isinstance(loaded.weight_concentration_, tuple)
    np.testing.assert_array_equal(np.asarray(loaded.weight_concentration_),
                                  np.asarray(model.weight_concentration_))
    assert loaded.lower_bound_ == model.lower_bound_
    assert loaded.lower_bounds_ == model.lower_bounds_
    assert _metadata(tmp_path / "b.npz")["format_version"] == 2


def test_float32_and_array_priors_survive(rng, tmp_path):
    X = three_blobs(rng).astype(np.float32)
    model = BGM(3, covariance_type="diag", mean_prior=np.array([0.5, -0.5, 0.0]),
                covariance_prior=np.array([2.0, 3.0, 1.0]), random_state=0).fit(X)
    gm.save(model, tmp_path / "b.npz")
    loaded = gm.load(tmp_path / "b.npz")
    assert loaded.means_.dtype == np.float32
    np.testing.assert_array_equal(loaded.get_params()["mean_prior"], [0.5, -0.5, 0.0])
    np.testing.assert_array_equal(loaded.get_params()["covariance_prior"], [2.0, 3.0, 1.0])
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_a_loaded_model_continues_with_warm_start_as_the_saved_one(rng, tmp_path):
    X = three_blobs(rng)
    model = BGM(4, random_state=0, max_iter=5).fit(X)
    gm.save(model, tmp_path / "b.npz")
    loaded = gm.load(tmp_path / "b.npz")
    for m in (model, loaded):
        m.set_params(warm_start=True, max_iter=10).fit(X)
    np.testing.assert_array_equal(loaded.means_, model.means_)
    assert loaded.lower_bound_ == model.lower_bound_


def test_gaussian_mixture_files_stay_format_version_1(tmp_path):
    gm.save(gm.GaussianMixture(2, random_state=0).fit(gm.datasets.load_old_faithful()),
            tmp_path / "m.npz")
    assert _metadata(tmp_path / "m.npz")["format_version"] == 1


def _scale(name, factor):
    def change(arrays, metadata):
        arrays[name] = arrays[name] * factor
    return change


def _drop(name):
    def change(arrays, metadata):
        del arrays[name]
    return change


def _posterior(name, value):
    def change(arrays, metadata):
        metadata["posterior"][name] = value
    return change


@pytest.mark.parametrize("change, match", [
    (_scale("weight_concentration", -1.0), "weight_concentration.npy must be positive"),
    (_scale("mean_precision", 0.0), "mean_precision.npy must be positive"),
    (_scale("degrees_of_freedom", 0.0), "degrees_of_freedom.npy must exceed"),
    (_scale("covariance_prior", -1.0), "covariance_prior.npy is not positive definite"),
    (_drop("mean_precision"), "needs mean_precision.npy"),
    (set_metadata("format_version", 1), "needs format version 2"),
    (_posterior("mean_precision_prior_", -1.0), "positive priors"),
])
def test_bad_posteriors_are_refused_naming_the_file(rng, tmp_path, change, match):
    model = BGM(3, random_state=0).fit(three_blobs(rng))
    gm.save(model, tmp_path / "b.npz")
    path = tampered_model_file(tmp_path, tmp_path / "b.npz", change)
    with pytest.raises(ValueError, match=match) as info:
        gm.load(path)
    assert str(path) in str(info.value)


def test_weights_must_match_the_posterior(rng, tmp_path):
    model = BGM(3, random_state=0).fit(three_blobs(rng))
    gm.save(model, tmp_path / "b.npz")

    def change(arrays, metadata):
        arrays["weights"] = np.full(3, 1 / 3, dtype=arrays["weights"].dtype)

    with pytest.raises(ValueError, match="does not match weight_concentration"):
        gm.load(tampered_model_file(tmp_path, tmp_path / "b.npz", change))


def test_posterior_members_in_a_gaussian_mixture_file_are_refused(rng, tmp_path):
    X = three_blobs(rng)
    gm.save(BGM(3, random_state=0).fit(X), tmp_path / "b.npz")
    gm.save(gm.GaussianMixture(3, random_state=0).fit(X), tmp_path / "m.npz")
    with np.load(tmp_path / "b.npz") as archive:
        extra = archive["mean_precision"]

    def change(arrays, metadata):
        arrays["mean_precision"] = extra

    with pytest.raises(ValueError, match="unexpected member 'mean_precision.npy'"):
        gm.load(tampered_model_file(tmp_path, tmp_path / "m.npz", change))


def test_the_command_line_predicts_with_a_saved_bayesian_mixture(rng, tmp_path):
    X = three_blobs(rng)
    model = BGM(6, random_state=0).fit(X)
    gm.save(model, tmp_path / "b.npz")
    np.savetxt(tmp_path / "x.csv", X, delimiter=",", header="a,b,c", comments="")
    out = tmp_path / "labels.csv"
    done = subprocess.run([sys.executable, "-m", "gaussmix", "predict", str(tmp_path / "x.csv"),
                           "-m", str(tmp_path / "b.npz"), "-o", str(out)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    labels = np.loadtxt(out, delimiter=",", skiprows=1, usecols=0)
    np.testing.assert_array_equal(labels, model.predict(X))
