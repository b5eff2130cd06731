"""Weighted log-probabilities turned into responsibilities, in place, without subnormal numbers."""

from __future__ import annotations

from itertools import groupby

import numpy as np


def normalize_inplace(log_prob, shifted=None, plogp=None):
    """Turn weighted log-probabilities ``(K, n)`` into responsibilities in place.

    Returns the log-sum-exp over components of each column (the row's log-likelihood). An
    ``(S, K, n)`` array holds ``S`` mixtures side by side (a batch of EM runs on the same rows)
    and gives ``(S, n)``: each mixture is normalised on its own. Given
    buffers ``shifted`` ``(K, n)`` and ``plogp`` ``(n,)`` (two-dimensional ``log_prob`` only),
    also fills ``plogp`` with each row's
    ``sum_k r log r = sum_k e^s s / total - log(total)`` for the shifted, floored
    log-probabilities ``s`` (no logarithm per entry; one extra pass).
    """
    top = log_prob.max(axis=-2, keepdims=True)
    lost = None
    if not np.isfinite(top).all():  # every component -inf: the row has zero density
        lost = ~np.isfinite(top)
        top[lost] = 0.0
    log_prob -= top
    # exp() below ~-708 (float64) or ~-87 (float32) gives subnormal numbers, and arithmetic on
    # them is microcoded: the statistics GEMM ran twice as slow on well-separated clusters.
    # Responsibilities this small (< 1e-307 resp. 1e-37) are rounding noise next to 1 anyway.
    np.maximum(log_prob, _exp_floor(log_prob.dtype), out=log_prob)
    if plogp is None:
        np.exp(log_prob, out=log_prob)
        total = log_prob.sum(axis=-2, keepdims=True)
        log_prob /= total
        log_norm = np.log(total, out=total)
    else:  # the exponentials go to `shifted`, so that sum_k e^s s needs no copy of s
        np.exp(log_prob, out=shifted)
        total = shifted.sum(axis=0, keepdims=True)
        np.einsum("kn,kn->n", shifted, log_prob, out=plogp)
        np.divide(shifted, total, out=log_prob)
        plogp /= total[0]
        log_norm = np.log(total, out=total)
        plogp -= log_norm[0]
    log_norm += top
    if lost is not None:
        log_norm[lost] = -np.inf
    return log_norm[..., 0, :]


def normalize_groups(log_prob, blocks):
    """:func:`normalize_inplace` of mixtures of different numbers of components stacked one after
    the other along the first axis of ``log_prob`` ``(K, n)``; returns ``(n_mixtures, n)``, each
    mixture normalised on its own. ``blocks`` (see :func:`size_blocks`) holds ``(first row,
    mixtures, components each)`` of each run of consecutive mixtures of one size: each block is
    normalised as equal mixtures reshaped to ``(S, K, n)``, the same arithmetic as one mixture
    alone (numpy's ``reduceat`` over many small groups is ten times slower)."""
    n = log_prob.shape[1]
    parts = [normalize_inplace(log_prob[first : first + count * size].reshape(count, size, n))
             for first, count, size in blocks]
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def size_blocks(sizes):
    """``(first row, mixtures, components each)`` of each run of consecutive equal ``sizes``
    (numbers of components of stacked mixtures), for :func:`normalize_groups`."""
    blocks, first = [], 0
    for size, run in groupby(sizes):
        count = len(list(run))
        blocks.append((first, count, int(size)))
        first += count * int(size)
    return tuple(blocks)


def _exp_floor(dtype):
    """Smallest argument whose exp() is a normal (not subnormal) number of ``dtype``."""
    floor = _EXP_FLOOR.get(dtype)
    if floor is None:
        floor = _EXP_FLOOR[dtype] = dtype.type(np.log(np.finfo(dtype).tiny) + 1.0)
    return floor


_EXP_FLOOR = {}
