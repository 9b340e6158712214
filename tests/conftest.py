import pytest

import dmft


@pytest.fixture(scope="session")
def lr_solve():
    """Cached linear-regression solves keyed by their parameters."""
    cache = {}

    def solve(**params):
        key = tuple(sorted(params.items()))
        if key not in cache:
            cache[key] = dmft.solve("linear-regression", **params)
        return cache[key]

    return solve
