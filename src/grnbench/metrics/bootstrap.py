"""Bootstrap confidence intervals over test samples with :func:`scipy.stats.bootstrap`.

Cells (or pairs, conditions) are resampled with replacement. Instead of copying the data
for every resample, each resample is turned into a vector of counts (how often each sample
was drawn) and passed to metric functions as ``weights`` — for metrics that are sums over
samples this is exactly the metric of the resampled data, and it lets one batch of
resamples be scored with a few matrix products.

Efron B, Tibshirani RJ. *An Introduction to the Bootstrap* (1993); BCa intervals as
implemented in SciPy (Virtanen et al. 2020, doi:10.1038/s41592-019-0686-2).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["BootstrapResult", "bootstrap_weights_ci", "counts_from_indices", "metric_matrix"]


@dataclass(frozen=True)
class BootstrapResult:
    """Point estimates and percentile confidence bounds, one entry per statistic."""

    value: np.ndarray
    low: np.ndarray
    high: np.ndarray


def counts_from_indices(idx: np.ndarray, n: int) -> np.ndarray:
    """Turn resampled indices into per-sample counts.

    Parameters
    ----------
    idx : ndarray of int, shape (n_boot, m) or (m,)
        Indices drawn from ``range(n)``.
    n : int
        Number of samples.

    Returns
    -------
    ndarray of float, shape (n_boot, n) (or (n,) for 1-D input)
    """
    idx = np.asarray(idx, dtype=np.int64)
    flat = np.atleast_2d(idx)
    offsets = (np.arange(flat.shape[0]) * n)[:, None]
    counts = np.bincount((flat + offsets).ravel(), minlength=flat.shape[0] * n).reshape(flat.shape[0], n)
    return counts[0].astype(float) if idx.ndim == 1 else counts.astype(float)


def bootstrap_weights_ci(
    statistic: Callable[[np.ndarray], np.ndarray],
    n: int,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    batch: int = 200,
    method: str = "BCa",
) -> BootstrapResult:
    """Bootstrap CI of one or several statistics that accept sample weights.

    Parameters
    ----------
    statistic : callable
        ``statistic(weights) -> ndarray``: ``weights`` has shape ``(n_boot, n)``; the
        result has shape ``(n_boot,)`` for one statistic or ``(n_boot, k)`` for ``k``.
    n : int
        Number of test samples that are resampled.
    n_resamples : int
        Bootstrap resamples.
    confidence : float
        Confidence level (0.95 for 95% intervals).
    seed : int
        Seed of the resampling; equal seeds give equal intervals.
    batch : int
        Resamples scored per call (memory: ``batch x n`` weights).
    method : {"BCa", "percentile", "basic"}
        Interval method of :func:`scipy.stats.bootstrap`. BCa (bias-corrected and
        accelerated) is the default: R² on a resample is biased (the per-gene means move
        with the resample), and plain percentile intervals can then exclude the point
        estimate.

    Returns
    -------
    BootstrapResult
        ``value``, ``low``, ``high`` of shape ``(k,)`` (``k = 1`` for a single statistic).

    Raises
    ------
    ValueError
        If ``n < 2`` (no resampling possible).
    """
    if n < 2:
        raise ValueError(f"bootstrap needs at least 2 test samples, got {n}")

    def _stat(idx, axis=-1):
        single = np.ndim(idx) == 1
        w = counts_from_indices(idx, n)
        out = np.asarray(statistic(np.atleast_2d(w)), dtype=float)
        out = out.reshape(out.shape[0], -1)  # (b, k)
        return out[0] if single else out.T  # scipy wants the batch on the last axis

    with warnings.catch_warnings():
        # a constant bootstrap distribution (e.g. every test cell classified correctly) has no BCa
        # interval; scipy warns and returns NaN, handled below
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
        res = stats.bootstrap(
            (np.arange(n),),
            _stat,
            vectorized=True,
            n_resamples=n_resamples,
            confidence_level=confidence,
            method=method,
            batch=batch,
            rng=np.random.default_rng(seed),
        )
    value = np.asarray(statistic(np.ones((1, n))), dtype=float).reshape(1, -1)[0]
    low = np.atleast_1d(np.asarray(res.confidence_interval.low, dtype=float)).copy()
    high = np.atleast_1d(np.asarray(res.confidence_interval.high, dtype=float)).copy()
    dist = np.asarray(res.bootstrap_distribution, dtype=float).reshape(len(value), -1)
    constant = np.all(dist == dist[:, :1], axis=1)  # the interval of a constant distribution is that constant
    low[constant] = high[constant] = dist[constant, 0]
    return BootstrapResult(value=value, low=low, high=high)


def metric_matrix(funcs: Sequence[Callable], y_true, preds: Sequence[np.ndarray]) -> Callable:
    """Build a weighted statistic: every metric, averaged over several predictions (seeds).

    Metrics that accept ``reference`` (the R² metrics) get the full ``y_true``, so resamples
    are scored against the test set's gene means and variances (see
    :mod:`grnbench.metrics.regression`).

    Parameters
    ----------
    funcs : sequence of callables
        Metric functions ``f(y_true, y_pred, weights[, reference])``.
    y_true : ndarray, shape (n, g)
    preds : sequence of ndarray, shape (n, g)
        Predictions of one model from several seeds; the statistic is the mean over seeds.

    Returns
    -------
    callable
        ``statistic(weights (b, n)) -> (b, len(funcs))``.
    """
    y_true = np.asarray(y_true, dtype=np.float64)
    kwargs = [{"reference": y_true} if "reference" in inspect.signature(f).parameters else {} for f in funcs]

    def statistic(w):
        return np.stack([np.mean([f(y_true, p, w, **kw) for p in preds], axis=0) for f, kw in zip(funcs, kwargs)],
                        axis=-1)

    return statistic
