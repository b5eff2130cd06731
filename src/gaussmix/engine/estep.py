"""Running the E-step over rows: chunks, threads, and the statistics they add up to.

* :func:`kernel_for` prepares a covariance model's parameters for the E-step
  (:class:`~gaussmix.engine.kernel.Kernel`).
* :func:`em_statistics` runs the E-step over a block of rows, chunk by chunk (optionally on
  several threads), and returns :class:`~gaussmix.engine.stats.SuffStats`. Any array that
  supports row slicing works: in memory, memory-mapped, or one block of a Dask array.
* :class:`ResidentRows`: the same for rows that fit in one chunk, held loaded between EM
  iterations (small data: no chunk loop, no threads, no allocation an iteration can spare).
* :class:`StackedTerms`, :func:`stacked_terms` and :func:`terms_kernel`: the kernel of several
  mixtures on the same rows, stacked component after component (EM runs side by side).
* :func:`iter_e_step` yields responsibilities and log-densities chunk by chunk (prediction).
* :func:`resp_statistics` turns given responsibilities (a start) into statistics.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import groupby, pairwise

import numpy as np

from .kernel import Kernel
from .layout import Layout


def available_threads():
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def log_weights_of(weights):
    """``log(weights)`` in float64, ``-inf`` for an empty component (no warning)."""
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(weights, dtype=np.float64))


def kernel_for(model, log_weights, means, prec_chol, shift, dtype, far=(), track_entropy=False,
               density=None, background=None):
    """The E-step :class:`~gaussmix.engine.kernel.Kernel` of mixture parameters (float64) under
    covariance model ``model``, for rows of ``dtype`` centred on ``shift``.

    ``log_weights`` are the per-component log-weights (:func:`log_weights_of` for EM; a
    variational mixture adds its expected-log terms). ``density`` and ``background``: a
    component family's terms and a noise component's log-density (see
    :class:`~gaussmix.engine.kernel.Kernel`).
    """
    prec_chol = np.asarray(prec_chol, dtype=np.float64)
    n_features = np.shape(means)[1]
    return Kernel(
        model.family, log_weights, means, model.kernel_factor(prec_chol, n_features),
        model.log_det_cholesky(prec_chol, n_features), shift, dtype, far, track_entropy,
        density=density, background=background,
    )


@dataclass(frozen=True)
class StackedTerms:
    """The E-step terms of mixtures stacked component after component, from which
    :func:`terms_kernel` builds their kernel: per component the weight, the mean, the precision
    factor in the kernel ``family``'s layout (an upper triangular ``(D, D)`` matrix for
    ``'dense'``, ``(D,)`` for ``'diagonal'``), ``sum(log(diag L))`` and the variance per
    feature; and the number of components of each mixture, ``sizes``."""

    family: str
    weights: np.ndarray
    means: np.ndarray
    factor: np.ndarray
    log_det: np.ndarray
    variances: np.ndarray
    sizes: tuple

    def take(self, components, sizes):
        """The terms of the ``components`` (indices) alone, mixtures of ``sizes`` components."""
        return StackedTerms(self.family, *(part[components] for part in (
            self.weights, self.means, self.factor, self.log_det, self.variances)), tuple(sizes))


def terms_kernel(terms, shift, dtype, far=()):
    """The E-step :class:`~gaussmix.engine.kernel.Kernel` of the mixtures whose components'
    :class:`StackedTerms` are ``terms`` (each mixture normalised on its own)."""
    return Kernel(terms.family, log_weights_of(terms.weights), terms.means, terms.factor,
                  terms.log_det, shift, dtype, far, groups=terms.sizes,
                  variances=terms.variances)


def stacked_terms(models, terms):
    """The :class:`StackedTerms` of a batch of mixtures on the same rows: ``terms`` holds each
    mixture's :class:`~gaussmix.engine.state.KernelTerms` (float64) under its covariance model
    in ``models``; their components are stacked in that order.

    Mixtures of one kernel family other than the shared one take that family's layout; a
    shared covariance (different in each mixture) or a mix of families takes the dense one,
    each component with its own factor (diagonal ones as diagonal matrices).
    """
    families = {model.family for model in models}
    family = families.pop() if len(families) == 1 else "dense"
    family = "dense" if family == "shared" else family
    n_features = np.shape(terms[0].means)[1]
    sizes = tuple(len(t.weights) for t in terms)
    factors, log_dets, variances = [], [], []
    for model, group in groupby(zip(models, terms), key=lambda pair: pair[0]):
        group = [t for _, t in group]
        if model.shared:  # one (D, D) factor per mixture, repeated for each of its components
            k = [len(t.weights) for t in group]
            prec_chol = np.stack([t.prec_chol for t in group])
            factors.append(np.repeat(prec_chol, k, axis=0))
            log_dets.append(np.repeat(np.log(np.diagonal(prec_chol, axis1=1, axis2=2)).sum(1), k))
            covariances = np.stack([t.covariances for t in group])
            variances.append(np.repeat(np.diagonal(covariances, axis1=1, axis2=2), k, axis=0))
            continue
        prec_chol = np.concatenate([t.prec_chol for t in group])  # (runs * K, ...)
        factor = model.kernel_factor(prec_chol, n_features)
        if model.family == "diagonal" and family == "dense":
            factor = factor[:, :, None] * np.eye(n_features)
        factors.append(factor)
        log_dets.append(model.log_det_cholesky(prec_chol, n_features))
        variances.append(model.variances(np.concatenate([t.covariances for t in group]),
                                         len(factor),
                                         n_features))
    return StackedTerms(
        family, np.concatenate([t.weights for t in terms]),
        np.concatenate([t.means for t in terms]),
        np.concatenate(factors), np.concatenate(log_dets), np.concatenate(variances), sizes,
    )


def stacked_kernel(models, terms, shift, dtype, far=()):
    """One E-step :class:`~gaussmix.engine.kernel.Kernel` for a batch of mixtures on the same
    rows (see :func:`stacked_terms`), each mixture normalised on its own
    (``Kernel(groups=...)``). :func:`~gaussmix.engine.stats.components_of` and
    :func:`~gaussmix.engine.stats.split_groups` turn the moments back into each model's
    layout. ``far`` indexes the stacked components.
    """
    return terms_kernel(stacked_terms(models, terms), shift, dtype, far)


def whole_data_kernel(family, shift, dtype):
    """A one-component kernel whose statistics are the weighted moments of all rows: the mean
    and covariance of the data through any data path (responsibilities are all one)."""
    n_features = len(shift)
    factor = {
        "dense": np.eye(n_features)[None], "shared": np.eye(n_features),
        "diagonal": np.ones((1, n_features)),
    }[family]
    log_det = 0.0 if family == "shared" else np.zeros(1)
    shift = np.asarray(shift, dtype=np.float64)
    return Kernel(family, np.zeros(1), shift[None], factor, log_det, shift, dtype)


def iter_e_step(kernel, X, chunk_size):
    """Yield ``(start, stop, resp, log_norm)`` over chunks of ``X``.

    ``resp`` is an ``(n, K)`` view of a reused buffer: consume or copy it before the next step.
    """
    ws = kernel.workspace(min(chunk_size, max(X.shape[0], 1)))
    for start in range(0, X.shape[0], chunk_size):
        stop = min(start + chunk_size, X.shape[0])
        x = X[start:stop]
        with single_threaded_blas():
            incomplete = _incomplete_rows(kernel, x)
            if incomplete is None:
                resp, log_norm = kernel.e_step(ws, x)
                if kernel.background is not None:  # the noise component's column last
                    resp = np.vstack([resp, ws.background[None, : len(x)]])
                yield start, stop, resp.T, log_norm
                continue
            resp = np.empty((len(x), kernel.n_components), dtype=kernel.dtype)
            log_norm = np.empty(len(x), dtype=kernel.dtype)
            resp[incomplete], log_norm[incomplete] = kernel.incomplete_rows().e_step(x[incomplete])
            complete = ~incomplete
            if complete.any():
                part, part_norm = kernel.e_step(ws, x[complete])
                resp[complete], log_norm[complete] = part.T, part_norm
        yield start, stop, resp, log_norm


def _incomplete_rows(kernel, x):
    """The mask of ``x``'s rows holding NaN when the kernel scores such rows and there are any;
    else None (the chunk then takes the kernel unchanged)."""
    if not kernel.allow_missing:
        return None
    incomplete = np.isnan(x).any(axis=1)
    return incomplete if incomplete.any() else None


def _accumulate_chunk(kernel, acc, ws, n, resp, log_norm, w64, weight):
    """Add a chunk's E-step (its ``n`` rows in ``ws``, responsibilities ``resp`` and
    log-densities ``log_norm``) to ``acc``; returns its log-likelihood (one per mixture of a
    batch) and its responsibilities' entropy (0 unless the kernel tracks it). ``w64`` and
    ``weight``: the rows' weights in float64 and in the kernel's dtype, or ``None``."""
    entropy = 0.0
    if w64 is None:
        loglik = np.sum(log_norm, axis=-1, dtype=np.float64)
        if kernel.track_entropy:
            entropy = -float(np.sum(ws.plogp[:n], dtype=np.float64))
    else:
        loglik = log_norm.astype(np.float64) @ w64
        if kernel.track_entropy:
            entropy = -float(np.dot(w64, ws.plogp[:n].astype(np.float64)))
    kernel.accumulate(acc, ws, n, resp, weight)
    return loglik, entropy


def _em_block(X, sample_weight, kernel, chunk_size, start, stop, defer=False):
    """Statistics of rows ``start:stop``; with ``defer``, ``(statistics, held)`` where ``held``
    (a :class:`_HeldRows`) still holds the rows with missing values for the caller to merge."""
    acc = kernel.new_accumulator()
    loglik = entropy = 0.0
    ws = kernel.workspace(min(chunk_size, stop - start))
    held = _HeldRows(kernel, sample_weight is not None)  # rows with missing values
    for lo in range(start, stop, chunk_size):
        hi = min(lo + chunk_size, stop)
        x = X[lo:hi]
        w = None if sample_weight is None else sample_weight[lo:hi]
        incomplete = _incomplete_rows(kernel, x)
        if incomplete is not None:
            held.add(x[incomplete], None if w is None else w[incomplete])
            complete = ~incomplete
            x = x[complete]
            w = None if w is None else w[complete]
            if not len(x):
                continue
        n = len(x)
        resp, log_norm = kernel.e_step(ws, x, moments=True)
        w64 = None if w is None else np.asarray(w, dtype=np.float64)
        chunk_loglik, chunk_entropy = _accumulate_chunk(
            kernel, acc, ws, n, resp, log_norm, w64, None if w is None else w64.astype(kernel.dtype))
        loglik, entropy = loglik + chunk_loglik, entropy + chunk_entropy
    stats = kernel.statistics(acc, loglik)
    stats.entropy = entropy
    if defer:
        return stats, held
    return held.added_to(stats)


class _HeldRows:
    """Rows with missing values gathered over the chunks of a block, so that rows sharing a
    pattern share its factorisations however the chunks cut them; their statistics are taken
    every ``HELD_ROWS`` rows and at the end of the block."""

    HELD_ROWS = 65_536

    def __init__(self, kernel, weighted):
        self.kernel, self.weighted = kernel, weighted
        self.rows, self.weights, self.count, self.stats = [], [], 0, None

    def add(self, x, w):
        self.rows.append(np.array(x))
        self.weights.append(w)
        self.count += len(x)
        if self.count >= self.HELD_ROWS:
            self.flush()

    def merge(self, other):
        """Take over ``other``'s rows and statistics (blocks merged in order)."""
        self.rows += other.rows
        self.weights += other.weights
        self.count += other.count
        if other.stats is not None:
            self.stats = other.stats if self.stats is None else self.stats + other.stats

    def added_to(self, stats):
        """``stats`` plus the statistics of every row held."""
        self.flush()
        return stats if self.stats is None else stats + self.stats

    def flush(self):
        if not self.rows:
            return
        x = np.concatenate(self.rows)
        w = np.concatenate(self.weights) if self.weighted else None
        part = self.kernel.incomplete_rows().statistics(x, w)
        self.stats = part if self.stats is None else self.stats + part
        self.rows, self.weights, self.count = [], [], 0


_POOLS = {}
_BLAS = []


_LIMITED = threading.local()


@contextmanager
def single_threaded_blas():
    """Context manager limiting BLAS to one thread; nested uses cost nothing.

    The chunk GEMMs are small: a multi-threaded BLAS gains nothing on them and, when the cores are
    busy, its threads wait on each other for orders of magnitude longer than the work itself. The
    E-step gets its parallelism from :func:`em_statistics`' own threads instead. The limit is the
    BLAS library's, process-wide; inside one (``fit`` holds it for the whole fit) another is not
    set again, which saved ~10 us per EM iteration on small data.
    """
    if getattr(_LIMITED, "active", False):
        yield
        return
    if not _BLAS:
        from threadpoolctl import ThreadpoolController

        _BLAS.append(ThreadpoolController())
    with _BLAS[0].limit(limits=1, user_api="blas"):
        _LIMITED.active = True
        try:
            yield
        finally:
            _LIMITED.active = False


def _run_threaded(fn, tasks, n_threads):
    """Run ``fn(*task)`` on ``n_threads`` threads (the caller limits BLAS threads)."""
    pool = _POOLS.get(n_threads)
    if pool is None:
        pool = _POOLS[n_threads] = ThreadPoolExecutor(n_threads, thread_name_prefix="gaussmix")
    return list(pool.map(lambda task: fn(*task), tasks))


def em_statistics(X, sample_weight, kernel, chunk_size, n_threads=1):
    """E-step over all rows of ``X`` (any array supporting row slicing), chunk by chunk.

    With ``n_threads > 1`` the rows are split into that many contiguous blocks, each processed by
    its own thread (NumPy and single-threaded BLAS release the GIL), and the statistics are added
    in block order, so the result is deterministic for a given ``n_threads``.
    """
    n_samples = X.shape[0]
    n_blocks = min(int(n_threads), -(-n_samples // chunk_size))
    with single_threaded_blas():
        if n_blocks <= 1:
            return _em_block(X, sample_weight, kernel, chunk_size, 0, n_samples)
        chunks_per_block = -(-n_samples // chunk_size) // n_blocks
        edges = [min(i * chunks_per_block * chunk_size, n_samples) for i in range(n_blocks)]
        edges.append(n_samples)
        tasks = [(X, sample_weight, kernel, chunk_size, a, b, True) for a, b in pairwise(edges)]
        parts = _run_threaded(_em_block, tasks, n_blocks)
        # rows with missing values from every block together: one pass per pattern
        total, held = parts[0]
        for part, more in parts[1:]:
            total += part
            held.merge(more)
        return held.added_to(total)


class ResidentRows:
    """The rows of one small data set held loaded in kernel workspaces between EM iterations.

    :meth:`statistics` is :func:`em_statistics` for these rows (and has its signature, so that
    it serves as a data path's ``statistics``) when they fit in one chunk: the rows are
    centred, and their outer products (dense kernels) or squares (diagonal ones) taken, once
    per kernel shape and shift, and every buffer is kept, so an iteration runs the kernel's
    arithmetic and nothing else. Rows with missing values are not held (the kernel of an
    estimator that scores them goes through :func:`em_statistics`).

    Examples
    --------
    >>> import numpy as np
    >>> import gaussmix as gm
    >>> from gaussmix.engine.estep import ResidentRows, em_statistics
    >>> X = gm.datasets.load_iris()
    >>> model = gm.GaussianMixture(3, random_state=0).fit(X)
    >>> kernel = model._kernel(model._fitted_state(), X.dtype)
    >>> resident = ResidentRows(X, None)
    >>> held = resident.statistics(X, None, kernel)
    >>> bool(np.allclose(held.s2, em_statistics(X, None, kernel, 4096).s2))
    True
    """

    def __init__(self, X, sample_weight):
        self.X = X
        self._w64 = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        self._weights = {}  # the weights in each kernel dtype
        self._spaces = {}  # a workspace per kernel shape, with the shift its rows are loaded on

    def statistics(self, X=None, sample_weight=None, kernel=None, chunk_size=None, n_threads=1):
        """Summed :class:`~gaussmix.engine.stats.SuffStats` of ``kernel`` over the held rows
        (``X``, ``sample_weight``, ``chunk_size`` and ``n_threads`` are those of
        :func:`em_statistics`' signature, and ignored)."""
        if kernel.allow_missing:
            return em_statistics(self.X, self._w64, kernel, max(1, self.X.shape[0]))
        n = self.X.shape[0]
        key = (kernel.family, kernel.dtype, kernel.n_components, len(kernel.far),
               len(kernel.whitened), kernel.track_entropy, kernel.density is not None,
               kernel.background is not None)
        held = self._spaces.get(key)
        if held is None or not np.array_equal(held[0], kernel.shift):
            ws = held[1] if held is not None else kernel.workspace(n)
            kernel.load(ws, self.X, moments=True)
            self._spaces[key] = held = (kernel.shift, ws)
        ws = held[1]
        resp, log_norm = kernel.e_step_loaded(ws, n)
        weight = None
        if self._w64 is not None:
            weight = self._weights.get(kernel.dtype)
            if weight is None:
                weight = self._weights[kernel.dtype] = self._w64.astype(kernel.dtype)
        acc = kernel.new_accumulator()
        loglik, entropy = _accumulate_chunk(kernel, acc, ws, n, resp, log_norm, self._w64,
                                            weight)
        stats = kernel.statistics(acc, loglik)
        stats.entropy = entropy
        return stats


def resident_rows(X, sample_weight, statistics, chunk_size, n_components=1):
    """A :class:`ResidentRows` statistics function for ``X`` when its statistics are
    :func:`em_statistics`' (in memory or memory-mapped) and its rows fit in one chunk of
    ``chunk_size`` or, with their outer products and the log-probabilities of
    ``n_components``, in ``RESIDENT_BYTES``; else ``statistics`` itself."""
    if statistics not in (None, em_statistics):
        return statistics
    d = X.shape[1]
    held = X.shape[0] * (d * (d + 1) // 2 + d + 1 + n_components) * X.dtype.itemsize
    if X.shape[0] > chunk_size and held > RESIDENT_BYTES:
        return statistics
    return ResidentRows(X, sample_weight).statistics


# Rows held with their kernel buffers in at most this many bytes stay loaded (ResidentRows)
# even when they span more than one cache-sized chunk (a batch of hundreds of EM runs on a few
# hundred rows); the bound keeps a fit's memory independent of the number of rows.
RESIDENT_BYTES = 8 * 1024 * 1024


def resp_statistics(X, sample_weight, resp_chunks, n_components, family, shift, dtype):
    """Statistics from given responsibilities; ``resp_chunks`` yields ``(start, stop, resp)``
    with ``resp`` of shape ``(n, K)``.

    ``stop`` may be ``None``, in which case ``start`` is an array of row indices.
    """
    layout = Layout(n_components, X.shape[1], family, shift, dtype)
    acc = layout.new_accumulator()
    ws = None
    for start, stop, resp in resp_chunks:
        rows = start if stop is None else slice(start, stop)  # an index array, or a row range
        x = X[rows]
        if ws is None or ws.F.shape[1] < len(x):
            ws = layout.workspace(len(x))
        n = layout.load(ws, x, moments=True)
        resp_t = np.array(np.asarray(resp).T, dtype=dtype)
        w = None if sample_weight is None else np.asarray(sample_weight[rows]).astype(dtype)
        layout.accumulate(acc, ws, n, resp_t, w)
    return layout.statistics(acc)
