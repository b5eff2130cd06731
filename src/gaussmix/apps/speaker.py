"""Speaker recognition with a GMM-UBM: MFCC features, a background model, MAP-adapted speakers.

The classic text-independent system of Reynolds, Quatieri & Dunn (2000):

1. **Features** (:func:`load_audio`, :func:`mfcc_features`, :func:`file_features`): MFCCs of
   25 ms frames every 10 ms (and their deltas), frames of silence dropped by an energy threshold,
   cepstral mean normalisation per utterance (which removes a fixed channel, such as a
   microphone or a telephone line).
2. **Universal background model** (:func:`train_ubm`): a large diagonal-covariance mixture
   fitted by EM on many speakers' features.
3. **Enrolment** (:func:`enroll`): a speaker's model is the UBM MAP-adapted to their features
   (:func:`gaussmix.map_adapt`; means only, relevance factor 16). A few seconds are enough,
   because a component the speaker's data do not reach keeps the UBM's parameters.
4. **Scoring** (:func:`score`, :func:`identify`, :func:`verify`): the mean per-frame
   log-likelihood ratio of the speaker model against the UBM, with the *top-C* shortcut: each
   frame is scored on the speaker model's components that are the C best of the UBM for that
   frame (adapted components stay close to their UBM parents).

Audio is read with ``soundfile`` and features come from ``librosa`` (the ecosystem's standard
feature library): ``pip install "gaussmix[audio]"``. Both are imported only when used.
:mod:`gaussmix.apps.speaker_eval` measures identification accuracy and equal error rates;
``gaussmix speaker`` is the command line.

Examples
--------
>>> import numpy as np
>>> from gaussmix.apps import speaker
>>> rng = np.random.default_rng(0)
>>> background = [rng.normal(0, 1, (300, 4)) + rng.normal(0, 2, 4) for _ in range(6)]
>>> ubm = speaker.train_ubm(background, n_components=8, random_state=0)
>>> alice, bob = rng.normal(0, 2, 4), rng.normal(0, 2, 4)
>>> models = {"alice": speaker.enroll(ubm, rng.normal(0, 1, (200, 4)) + alice),
...           "bob": speaker.enroll(ubm, rng.normal(0, 1, (200, 4)) + bob)}
>>> name, scores = speaker.identify(models, ubm, rng.normal(0, 1, (100, 4)) + bob)
>>> name
'bob'
"""

from __future__ import annotations

import os
import re

import numpy as np

from .._optional import require
from ..engine import covariance
from ..estimators import GaussianMixture
from ..estimators.adapt import map_adapt

__all__ = [
    "DEFAULT_SAMPLE_RATE", "enroll", "feature_names", "file_features", "frame_scores",
    "identify", "load_audio", "mfcc_features", "score", "score_matrix", "train_ubm", "verify",
]

#: The rate features are computed at by default (telephone bandwidth, as in the shipped corpus).
DEFAULT_SAMPLE_RATE = 8000
_PURPOSE = "gaussmix.apps.speaker"
# Frames scored at once by the top-C shortcut.
_FRAME_BLOCK = 4096


# ---------------------------------------------------------------------- audio and features
def load_audio(path, *, sample_rate=DEFAULT_SAMPLE_RATE):
    """Read an audio file (WAV, FLAC, OGG, ...: whatever libsndfile reads) as mono float64.

    Parameters
    ----------
    path : str or path-like
    sample_rate : int or None, default=8000
        Resample to this rate (``None``: keep the file's rate). Models must be trained and used
        at one rate.

    Returns
    -------
    signal : ndarray of shape (n_samples,)
        Channels averaged, values in [-1, 1].
    sample_rate : int
    """
    soundfile = require("soundfile", "audio", f"{_PURPOSE}.load_audio")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(2, "no such audio file", path)
    if os.path.isdir(path):
        raise ValueError(f"{path}: is a directory, not an audio file.")
    try:
        signal, rate = soundfile.read(path, dtype="float64", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        reason = re.sub(r"^Error opening .*?: ", "", " ".join(str(exc).split()))
        raise ValueError(
            f"{path}: not an audio file that can be read (WAV, FLAC, OGG, ...): {reason}"
        ) from None
    signal = signal.mean(axis=1)
    if signal.size == 0 or not np.any(signal):
        raise ValueError(f"{path}: holds no audio (no samples, or only silence).")
    if sample_rate is not None and rate != sample_rate:
        librosa = require("librosa", "audio", f"{_PURPOSE}.load_audio")
        signal = librosa.resample(signal, orig_sr=rate, target_sr=int(sample_rate))
        rate = int(sample_rate)
    return signal, int(rate)


def feature_names(n_mfcc=13, deltas=1):
    """Column names of :func:`mfcc_features`: ``mfcc1..``, then ``delta1..``, ``delta2_1..``."""
    names = [f"mfcc{i}" for i in range(1, n_mfcc + 1)]
    for order in range(1, deltas + 1):
        prefix = "delta" if order == 1 else f"delta{order}_"
        names += [f"{prefix}{i}" for i in range(1, n_mfcc + 1)]
    return names


def mfcc_features(signal, sample_rate, *, n_mfcc=13, deltas=1, n_mels=None, vad_db=30.0,
                  cmn=True):
    """MFCC frames of a signal: one row per 10 ms of speech.

    Pre-emphasis (0.97), 25 ms Hann windows every 10 ms, a mel filterbank up to half the sample
    rate, log, DCT; the cepstra ``c1..c{n_mfcc}`` are kept (``c0``, the overall level, is not),
    then ``deltas`` orders of delta coefficients (5-frame regression). Frames more than ``vad_db``
    below the utterance's loudest frame are dropped (silence), then every column's mean over the
    kept frames is subtracted (cepstral mean normalisation).

    Parameters
    ----------
    signal : array-like of shape (n_samples,)
    sample_rate : int
    n_mfcc : int, default=13
    deltas : {0, 1, 2}, default=1
        Delta orders appended (1: velocities, 2: also accelerations).
    n_mels : int or None, default=None
        Mel bands; ``None``: 24 at 8 kHz, 40 at 16 kHz and above.
    vad_db : float or None, default=30.0
        Energy threshold in dB below the loudest frame; ``None`` keeps every frame.
    cmn : bool, default=True
        Subtract the per-utterance mean of every column.

    Returns
    -------
    ndarray of shape (n_frames, n_mfcc * (1 + deltas))

    Examples
    --------
    >>> import numpy as np
    >>> from gaussmix.apps.speaker import mfcc_features
    >>> t = np.arange(8000) / 8000
    >>> tone = np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 3 * t))
    >>> X = mfcc_features(tone, 8000)
    >>> X.shape[1], bool(np.allclose(X.mean(axis=0), 0))
    (26, True)
    """
    librosa = require("librosa", "audio", f"{_PURPOSE}.mfcc_features")
    if not isinstance(n_mfcc, (int, np.integer)) or n_mfcc < 1:
        raise ValueError(f"n_mfcc must be an integer >= 1; got {n_mfcc!r}.")
    if deltas not in (0, 1, 2):
        raise ValueError(f"deltas must be 0, 1 or 2; got {deltas!r}.")
    if not isinstance(sample_rate, (int, float, np.number)) or not sample_rate >= 1000:
        raise ValueError(f"sample_rate must be a number of Hz >= 1000; got {sample_rate!r}.")
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim != 1:
        raise ValueError(f"signal must be 1-D (mono); got shape {signal.shape}.")
    if not np.all(np.isfinite(signal)):
        raise ValueError("signal contains NaN or infinity.")
    window = round(0.025 * sample_rate)
    hop = round(0.010 * sample_rate)
    n_fft = 1 << (window - 1).bit_length()
    if n_mels is None:
        n_mels = 24 if sample_rate <= 8000 else 40
    if len(signal) < window:
        raise ValueError(
            f"the audio is too short ({len(signal)} samples): features need at least 25 ms."
        )
    emphasised = librosa.effects.preemphasis(signal, coef=0.97)
    power = librosa.feature.melspectrogram(
        y=emphasised, sr=sample_rate, n_fft=n_fft, hop_length=hop, win_length=window,
        n_mels=n_mels, fmin=0.0, fmax=sample_rate / 2, center=True,
    )
    log_power = librosa.power_to_db(power, ref=1.0, amin=1e-10, top_db=None)
    cepstra = librosa.feature.mfcc(S=log_power, n_mfcc=n_mfcc + 1)[1:]
    parts = [cepstra]
    for order in range(1, deltas + 1):
        parts.append(librosa.feature.delta(cepstra, width=5, order=order, mode="nearest"))
    frames = np.vstack(parts).T
    if vad_db is not None:
        energy = 10 * np.log10(np.maximum(power.sum(axis=0), 1e-20))
        frames = frames[energy >= energy.max() - float(vad_db)]
    if len(frames) < 2:
        raise ValueError("the audio holds fewer than two frames of speech (20 ms).")
    if cmn:
        frames = frames - frames.mean(axis=0)
    return np.ascontiguousarray(frames)


def file_features(path, *, sample_rate=DEFAULT_SAMPLE_RATE, **options):
    """:func:`mfcc_features` of an audio file read by :func:`load_audio`.

    ``options`` are :func:`mfcc_features`' keywords; errors name the file.
    """
    signal, rate = load_audio(path, sample_rate=sample_rate)
    try:
        return mfcc_features(signal, rate, **options)
    except ValueError as exc:
        raise ValueError(f"{os.fspath(path)}: {exc}") from None


# ---------------------------------------------------------------------- models
def _stack(features, what="features"):
    """One ``(n_frames, n_features)`` float array from an array or a list of utterances."""
    if isinstance(features, np.ndarray) and features.ndim == 2:
        parts = [features]
    elif isinstance(features, (list, tuple)) and features:
        parts = [np.asarray(f) for f in features]
    else:
        parts = [np.asarray(features)]
    if any(p.ndim != 2 for p in parts) or len({p.shape[1] for p in parts}) != 1:
        raise ValueError(
            f"{what} must be a 2-D array (n_frames, n_features) or a non-empty list of them "
            "with the same number of columns."
        )
    return np.vstack(parts).astype(np.float64, copy=False)


def train_ubm(features, n_components=64, *, covariance_type="diag", reg_covar=1e-3,
              max_iter=200, random_state=None, **params):
    """Fit the universal background model: a :class:`~gaussmix.GaussianMixture` on the frames
    of many speakers (one array, or a list of utterances' arrays).

    Diagonal covariances are the norm: MFCCs are nearly decorrelated, and a diagonal component
    costs ``O(D)`` per frame instead of ``O(D^2)``. ``params`` go to the estimator.
    """
    X = _stack(features)
    model = GaussianMixture(n_components, covariance_type=covariance_type, reg_covar=reg_covar,
                            max_iter=max_iter, random_state=random_state, **params)
    return model.fit(X)


def enroll(ubm, features, *, relevance_factor=16.0, adapt=("means",)):
    """A speaker model: the UBM MAP-adapted (:func:`gaussmix.map_adapt`) to their frames."""
    return map_adapt(ubm, _stack(features), relevance_factor=relevance_factor, adapt=adapt)


# ---------------------------------------------------------------------- scoring
def _component_log_densities(model, X, index):
    """``log w_k + log N(x_t | k)`` of model components ``index[t, c]`` for each frame ``t``."""
    cov_model = covariance.get(model.covariance_type)
    n_features = X.shape[1]
    prec_chol = model.precisions_cholesky_.astype(np.float64)
    factor = cov_model.kernel_factor(prec_chol, n_features)
    log_det = np.broadcast_to(cov_model.log_det_cholesky(prec_chol, n_features),
                              (model.n_components,))
    diff = X[:, None, :] - model.means_.astype(np.float64)[index]  # (T, C, D)
    if cov_model.family == "diagonal":
        z = diff * factor[index]
    elif cov_model.family == "dense":
        z = np.einsum("tcd,tcde->tce", diff, factor[index])
    else:  # one shared factor
        z = diff @ factor
    log_weights = np.log(np.maximum(model.weights_.astype(np.float64), np.finfo(float).tiny))
    return (log_weights[index] + log_det[index] - 0.5 * n_features * np.log(2 * np.pi)
            - 0.5 * np.einsum("tcd,tcd->tc", z, z))


def _check_model(model, what):
    if not isinstance(model, GaussianMixture) or not hasattr(model, "means_"):
        raise TypeError(f"{what} must be a fitted gaussmix.GaussianMixture; got "
                        f"{type(model).__name__}.")


def _check_scoring(models, ubm, X, top_c):
    """Validated frames; every model must fit the UBM's features (and components, for top-C)."""
    _check_model(ubm, "ubm")
    X = _stack(X)
    if X.shape[1] != ubm.means_.shape[1]:
        raise ValueError(f"the features have {X.shape[1]} columns but the UBM was trained on "
                         f"{ubm.means_.shape[1]}; extract them the same way.")
    if top_c is not None and (not isinstance(top_c, (int, np.integer))
                              or isinstance(top_c, bool) or top_c < 1):
        raise ValueError(f"top_c must be an integer >= 1 or None; got {top_c!r}.")
    for name, model in models.items():
        _check_model(model, f"the model of {name!r}")
        if model.means_.shape[1] != X.shape[1]:
            raise ValueError(f"the model of {name!r} has {model.means_.shape[1]} features, the "
                             f"UBM {X.shape[1]}: both must come from the same features.")
        if top_c is not None and top_c < ubm.n_components and (
                model.n_components != ubm.n_components):
            raise ValueError(
                f"top-C scoring needs speaker models adapted from this UBM (same components); "
                f"the model of {name!r} has {model.n_components} components, the UBM "
                f"{ubm.n_components}. Pass top_c=None to score exactly."
            )
    return X


def _ubm_pass(ubm, X, top_c):
    """The UBM's per-frame log-likelihoods and, for top-C scoring, each frame's best ``top_c``
    UBM components (``None``: score exactly)."""
    ubm_log = ubm.score_samples(X).astype(np.float64)
    if top_c is None or top_c >= ubm.n_components:
        return ubm_log, None
    index = np.empty((len(X), top_c), dtype=np.intp)
    for start in range(0, len(X), _FRAME_BLOCK):
        resp = ubm.predict_proba(X[start:start + _FRAME_BLOCK])
        index[start:start + len(resp)] = np.argpartition(-resp, top_c - 1, axis=1)[:, :top_c]
    return ubm_log, index


def _model_log(model, X, index):
    """A model's per-frame log-likelihoods, summed over components ``index`` (or all)."""
    if index is None:
        return model.score_samples(X).astype(np.float64)
    out = np.empty(len(X))
    for start in range(0, len(X), _FRAME_BLOCK):
        stop = min(start + _FRAME_BLOCK, len(X))
        log_dens = _component_log_densities(model, X[start:stop], index[start:stop])
        top = log_dens.max(axis=1)
        out[start:stop] = top + np.log(np.exp(log_dens - top[:, None]).sum(axis=1))
    return out


def frame_scores(model, ubm, features, *, top_c=5):
    """Per-frame log-likelihood ratios ``log p(x | model) - log p(x | UBM)``.

    With ``top_c`` (an integer), frame ``t``'s model likelihood sums only the model's
    components that are the ``top_c`` most likely components of the UBM for that frame
    (Reynolds' fast scoring; ``model`` must be adapted from ``ubm``); the UBM's likelihood is
    exact. ``top_c=None``, or ``top_c >= n_components``, scores exactly.
    """
    X = _check_scoring({"model": model}, ubm, features, top_c)
    ubm_log, index = _ubm_pass(ubm, X, top_c)
    return _model_log(model, X, index) - ubm_log


def score(model, ubm, features, *, top_c=5):
    """The mean per-frame log-likelihood ratio of ``features`` (see :func:`frame_scores`):
    positive when the frames are better explained by the speaker than by the UBM."""
    return float(np.mean(frame_scores(model, ubm, features, top_c=top_c)))


def score_matrix(models, ubm, utterances, *, top_c=5):
    """Every utterance against every model: ``(n_utterances, n_models)`` :func:`score` values,
    the models in the order of the dict ``models``. The UBM scores each frame once."""
    if not isinstance(models, dict) or not models:
        raise ValueError("models must be a non-empty dict of speaker name -> model.")
    if isinstance(utterances, np.ndarray) or not utterances:
        raise ValueError("utterances must be a non-empty list of feature arrays.")
    parts = [_stack(u) for u in utterances]
    X = _check_scoring(models, ubm, parts, top_c)
    starts = np.cumsum([0] + [len(p) for p in parts[:-1]])
    lengths = np.array([len(p) for p in parts])
    ubm_log, index = _ubm_pass(ubm, X, top_c)
    columns = [np.add.reduceat(_model_log(m, X, index) - ubm_log, starts) / lengths
               for m in models.values()]
    return np.column_stack(columns)


def identify(models, ubm, features, *, top_c=5):
    """Closed-set identification: the enrolled speaker whose model scores highest.

    Parameters
    ----------
    models : dict of str -> GaussianMixture
        Speaker models adapted from ``ubm`` (:func:`enroll`).
    ubm : GaussianMixture
    features : ndarray of shape (n_frames, n_features) or list of them
        One utterance (a list is taken as one utterance in pieces).
    top_c : int or None, default=5

    Returns
    -------
    name : str
    scores : dict of str -> float
        Every speaker's score (:func:`score`), best first.
    """
    row = score_matrix(models, ubm, [_stack(features)], top_c=top_c)[0]
    ranked = sorted(zip(models, row.tolist()), key=lambda item: -item[1])
    return ranked[0][0], dict(ranked)


def verify(model, ubm, features, *, threshold=0.0, top_c=5):
    """Verification: accept the claimed speaker when :func:`score` reaches ``threshold``.

    Returns ``(accepted, score)``. The threshold trades false acceptances against false
    rejections; :func:`gaussmix.apps.speaker_eval.equal_error_rate` gives the one where both
    rates are equal on trial data.
    """
    value = score(model, ubm, features, top_c=top_c)
    return bool(value >= threshold), value
