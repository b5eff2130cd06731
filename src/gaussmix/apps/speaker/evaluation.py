"""Measuring a speaker recogniser: equal error rate, DET curves, and the GMM-UBM experiment.

* :func:`equal_error_rate` and :func:`det_points`: verification error rates from the scores of
  target trials (the claimed speaker spoke) and non-target trials (someone else did).
* :func:`evaluate`: the experiment of the README on a corpus (the shipped one by default): a UBM
  trained on the background speakers, then, for each amount of enrolment speech, MAP-adapted
  speaker models against per-speaker mixtures trained from scratch on the same frames.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from ...estimators import GaussianMixture
from .audio import file_features
from .model import enroll, train_ubm
from .scoring import score_matrix

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    import pandas as pd

    from ..._typing import ArrayLike, FloatArray

__all__ = ["det_points", "equal_error_rate", "evaluate"]


def _trial_scores(target_scores, nontarget_scores):
    target = np.asarray(target_scores, dtype=np.float64).ravel()
    nontarget = np.asarray(nontarget_scores, dtype=np.float64).ravel()
    if not target.size or not nontarget.size:
        raise ValueError("need at least one target and one non-target score.")
    if not (np.all(np.isfinite(target)) and np.all(np.isfinite(nontarget))):
        raise ValueError("scores must be finite.")
    return target, nontarget


def det_points(target_scores: ArrayLike,
               nontarget_scores: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``(false_accept, false_reject, thresholds)``: the error rates of accepting trials that
    score at least each threshold, thresholds increasing (a DET curve plots the two rates)."""
    target, nontarget = _trial_scores(target_scores, nontarget_scores)
    thresholds = np.unique(np.concatenate([target, nontarget, [np.inf]]))
    false_accept = 1.0 - np.searchsorted(np.sort(nontarget), thresholds, side="left") / len(
        nontarget)
    false_reject = np.searchsorted(np.sort(target), thresholds, side="left") / len(target)
    return false_accept, false_reject, thresholds


def equal_error_rate(target_scores: ArrayLike,
                     nontarget_scores: ArrayLike) -> tuple[float, float]:
    """The equal error rate and its threshold: where false acceptances and false rejections are
    equally frequent (interpolated between the two thresholds around the crossing).

    Examples
    --------
    >>> from gaussmix.apps.speaker import equal_error_rate
    >>> equal_error_rate([2.0, 3.0, 4.0, 0.5], [0.0, 1.0, -1.0, -2.0])[0]
    0.25
    >>> equal_error_rate([2.0, 3.0], [0.0, 1.0])[0]
    0.0
    """
    fa, fr, thresholds = det_points(target_scores, nontarget_scores)
    gap = fa - fr  # decreasing from 1 - 0 to 0 - 1
    i = int(np.flatnonzero(gap <= 0)[0])
    if gap[i] == 0 or i == 0:
        return float(fa[i]), float(thresholds[i])
    # between thresholds i-1 (fa > fr) and i (fa <= fr): where the two straight lines cross
    t = gap[i - 1] / (gap[i - 1] - gap[i])
    eer = fa[i - 1] + t * (fa[i] - fa[i - 1])
    return float(eer), float(thresholds[i - 1])


def _errors(matrix, truth):
    """Identification accuracy, and target / non-target scores, of a score matrix."""
    truth = np.asarray(truth)
    target = matrix[np.arange(len(truth)), truth]
    mask = np.ones_like(matrix, dtype=bool)
    mask[np.arange(len(truth)), truth] = False
    return float(np.mean(matrix.argmax(axis=1) == truth)), target, matrix[mask]


def _enrolment_sets(n_available, n_used):
    """Disjoint sets of ``n_used`` enrolment utterances (all of them for n_used = 1); the
    results are averaged over them."""
    if n_used >= n_available:
        return [tuple(range(n_available))]
    return [tuple(range(s, s + n_used)) for s in range(0, n_available - n_used + 1, n_used)]


def evaluate(corpus: pd.DataFrame | None = None, *, amounts: Sequence[int] = (1, 2, 4),
             ubm_components: int = 64, scratch_components: Sequence[int] = (2, 4, 8),
             relevance_factor: float = 16.0, top_c: int | None = 5, random_state: int = 0,
             features: Mapping[str, ArrayLike] | None = None) -> dict[str, Any]:
    """The GMM-UBM experiment: MAP adaptation against per-speaker mixtures from scratch.

    Parameters
    ----------
    corpus : pandas.DataFrame, default=None
        One row per utterance with columns ``path``, ``speaker`` and ``role`` (``"enrol"``,
        ``"test"`` or ``"background"``), as :func:`gaussmix.datasets.load_speakers` gives
        (the default).
    amounts : sequence of int, default=(1, 2, 4)
        Enrolment utterances per speaker. For each amount the speakers are enrolled on every
        disjoint set of that many of their enrolment utterances in turn, and the results pooled.
    ubm_components : int, default=64
        Components of the diagonal UBM, trained on the background speakers only.
    scratch_components : sequence of int, default=(2, 4, 8)
        Sizes of the from-scratch diagonal mixtures; each amount reports the size that did best
        on the test utterances (an optimistic baseline).
    relevance_factor, top_c : as in :func:`gaussmix.apps.speaker.enroll` and ``score``.
    random_state : int, default=0
    features : dict, default=None
        ``path -> features`` already extracted (else :func:`gaussmix.apps.speaker.file_features`
        with its defaults).

    Returns
    -------
    dict
        ``rows``: one dict per (amount, method) with ``method``, ``utterances``, ``seconds``
        (mean enrolment speech per speaker), ``accuracy``, ``eer`` and ``components``;
        ``scores``: ``(amount, method) -> (target scores, non-target scores)``; ``ubm``.
    """
    if corpus is None:
        from ..datasets import load_speakers

        corpus = load_speakers()
    if features is None:
        features = {p: file_features(p) for p in corpus["path"]}
    background = corpus[corpus["role"] == "background"]
    ubm = train_ubm([features[p] for p in background["path"]], ubm_components,
                            random_state=random_state)
    enrol = corpus[corpus["role"] == "enrol"]
    test = corpus[corpus["role"] == "test"]
    names = list(dict.fromkeys(enrol["speaker"]))
    by_speaker = {n: list(enrol.loc[enrol["speaker"] == n, "path"]) for n in names}
    test_features = [features[p] for p in test["path"]]
    truth = [names.index(s) for s in test["speaker"]]
    n_available = min(len(v) for v in by_speaker.values())
    rows, scores = [], {}
    for amount in amounts:
        sets = _enrolment_sets(n_available, amount)
        results: dict[str | int, list[Any]] = {"MAP": [], **{k: [] for k in scratch_components}}
        seconds = []
        for chosen in sets:
            frames = {n: np.vstack([features[by_speaker[n][i]] for i in chosen]) for n in names}
            seconds += [len(f) / 100 for f in frames.values()]
            maps = {n: enroll(ubm, f, relevance_factor=relevance_factor)
                    for n, f in frames.items()}
            results["MAP"].append(_errors(score_matrix(maps, ubm, test_features, top_c=top_c),
                                          truth))
            for k in scratch_components:
                scratch = {n: _scratch_model(f, k, random_state) for n, f in frames.items()}
                matrix = score_matrix(scratch, ubm, test_features, top_c=None)
                results[k].append(_errors(matrix, truth))
        pooled = {key: _pool(value) for key, value in results.items()}
        best = max(scratch_components, key=lambda k: (pooled[k][0], -pooled[k][1]))
        for method, key, size in (("MAP", "MAP", ubm_components),
                                  ("scratch", best, best)):
            accuracy, eer, target, nontarget = pooled[key]
            rows.append({"method": method, "utterances": amount, "components": size,
                         "seconds": float(np.mean(seconds)), "accuracy": accuracy, "eer": eer})
            scores[amount, method] = (target, nontarget)
    return {"rows": rows, "scores": scores, "ubm": ubm}


def _scratch_model(frames, n_components, random_state):
    k = min(n_components, len(frames) // 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small data: convergence warnings are expected
        return GaussianMixture(k, covariance_type="diag", reg_covar=1e-3, max_iter=200,
                               random_state=random_state).fit(frames)


def _pool(results):
    """Mean accuracy over enrolment sets; EER of the pooled trials."""
    accuracy = float(np.mean([r[0] for r in results]))
    target = np.concatenate([r[1] for r in results])
    nontarget = np.concatenate([r[2] for r in results])
    return accuracy, equal_error_rate(target, nontarget)[0], target, nontarget

