"""Speaker features: audio read as mono, MFCC frames with deltas, silence dropped, cepstral mean
normalisation (step 1 of :mod:`gaussmix.apps.speaker`)."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

import numpy as np

from ..._optional import require

if TYPE_CHECKING:
    from typing import Any

    from ..._typing import ArrayLike, FloatArray, PathLike

__all__ = ["DEFAULT_SAMPLE_RATE", "feature_names", "file_features", "load_audio", "mfcc_features"]

#: The rate features are computed at by default (telephone bandwidth, as in the shipped corpus).
DEFAULT_SAMPLE_RATE = 8000
_PURPOSE = "gaussmix.apps.speaker"


def load_audio(path: PathLike, *,
               sample_rate: int | None = DEFAULT_SAMPLE_RATE) -> tuple[FloatArray, int]:
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


def feature_names(n_mfcc: int = 13, deltas: int = 1) -> list[str]:
    """Column names of :func:`mfcc_features`: ``mfcc1..``, then ``delta1..``, ``delta2_1..``."""
    names = [f"mfcc{i}" for i in range(1, n_mfcc + 1)]
    for order in range(1, deltas + 1):
        prefix = "delta" if order == 1 else f"delta{order}_"
        names += [f"{prefix}{i}" for i in range(1, n_mfcc + 1)]
    return names


def mfcc_features(signal: ArrayLike, sample_rate: int, *, n_mfcc: int = 13, deltas: int = 1,
                  n_mels: int | None = None, vad_db: float | None = 30.0,
                  cmn: bool = True) -> FloatArray:
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


def file_features(path: PathLike, *, sample_rate: int | None = DEFAULT_SAMPLE_RATE,
                  **options: Any) -> FloatArray:
    """:func:`mfcc_features` of an audio file read by :func:`load_audio`.

    ``options`` are :func:`mfcc_features`' keywords; errors name the file.
    """
    signal, rate = load_audio(path, sample_rate=sample_rate)
    try:
        return mfcc_features(signal, rate, **options)
    except ValueError as exc:
        raise ValueError(f"{os.fspath(path)}: {exc}") from None
