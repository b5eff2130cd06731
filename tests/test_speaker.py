"""Speaker recognition (``gaussmix.apps.speaker``, ``gaussmix speaker``) on the shipped corpus."""

import os
import warnings

import numpy as np
import pytest
from click.testing import CliRunner
from numpy.testing import assert_allclose

import gaussmix as gm
from gaussmix.cli import cli

pytest.importorskip("librosa")
sf = pytest.importorskip("soundfile")

from gaussmix.apps import speaker
from gaussmix.apps.speaker import scoring


@pytest.fixture(scope="module")
def corpus():
    return gm.datasets.load_speakers()


@pytest.fixture(scope="module")
def features(corpus):
    return {p: speaker.file_features(p) for p in corpus["path"]}


@pytest.fixture(scope="module")
def ubm(corpus, features):
    background = corpus[corpus["role"] == "background"]["path"]
    return speaker.train_ubm([features[p] for p in background], 16, random_state=0)


def _speaker_frames(corpus, features, role):
    part = corpus[corpus["role"] == role]
    return {s: [features[p] for p in part[part["speaker"] == s]["path"]]
            for s in dict.fromkeys(part["speaker"])}


# ---------------------------------------------------------------------- the corpus
def test_the_shipped_corpus_is_small_complete_and_text_independent(corpus):
    assert len(corpus) == 8 * (4 + 4) + 6 * 3
    assert all(os.path.isfile(p) for p in corpus["path"])
    size = sum(os.path.getsize(p) for p in corpus["path"])
    assert size < 500_000, f"{size} bytes: keep the corpus a few hundred kB"
    enrol = set(corpus[corpus["role"] == "enrol"]["text"])
    test = set(corpus[corpus["role"] == "test"]["text"])
    assert not enrol & test
    targets = set(corpus[corpus["role"] != "background"]["speaker"])
    assert not targets & set(corpus[corpus["role"] == "background"]["speaker"])
    info = sf.info(corpus["path"][0])
    assert (info.samplerate, info.channels) == (8000, 1)


def test_load_speakers_reads_another_folder_and_says_when_there_is_none(tmp_path, corpus):
    with pytest.raises(FileNotFoundError, match="speakers.csv"):
        gm.datasets.load_speakers(tmp_path)


# ---------------------------------------------------------------------- features
def test_features_have_the_documented_shape_and_zero_mean(corpus):
    path = corpus["path"][0]
    X = speaker.file_features(path)
    seconds = sf.info(path).duration
    assert X.shape[1] == 26 and len(speaker.feature_names()) == 26
    assert 0.5 * seconds * 100 < len(X) <= seconds * 100 + 2  # 10 ms frames, some silence dropped
    assert_allclose(X.mean(axis=0), 0, atol=1e-10)  # cepstral mean normalisation
    assert np.all(X.std(axis=0) > 0)
    signal, rate = speaker.load_audio(path)
    assert rate == 8000 and signal.ndim == 1
    assert speaker.mfcc_features(signal, rate, deltas=0).shape[1] == 13
    assert speaker.mfcc_features(signal, rate, n_mfcc=20, deltas=2).shape[1] == 60
    assert len(speaker.mfcc_features(signal, rate, vad_db=None)) >= len(X)
    raw = speaker.mfcc_features(signal, rate, cmn=False)
    assert not np.allclose(raw.mean(axis=0), 0)
    assert_allclose(raw - raw.mean(axis=0), X, atol=1e-9)


def test_cmn_removes_a_fixed_channel(corpus):
    """A constant gain is a constant shift of the cepstra: CMN takes it out."""
    signal, rate = speaker.load_audio(corpus["path"][3])
    a = speaker.mfcc_features(signal, rate)
    b = speaker.mfcc_features(0.3 * signal, rate)
    assert_allclose(a, b, atol=1e-6)


def test_audio_is_read_as_mono_and_resampled(tmp_path, corpus):
    signal, rate = speaker.load_audio(corpus["path"][0])
    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, np.column_stack([signal, signal]), rate)
    mono, _ = speaker.load_audio(stereo)
    assert_allclose(mono, signal, atol=1e-4)  # 16-bit WAV
    fast, fast_rate = speaker.load_audio(stereo, sample_rate=16000)
    assert fast_rate == 16000 and abs(len(fast) - 2 * len(signal)) <= 2
    assert speaker.load_audio(stereo, sample_rate=None)[1] == rate


def test_bad_audio_gives_clear_errors(tmp_path):
    (tmp_path / "text.wav").write_text("not audio")
    with pytest.raises(ValueError, match="text.wav: not an audio file"):
        speaker.load_audio(tmp_path / "text.wav")
    with pytest.raises(FileNotFoundError, match="no such audio file"):
        speaker.load_audio(tmp_path / "missing.wav")
    sf.write(tmp_path / "silent.wav", np.zeros(800), 8000)
    with pytest.raises(ValueError, match="holds no audio"):
        speaker.load_audio(tmp_path / "silent.wav")
    sf.write(tmp_path / "click.wav", np.full(50, 0.1), 8000)
    with pytest.raises(ValueError, match="click.wav: the audio is too short"):
        speaker.file_features(tmp_path / "click.wav")
    with pytest.raises(ValueError, match="1-D"):
        speaker.mfcc_features(np.zeros((10, 2)), 8000)
    with pytest.raises(ValueError, match="NaN"):
        speaker.mfcc_features(np.full(800, np.nan), 8000)
    with pytest.raises(ValueError, match="deltas"):
        speaker.mfcc_features(np.ones(800), 8000, deltas=3)


# ---------------------------------------------------------------------- models and scores
def test_ubm_enrolment_and_identification_on_the_corpus(corpus, features, ubm):
    assert ubm.n_components == 16 and ubm.covariance_type == "diag"
    enrol = _speaker_frames(corpus, features, "enrol")
    models = {s: speaker.enroll(ubm, frames) for s, frames in enrol.items()}
    assert all(np.array_equal(m.covariances_, ubm.covariances_) for m in models.values())
    test = corpus[corpus["role"] == "test"]
    right = 0
    for path, truth in zip(test["path"], test["speaker"]):
        name, scores = speaker.identify(models, ubm, features[path])
        assert next(iter(scores)) == name and len(scores) == 8
        right += name == truth
    assert right / len(test) >= 0.7  # 8 speakers: chance is 1/8
    matrix = speaker.score_matrix(models, ubm, [features[p] for p in test["path"]])
    names = list(models)
    assert [names[i] for i in matrix.argmax(axis=1)] == [
        speaker.identify(models, ubm, features[p])[0] for p in test["path"]]
    # verification: the true speaker scores above the UBM on most of their utterances
    own = [speaker.verify(models[s], ubm, features[p])[0] for p, s in zip(test["path"],
                                                                            test["speaker"])]
    assert np.mean(own) >= 0.7


def test_top_c_with_every_component_is_the_exact_ratio(corpus, features, ubm):
    enrol = _speaker_frames(corpus, features, "enrol")
    model = speaker.enroll(ubm, enrol["gb-m2"])
    X = features[corpus[corpus["role"] == "test"]["path"].iloc[5]]
    exact = np.mean(model.score_samples(X) - ubm.score_samples(X))
    assert_allclose(speaker.score(model, ubm, X, top_c=16), exact, rtol=1e-10)
    assert_allclose(speaker.score(model, ubm, X, top_c=None), exact, rtol=1e-10)
    # the shortcut's own arithmetic: the top-16 of 16 through the gather path equals the exact
    _, index = scoring._ubm_pass(ubm, X, 15)
    full = np.argsort(-ubm.predict_proba(X), axis=1)
    assert_allclose(scoring._model_log(model, X, full), model.score_samples(X), rtol=1e-10)
    np.testing.assert_array_equal(np.sort(index, axis=1), np.sort(full[:, :15], axis=1))
    # top-5 loses little: adapted components stay near their UBM parents
    assert abs(speaker.score(model, ubm, X, top_c=5) - exact) < 0.05 * abs(exact) + 0.05
    frames = speaker.frame_scores(model, ubm, X, top_c=5)
    assert frames.shape == (len(X),) and np.all(np.isfinite(frames))


def test_top_c_works_for_full_covariances_too(rng):
    X = rng.normal(size=(400, 3)) @ np.array([[1, 0.5, 0], [0, 1, 0.3], [0, 0, 1]])
    ubm = speaker.train_ubm(X, 4, covariance_type="full", random_state=0)
    model = speaker.enroll(ubm, X[:50] + 0.5, adapt=("means", "covariances"))
    exact = np.mean(model.score_samples(X) - ubm.score_samples(X))
    index = np.argsort(-ubm.predict_proba(X), axis=1)
    assert_allclose(np.mean(scoring._model_log(model, X, index) - ubm.score_samples(X)), exact,
                    rtol=1e-10)


def test_scoring_refuses_what_it_cannot_score(corpus, features, ubm):
    X = features[corpus["path"].iloc[0]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scratch = gm.GaussianMixture(4, covariance_type="diag", random_state=0).fit(X)
    with pytest.raises(ValueError, match="top-C scoring needs speaker models adapted"):
        speaker.score(scratch, ubm, X)
    assert np.isfinite(speaker.score(scratch, ubm, X, top_c=None))
    with pytest.raises(ValueError, match="13 columns but the UBM was trained on 26"):
        speaker.score(ubm, ubm, X[:, :13])
    with pytest.raises(ValueError, match="top_c must be an integer"):
        speaker.score(ubm, ubm, X, top_c=0)
    with pytest.raises(TypeError, match="fitted gaussmix.GaussianMixture"):
        speaker.score("alice.npz", ubm, X)
    with pytest.raises(ValueError, match="non-empty dict"):
        speaker.identify({}, ubm, X)


def test_equal_error_rate_and_det_points():
    eer, threshold = speaker.equal_error_rate([2.0, 3.0, 4.0, 0.5], [0.0, 1.0, -1.0, -2.0])
    assert eer == 0.25 and threshold in (0.5, 1.0)
    assert speaker.equal_error_rate([1.0, 2.0], [-1.0, 0.0])[0] == 0.0
    assert speaker.equal_error_rate([-1.0, 0.0], [1.0, 2.0])[0] == 1.0
    fa, fr, _ = speaker.det_points(np.arange(10.0), np.arange(10.0) - 3)
    assert np.all(np.diff(fa) <= 0) and np.all(np.diff(fr) >= 0)
    with pytest.raises(ValueError, match="at least one target"):
        speaker.equal_error_rate([], [1.0])


def test_the_experiment_runs_small_and_map_beats_scratch_with_little_data(corpus, features):
    result = speaker.evaluate(corpus, amounts=(1,), ubm_components=16,
                                   scratch_components=(2, 4), features=features)
    rows = {row["method"]: row for row in result["rows"]}
    assert set(rows) == {"MAP", "scratch"}
    assert rows["MAP"]["accuracy"] > rows["scratch"]["accuracy"]
    assert 0 <= rows["MAP"]["eer"] < 0.5 and 0.5 < rows["MAP"]["seconds"] < 3
    target, nontarget = result["scores"][1, "MAP"]
    assert len(target) == 4 * 32 and len(nontarget) == 7 * len(target)


# ---------------------------------------------------------------------- command line
def _invoke(*args):
    result = CliRunner().invoke(cli, ["speaker", *map(str, args)])
    return result


def test_cli_round_trip(tmp_path, corpus):
    paths = {role: corpus[corpus["role"] == role] for role in ("enrol", "test", "background")}
    ubm_path = tmp_path / "ubm.npz"
    made = _invoke("ubm", *paths["background"]["path"], "-k", "8", "-o", ubm_path, "-q")
    assert made.exit_code == 0, made.output
    assert gm.io.read_model(ubm_path).feature_names[0] == "mfcc1@8000Hz"
    for name in ("us-m1", "us-f1", "gb-m2"):
        files = paths["enrol"][paths["enrol"]["speaker"] == name]["path"]
        done = _invoke("enroll", name, *files, "--ubm", ubm_path, "-o", tmp_path / "models")
        assert done.exit_code == 0, done.output
        assert (tmp_path / "models" / f"{name}.npz").is_file()
    tests = paths["test"][paths["test"]["speaker"].isin(["us-m1", "us-f1", "gb-m2"])]
    found = _invoke("identify", *tests["path"], "--ubm", ubm_path, "--models",
                    tmp_path / "models", "-o", tmp_path / "scores.csv")
    assert found.exit_code == 0, found.output
    import pandas as pd

    table = pd.read_csv(tmp_path / "scores.csv")
    assert list(table.columns) == ["file", "identified", "score_gb-m2", "score_us-f1",
                                   "score_us-m1"]
    assert np.mean(table["identified"].to_numpy() == tests["speaker"].to_numpy()) >= 0.6
    assert f"{tests['path'].iloc[0]}: " in found.output
    # the same scores as the library
    ubm = gm.load(ubm_path)
    model = gm.load(tmp_path / "models" / "us-m1.npz")
    X = speaker.file_features(tests["path"].iloc[0])
    assert_allclose(table["score_us-m1"].iloc[0], speaker.score(model, ubm, X), rtol=1e-6)
    checked = _invoke("verify", "us-m1", tests["path"].iloc[0], "--ubm", ubm_path, "--models",
                      tmp_path / "models", "--threshold", "-100")
    assert checked.exit_code == 0 and "us-m1 accepted" in checked.output
    exact = _invoke("identify", tests["path"].iloc[0], "--ubm", ubm_path, "--models",
                    tmp_path / "models", "--top-c", "0")
    assert exact.exit_code == 0


def test_cli_bad_inputs_give_one_line_and_no_output(tmp_path, corpus):
    good = corpus[corpus["role"] == "enrol"]["path"].iloc[0]
    ubm_path = tmp_path / "ubm.npz"
    assert _invoke("ubm", *corpus[corpus["role"] == "background"]["path"][:6], "-k", "4",
                   "-o", ubm_path).exit_code == 0
    (tmp_path / "notes.wav").write_text("not audio")
    sf.write(tmp_path / "empty.wav", np.zeros(0), 8000)
    models = tmp_path / "models"
    cases = [
        (["enroll", "x", tmp_path / "notes.wav", "--ubm", ubm_path, "-o", models],
         "not an audio file"),
        (["enroll", "x", tmp_path / "empty.wav", "--ubm", ubm_path, "-o", models],
         "holds no audio"),
        (["enroll", "x", tmp_path / "nothing.wav", "--ubm", ubm_path, "-o", models],
         "no such audio file"),
        (["enroll", "x", good, "--ubm", tmp_path / "missing.npz", "-o", models],
         "no such UBM file"),
        (["enroll", "x", good, "--ubm", tmp_path / "notes.wav", "-o", models],
         "not a gaussmix model file"),
        (["identify", good, "--ubm", ubm_path, "--models", models], "no such folder"),
        (["verify", "x", good, "--ubm", ubm_path, "--models", tmp_path], "no such speaker model"),
        (["ubm", tmp_path / "notes.wav", "-o", tmp_path / "u.npz"], "not an audio file"),
        (["ubm", good, "-k", "5000", "-o", tmp_path / "u.npz"], "too few for 5000 components"),
    ]
    for args, message in cases:
        result = _invoke(*args)
        assert result.exit_code == 1, (args, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("gaussmix: error: "), result.output
        assert message in lines[0], (message, lines[0])
    assert not models.exists() and not (tmp_path / "u.npz").exists()
    assert _invoke("enroll", "bad/name", good, "--ubm", ubm_path, "-o", models).exit_code == 2
    # a folder with no models, and a model made with other features
    models.mkdir()
    empty = _invoke("identify", good, "--ubm", ubm_path, "--models", models)
    assert empty.exit_code == 1 and "holds no speaker models" in empty.output
    gm.save(gm.load(ubm_path), models / "odd.npz")  # no feature settings recorded
    odd = _invoke("identify", good, "--ubm", ubm_path, "--models", models)
    assert odd.exit_code == 1 and "not a model written by 'gaussmix speaker'" in odd.output


def test_cli_help_lists_the_verbs():
    page = CliRunner().invoke(cli, ["speaker", "--help"])
    assert page.exit_code == 0
    for verb in ("ubm", "enroll", "identify", "verify"):
        assert verb in page.output
        assert "Example" in CliRunner().invoke(cli, ["speaker", verb, "--help"]).output
    assert "gaussmix speaker enroll" in CliRunner().invoke(cli, ["--help"]).output
