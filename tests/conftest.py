import numpy as np
import pytest

import cavitykit


@pytest.fixture(scope="session", autouse=True)
def warm_numba_kernels():
    """Compile every cumulant kernel once, so no single test pays for it."""
    x = np.random.default_rng(0).standard_normal((64, 3))
    for dtype in (np.float64, np.float32):
        cavitykit.kstats(x.astype(dtype), 4)
        cavitykit.kstats(x.astype(dtype), 8)
        cavitykit.kstats(x.astype(dtype), 8, nan_policy="omit")
    cavitykit.joint_kstats(x, x, 4)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
