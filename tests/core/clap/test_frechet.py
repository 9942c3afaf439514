"""Fréchet distance: the closed form for two Gaussians, and the sample estimate converging to it."""

from __future__ import annotations

import numpy as np
import pytest

from core.clap.frechet import frechet_distance, frechet_from_stats, gaussian_stats
from core.errors import InvalidParameterError


def _trace_sqrt_2x2(m: np.ndarray) -> float:
    """tr(sqrt(M)) for a 2x2 matrix with positive eigenvalues: sqrt(tr M + 2 sqrt(det M))."""
    return float(np.sqrt(np.trace(m) + 2 * np.sqrt(np.linalg.det(m))))


def test_closed_form_two_gaussians_non_commuting_covariances():
    mu1, mu2 = np.array([1.0, -2.0]), np.array([0.5, 1.0])
    s1 = np.array([[2.0, 0.6], [0.6, 1.0]])
    s2 = np.array([[0.5, -0.2], [-0.2, 1.5]])
    expected = float((mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * _trace_sqrt_2x2(s1 @ s2))
    assert frechet_from_stats(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)


def test_closed_form_diagonal_and_identical():
    mu1, mu2 = np.zeros(3), np.array([3.0, 0.0, 4.0])
    v1, v2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 1.0])
    expected = 25.0 + float(np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2))
    assert frechet_from_stats(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(expected, rel=1e-9)
    assert frechet_from_stats(mu1, np.diag(v1), mu1, np.diag(v1)) == pytest.approx(0.0, abs=1e-9)


def test_sample_estimate_approaches_closed_form():
    rng = np.random.default_rng(0)
    mu1, mu2 = np.array([1.0, -2.0]), np.array([0.5, 1.0])
    s1 = np.array([[2.0, 0.6], [0.6, 1.0]])
    s2 = np.array([[0.5, -0.2], [-0.2, 1.5]])
    a = rng.multivariate_normal(mu1, s1, size=200_000)
    b = rng.multivariate_normal(mu2, s2, size=200_000)
    expected = float((mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * _trace_sqrt_2x2(s1 @ s2))
    assert frechet_distance(a, b) == pytest.approx(expected, abs=0.05)


def test_too_few_clips_is_a_sentence():
    with pytest.raises(InvalidParameterError, match="at least 2"):
        gaussian_stats(np.zeros((1, 4)))


def test_more_dimensions_than_clips_stays_finite():
    rng = np.random.default_rng(1)
    assert np.isfinite(frechet_distance(rng.standard_normal((3, 16)), rng.standard_normal((4, 16))))
