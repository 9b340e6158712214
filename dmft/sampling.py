"""Sampling of effective processes: Gaussian paths with a given covariance, and seeded common
random numbers.

A sampled DMFT draws its standard normals once per replica (``replica_generator``) and maps
them through the current covariance at every fixed-point sweep, so that the iteration is a
deterministic map and its convergence is judged without Monte Carlo noise (glm.md 4.2).
"""
from __future__ import annotations

import numpy as np


def gaussian_factor(cov: np.ndarray) -> tuple[np.ndarray, float]:
    """Symmetric square root F = V diag(sqrt(max(lambda, 0))) V^T of a covariance.

    Negative eigenvalues (round-off or Monte Carlo noise) are clipped to 0.  Returns F and the
    clipped fraction sum|lambda_-| / sum|lambda| (0 for a PSD matrix).  The symmetric root is a
    continuous function of ``cov`` (no dependence on eigenvector signs or order), so common
    random numbers stay effective from one sweep to the next.
    """
    eigenvalues, vectors = np.linalg.eigh(0.5 * (cov + cov.T))
    negative = eigenvalues < 0
    total = np.sum(np.abs(eigenvalues))
    clipped = float(np.sum(np.abs(eigenvalues[negative])) / total) if total > 0 else 0.0
    root = np.sqrt(np.where(negative, 0.0, eigenvalues))
    return (vectors * root) @ vectors.T, clipped


def replica_generator(seed: int, replica: int) -> np.random.Generator:
    """The generator of the common random numbers of one replica of a sampled solve."""
    return np.random.default_rng(np.random.SeedSequence([seed, replica]))
