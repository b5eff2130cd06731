"""Scoring speakers: log-likelihood ratios against the UBM with the top-C shortcut,
identification and verification (step 4 of :mod:`gaussmix.apps.speaker`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ...engine import covariance
from ...estimators import GaussianMixture
from .model import _stack

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from ..._typing import ArrayLike, FloatArray
    from .model import Features

__all__ = ["frame_scores", "identify", "score", "score_matrix", "verify"]

# Frames scored at once by the top-C shortcut.
_FRAME_BLOCK = 4096


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


def frame_scores(model: GaussianMixture, ubm: GaussianMixture, features: Features, *,
                 top_c: int | None = 5) -> FloatArray:
    """Per-frame log-likelihood ratios ``log p(x | model) - log p(x | UBM)``.

    With ``top_c`` (an integer), frame ``t``'s model likelihood sums only the model's
    components that are the ``top_c`` most likely components of the UBM for that frame
    (Reynolds' fast scoring; ``model`` must be adapted from ``ubm``); the UBM's likelihood is
    exact. ``top_c=None``, or ``top_c >= n_components``, scores exactly.
    """
    X = _check_scoring({"model": model}, ubm, features, top_c)
    ubm_log, index = _ubm_pass(ubm, X, top_c)
    return _model_log(model, X, index) - ubm_log


def score(model: GaussianMixture, ubm: GaussianMixture, features: Features, *,
          top_c: int | None = 5) -> float:
    """The mean per-frame log-likelihood ratio of ``features`` (see :func:`frame_scores`):
    positive when the frames are better explained by the speaker than by the UBM."""
    return float(np.mean(frame_scores(model, ubm, features, top_c=top_c)))


def score_matrix(models: Mapping[str, GaussianMixture], ubm: GaussianMixture,
                 utterances: Sequence[ArrayLike], *, top_c: int | None = 5) -> FloatArray:
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


def identify(models: Mapping[str, GaussianMixture], ubm: GaussianMixture, features: Features,
             *, top_c: int | None = 5) -> tuple[str, dict[str, float]]:
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


def verify(model: GaussianMixture, ubm: GaussianMixture, features: Features, *,
           threshold: float = 0.0, top_c: int | None = 5) -> tuple[bool, float]:
    """Verification: accept the claimed speaker when :func:`score` reaches ``threshold``.

    Returns ``(accepted, score)``. The threshold trades false acceptances against false
    rejections; :func:`gaussmix.apps.speaker.equal_error_rate` gives the one where both
    rates are equal on trial data.
    """
    value = score(model, ubm, features, top_c=top_c)
    return bool(value >= threshold), value
