import functools

import pytest

import dmft


@pytest.fixture(scope="session")
def cached_solve():
    """dmft.solve(model, **params), cached by model and parameters for the whole session."""
    cache = {}

    def solve(model, **params):
        key = (model, tuple(sorted(params.items())))
        if key not in cache:
            cache[key] = dmft.solve(model, **params)
        return cache[key]

    return solve


@pytest.fixture(scope="session")
def lr_solve(cached_solve):
    """Cached linear-regression solves keyed by their parameters."""
    return functools.partial(cached_solve, "linear-regression")
