"""Fréchet distance between two sets of embeddings, each summarised as a Gaussian (mean, covariance).

d^2 = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)), as in FID and in the Fréchet audio distance the
MusicGen / AudioGen papers report (here on CLAP audio embeddings). The matrix square root is scipy's `sqrtm`.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from core.errors import InvalidParameterError

EPS = 1e-6


def gaussian_stats(embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """embeddings [N, D] -> (mean [D], unbiased covariance [D, D]); N must be at least 2."""
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise InvalidParameterError(
            f"The Fréchet distance needs at least 2 clips in each set, got {x.shape[0] if x.ndim else 0}."
        )
    return x.mean(axis=0), np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])


def frechet_from_stats(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance (squared, as FID reports it) between N(mu1, sigma1) and N(mu2, sigma2)."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():  # singular product (fewer clips than dimensions): nudge the diagonal
        offset = np.eye(sigma1.shape[0]) * EPS
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    covmean = np.real(covmean)  # tiny imaginary parts are round-off
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between the Gaussians fitted to embedding sets a [N, D] and b [M, D]."""
    return frechet_from_stats(*gaussian_stats(a), *gaussian_stats(b))
