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


# Property-based tests (hypothesis): a bounded, reproducible number of examples in CI;
# HYPOTHESIS_PROFILE=thorough tries many more.
try:
    from hypothesis import HealthCheck, settings
except ImportError:  # the property tests import hypothesis themselves and say so
    pass
else:
    _slow = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
             HealthCheck.function_scoped_fixture]
    settings.register_profile("ci", max_examples=30, deadline=None, derandomize=True,
                              suppress_health_check=_slow, print_blob=True)
    settings.register_profile("thorough", max_examples=1000, deadline=None,
                              suppress_health_check=_slow)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium through chromedriver, for the explorer's browser tests (which skip
    themselves where Debian's chromium is missing: :data:`_helpers.NEEDS_CHROMIUM`)."""
    from gaussmix.apps.explore.headless import chromium

    driver = chromium(tmp_path_factory.mktemp("chromium-profile"))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()
