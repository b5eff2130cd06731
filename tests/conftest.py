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
