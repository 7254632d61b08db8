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
  equals ``pearson``²;
* ``pearson_delta_de100`` — ``pearson_delta`` on the unit's 100 most differentially expressed genes
  of the held-out truth, as scPerturBench scores PCC-delta (Wei, Wang, Gao, Liu et al. 2025, "Tips
  and solutions for generalizable single-cell perturbation response prediction gained from a
  systematic benchmark"; github.com/bm2-lab/scPerturBench, whose ``calPerformance.py`` ranks genes
  by the absolute Welch t statistic of the held-out perturbed vs control cells,
  ``scanpy.tl.rank_genes_groups(method="t-test")``). The genes are chosen *with* the answer, so a
  model is scored where the truth says the change is;
* ``pearson_delta_de100_train`` — the same with the 100 genes chosen from the training data only
  (the training perturbed vs control cells), which leaks nothing about the held-out unit.

The DE rankings are computed where the cells are (:func:`de_score`, called by the task's splits)
and travel in the truth array; units of one example (a knockout, a cell pair) rank by the absolute
change.

The statistic over units is the weighted mean of the per-unit values (bootstrap weights count how
often a unit was drawn).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import DataValidationError

__all__ = ["METRICS", "per_unit", "weighted_mean", "de_score", "N_DE", "N_DE_DELTA"]

#: Metric ids, in table order.
METRICS = ("mse", "pearson", "mse_de", "pearson_de", "pearson_delta", "r2_mean", "pearson_delta_de100",
           "pearson_delta_de100_train")
#: Number of top differentially expressed genes (GEARS' top-20 metrics).
N_DE = 20
#: Number of top differentially expressed genes of ``pearson_delta_de100`` (scPerturBench).
N_DE_DELTA = 100


def de_score(final: np.ndarray, initial: np.ndarray) -> np.ndarray:
    """How differentially expressed each gene is between perturbed and control samples.

    The absolute Welch t statistic of ``final`` vs ``initial`` when both have at least two rows
    (scanpy's ``rank_genes_groups(method="t-test")``, which scPerturBench uses to pick its top DE
    genes; computed with :func:`scipy.stats.ttest_ind`, ``equal_var=False``; genes constant in both
    groups score 0), else the absolute difference of the means.

    Parameters
    ----------
    final : ndarray, shape (n_perturbed, n_genes)
        Perturbed (final-state) samples, e.g. log1p CP10k.
    initial : ndarray, shape (n_control, n_genes)
        Control (initial-state) samples on the same scale; NaN marks an unmeasured value and is
        left out of the means.

    Returns
    -------
    ndarray of shape (n_genes,)
        Non-negative scores; larger means more differentially expressed.

    Raises
    ------
    grnbench.errors.DataValidationError
        When the two have different numbers of genes or either has no rows.
    """
    from scipy import stats

    final = np.atleast_2d(np.asarray(final, dtype=np.float64))
    initial = np.atleast_2d(np.asarray(initial, dtype=np.float64))
    if final.shape[1] != initial.shape[1] or not len(final) or not len(initial):
        raise DataValidationError(f"DE score: perturbed samples {final.shape} and controls {initial.shape} need rows "
                                  "and the same genes")
    if len(final) >= 2 and len(initial) >= 2:
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # constant genes: scored 0 below
            t = stats.ttest_ind(final, initial, axis=0, equal_var=False, nan_policy="omit").statistic
        return np.nan_to_num(np.abs(np.asarray(t, dtype=np.float64)), nan=0.0)
    return np.nan_to_num(np.abs(np.nanmean(final, axis=0) - np.nanmean(initial, axis=0)), nan=0.0)


def _top(score: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-score, axis=1, kind="stable")[:, :k]


def _rowcorr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a ** 2).sum(axis=1) * (b ** 2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (a * b).sum(axis=1) / np.where(den > 0, den, 1), 0.0)


def per_unit(truth: np.ndarray, pred: np.ndarray, n_de: int = N_DE, n_de_delta: int = N_DE_DELTA
             ) -> dict[str, np.ndarray]:
    """Every metric for every unit.

    Parameters
    ----------
    truth : ndarray, shape (n_units, 4, n_genes) or (n_units, 2, n_genes)
        ``[:, 0]`` observed mean final state, ``[:, 1]`` control, ``[:, 2]`` the held-out DE score
        of each gene and ``[:, 3]`` the training DE score (:func:`de_score`; larger = more DE). With
        two channels the held-out ranking is the absolute change ``|obs - ctrl|`` and
        ``pearson_delta_de100_train`` is NaN.
    pred : ndarray, shape (n_units, n_genes)
        Predicted mean final state.
    n_de : int
        Top DE genes per unit (``mse_de``, ``pearson_de``; by absolute change, as in GEARS).
    n_de_delta : int
        Top DE genes per unit of the ``pearson_delta_de100`` pair.

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
    if truth.ndim != 3 or truth.shape[1] not in (2, 4) or pred.shape != (truth.shape[0], truth.shape[2]):
        raise DataValidationError(f"truth has shape {truth.shape} and predictions {pred.shape}; expected "
                                  "(n_units, 4, n_genes) or (n_units, 2, n_genes) and (n_units, n_genes)")
    if not (np.isfinite(truth).all() and np.isfinite(pred).all()):
        raise DataValidationError("truth or predictions contain NaN or infinite values")
    obs, ctrl = truth[:, 0], truth[:, 1]
    k = min(n_de, obs.shape[1])
    de = _top(np.abs(obs - ctrl), k)
    rows = np.arange(obs.shape[0])[:, None]
    r = _rowcorr(pred, obs)
    k100 = min(n_de_delta, obs.shape[1])
    de100 = _top(truth[:, 2] if truth.shape[1] == 4 else np.abs(obs - ctrl), k100)
    d_pred, d_obs = pred - ctrl, obs - ctrl
    if truth.shape[1] == 4:
        tr = _top(truth[:, 3], k100)
        de100_train = _rowcorr(d_pred[rows, tr], d_obs[rows, tr])
    else:
        de100_train = np.full(obs.shape[0], np.nan)
    return {
        "mse": ((pred - obs) ** 2).mean(axis=1),
        "pearson": r,
        "mse_de": ((pred[rows, de] - obs[rows, de]) ** 2).mean(axis=1),
        "pearson_de": _rowcorr(pred[rows, de], obs[rows, de]),
        "pearson_delta": _rowcorr(pred - ctrl, obs - ctrl),
        "r2_mean": r ** 2,
        "pearson_delta_de100": _rowcorr(d_pred[rows, de100], d_obs[rows, de100]),
        "pearson_delta_de100_train": de100_train,
    }


def weighted_mean(values: np.ndarray, weights=None) -> np.ndarray:
    """Mean of per-unit ``values`` (n_units,) under weights (n_units,) or (b, n_units) -> (b,)."""
    w = np.ones((1, len(values))) if weights is None else np.atleast_2d(np.asarray(weights, dtype=float))
    tot = w.sum(axis=1)
    return np.where(tot > 0, w @ values / np.where(tot > 0, tot, 1), np.nan)
