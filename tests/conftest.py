import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

SEED = 20261125
print(f"gaussmix tests: fixed seed {SEED}")


def pytest_report_header(config):
    return f"gaussmix tests: fixed seed {SEED} (tests derive every random stream from it)"


@pytest.fixture
def rng():
    """A fresh generator from the fixed, printed seed: every test sees the same stream."""
    return np.random.default_rng(SEED)


@pytest.fixture
def single_blas_thread():
    """Run with one BLAS thread: on a busy machine OpenBLAS's thread wake-ups make each tiny
    LAPACK call (a 3 x 3 triangular solve) take ~15 ms instead of ~15 us."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        yield
