"""Scores of predicted perturbation responses, per test unit, averaged over units with weights.

A test unit has an observed mean final state ``obs``, a control (mean initial state) ``ctrl`` and
a predicted mean final state ``pred`` (each of shape (n_genes,)). Per unit:

* ``mse`` — mean over genes of (pred - obs)²; ``pearson`` — Pearson r over genes of pred and obs
  (GEARS, Roohani et al. 2024, doi:10.1038/s41587-023-01905-6);
* ``mse_de``, ``pearson_de`` — the same on the unit's top-20 differentially expressed genes, the
  20 largest |obs - ctrl| (GEARS' top-20 DE metrics; the DE ranking here is by absolute mean change);
* ``pearson_delta`` — Pearson r of (pred - ctrl) and (obs - ctrl) over genes (Ahlmann-Eltze et al.
  2025, doi:10.1038/s41592-025-02772-6); a prediction with no change from the control has no
  correlation and scores 0;
* ``r2_mean`` — squared Pearson r of the predicted and observed mean expression over genes, scGen's
  figure (Lotfollahi et al. 2019, doi:10.1038/s41592-019-0494-8); for a unit of one example it
  equals ``pearson``².

The statistic over units is the weighted mean of the per-unit values (bootstrap weights count how
often a unit was drawn).
"""

from __future__ import annotations

import numpy as np

from ..errors import DataValidationError

__all__ = ["METRICS", "per_unit", "weighted_mean", "N_DE"]

#: Metric ids, in table order.
METRICS = ("mse", "pearson", "mse_de", "pearson_de", "pearson_delta", "r2_mean")
#: Number of top differentially expressed genes.
N_DE = 20


def _rowcorr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a ** 2).sum(axis=1) * (b ** 2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a * b).sum(axis=1) / np.where(den > 0, den, 1), 0.0)


def per_unit(truth: np.ndarray, pred: np.ndarray, n_de: int = N_DE) -> dict[str, np.ndarray]:
    """Every metric for every unit.

    Parameters
    ----------
    truth : ndarray, shape (n_units, 2, n_genes)
        ``[:, 0]`` observed mean final state, ``[:, 1]`` control.
    pred : ndarray, shape (n_units, n_genes)
        Predicted mean final state.
    n_de : int
        Top DE genes per unit.

    Returns
    -------
    dict of str -> ndarray of shape (n_units,)

    Raises
    ------
    grnbench.errors.DataValidationError
        For mismatched shapes or non-finite values.
    """
    truth = np.asarray(truth, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    if truth.ndim != 3 or truth.shape[1] != 2 or pred.shape != (truth.shape[0], truth.shape[2]):
        raise DataValidationError(f"truth has shape {truth.shape} and predictions {pred.shape}; expected "
                                  "(n_units, 2, n_genes) and (n_units, n_genes)")
    if not (np.isfinite(truth).all() and np.isfinite(pred).all()):
        raise DataValidationError("truth or predictions contain NaN or infinite values")
    obs, ctrl = truth[:, 0], truth[:, 1]
    k = min(n_de, obs.shape[1])
    de = np.argsort(-np.abs(obs - ctrl), axis=1, kind="stable")[:, :k]
    rows = np.arange(obs.shape[0])[:, None]
    r = _rowcorr(pred, obs)
    return {
        "mse": ((pred - obs) ** 2).mean(axis=1),
        "pearson": r,
        "mse_de": ((pred[rows, de] - obs[rows, de]) ** 2).mean(axis=1),
        "pearson_de": _rowcorr(pred[rows, de], obs[rows, de]),
        "pearson_delta": _rowcorr(pred - ctrl, obs - ctrl),
        "r2_mean": r ** 2,
    }


def weighted_mean(values: np.ndarray, weights=None) -> np.ndarray:
    """Mean of per-unit ``values`` (n_units,) under weights (n_units,) or (b, n_units) -> (b,)."""
    w = np.ones((1, len(values))) if weights is None else np.atleast_2d(np.asarray(weights, dtype=float))
    tot = w.sum(axis=1)
    return np.where(tot > 0, w @ values / np.where(tot > 0, tot, 1), np.nan)
