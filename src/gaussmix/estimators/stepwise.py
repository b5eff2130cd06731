"""``partial_fit``: stepwise (online) EM over mini-batches, for any estimator of the driver.

Each call runs the E-step on its batch with the current state, blends the batch's per-sample
statistics into running statistics (:func:`gaussmix.backends.stream.blend`) and runs the
estimator's own M-step on them. An estimator that mixes this in supplies, besides the driver's
hooks, ``_running_statistics(state)``: statistics whose M-step gives back ``state`` (so that a
model fitted by ``fit`` or loaded from a file can go on learning), and the parameters
``learning_decay`` and ``learning_offset``.
"""

from __future__ import annotations

import numpy as np

from ..backends import is_dask_collection
from ..backends.memory import MEMORY
from ..backends.stream import StreamState, blend, step_size
from ..engine.estep import em_statistics, single_threaded_blas
from ..engine.validation import check_sample_weight, validate_numeric
from .sklearn_protocol import check_is_fitted, check_random_state, request_metadata


class StepwiseEM:
    """Mixin giving a :class:`~gaussmix.estimators.driver.BaseMixture` a ``partial_fit``."""

    def _running_statistics(self, state):
        raise NotImplementedError

    def set_partial_fit_request(self, **requests):
        """Whether ``partial_fit`` asks a meta-estimator for ``sample_weight`` (metadata
        routing); returns self."""
        return request_metadata(self, "partial_fit", requests)

    def _partial_fit(self, X, sample_weight):
        # Small matrices only (one batch, K factors): multi-threaded BLAS would only add latency.
        with single_threaded_blas():
            return self._stepwise_update(X, sample_weight)

    def _stepwise_update(self, X, sample_weight):
        self._check_hyperparameters()
        if is_dask_collection(X):
            raise TypeError(
                "partial_fit takes in-memory batches (NumPy arrays). For a Dask array call "
                "fit(X), which runs EM on the workers, or pass batches with X_batch.compute()."
            )
        stream = getattr(self, "_stream_state", None)
        if not hasattr(self, "means_"):
            X, sample_weight, _ = MEMORY.prepare(self, X, sample_weight, reset=True)
            self._check_initial_parameters(X.shape[1])
            dtype = X.dtype.type
            chunk = self._chunk_rows(X.shape[1], dtype)
            random_state = check_random_state(self.random_state)
            prepare_noise = getattr(self, "_prepare_noise", None)
            if prepare_noise is not None:  # a noise component spans the first batch's box
                self._check_noise_use()
                prepare_noise(X, sample_weight)
            state = self._initial_state(*self._start_rows(X, sample_weight), random_state,
                                        chunk)
            running, step = None, 0
        else:
            check_is_fitted(self, "means_")
            self._check_fitted_shapes(
                "partial_fit continues", f"Start a new {type(self).__name__} for the new settings."
            )
            X = validate_numeric(self, X, reset=False)
            sample_weight = check_sample_weight(sample_weight, X.shape[0], dtype=X.dtype)
            dtype = self.means_.dtype.type
            state = self._fitted_state()
            if stream is not None and stream.means is self.means_:
                running, step = stream.stats, stream.step
            else:  # fitted by fit (or changed since): its parameters count as one batch
                running = self._running_statistics(state)
                running.loglik = float(getattr(self, "lower_bound_", 0.0))
                if not np.isfinite(running.loglik):
                    running.loglik = 0.0
                step = 1
        kernel_dtype = np.result_type(X.dtype, dtype).type
        kernel = self._kernel(state, kernel_dtype)
        chunk = self._chunk_rows(X.shape[1], kernel_dtype)
        batch = em_statistics(X, sample_weight, kernel, chunk)
        rho = step_size(step, self.learning_decay, self.learning_offset)
        running = blend(running, batch, rho)
        state, lower_bound = self._m_step(running, state, dtype)
        self._store_state(state, dtype)
        self._stream_state = StreamState(running, step + 1, self.means_)
        self.n_iter_ = step + 1
        self.converged_ = False
        self.lower_bound_ = float(lower_bound)
        self.lower_bounds_ = []
        return self
