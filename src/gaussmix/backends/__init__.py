"""Adapters for data that lives outside this process's memory.

A backend only says how chunks of rows are produced and how their sufficient statistics are
reduced; the E-step and M-step are always those of :mod:`gaussmix._stats`. Backends are imported
lazily, so their optional dependencies (Dask) are needed only when such data is passed.

* :mod:`gaussmix.backends.dask`: ``dask.array.Array`` input (``pip install gaussmix[dask]``).

Memory-mapped NumPy arrays need no adapter beyond validation; see :mod:`gaussmix._stream`.
"""
