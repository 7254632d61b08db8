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

Noise ceiling (:func:`split_half_delta`, :func:`noise_ceiling`): how well the held-out cells
predict themselves. Two random halves of the held-out perturbed cells, each with its own random
half of the control cells, give two observed changes; their Pearson r over genes is the split-half
``pearson_delta`` (the split-half noise ceiling of perturbation benchmarks such as the Virtual Cell
Challenge; Roohani et al. 2025, Cell, github.com/ArcInstitute/cell-eval). Each half
has half the cells, so the Spearman-Brown formula (Spearman 1910; Brown 1910) turns it into the
reliability of the whole held-out set, and a prediction equal to the true mean change would score
its square root in expectation (the standard noise ceiling of a correlation with a noisy truth).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..errors import DataValidationError

__all__ = ["METRICS", "per_unit", "weighted_mean", "de_score", "split_half_delta", "noise_ceiling", "N_DE",
           "N_DE_DELTA"]

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


def split_half_delta(final: np.ndarray, initial: np.ndarray, *, n_splits: int = 20, seed=0) -> np.ndarray:
    """Split-half ``pearson_delta`` of one held-out unit: how well half of its cells predict the other half.

    For each of ``n_splits`` random splits, the perturbed cells are split into halves A and B and the
    control cells into halves C and D (sizes differ by at most one); the value is the Pearson r over
    genes of ``mean(A) - mean(C)`` and ``mean(B) - mean(D)``. The controls are split too because the
    observed change of the truth carries the control cells' sampling noise as well (split-half noise
    ceilings as in the Virtual Cell Challenge; Roohani et al. 2025, Cell).

    Parameters
    ----------
    final : ndarray, shape (n_perturbed, n_genes)
        The unit's perturbed cells (e.g. log1p CP10k); at least 2.
    initial : ndarray, shape (n_control, n_genes)
        Its control cells on the same scale; at least 2.
    n_splits : int
        Number of random splits.
    seed : int or sequence of int
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    ndarray of shape (n_splits,)
        The split-half r of each split (0 where a half's change is constant over genes).

    Raises
    ------
    grnbench.errors.DataValidationError
        With fewer than 2 perturbed or control cells, different gene counts, or non-finite values.
    """
    final = np.asarray(final, dtype=np.float64)
    initial = np.asarray(initial, dtype=np.float64)
    if final.ndim != 2 or initial.ndim != 2 or final.shape[1] != initial.shape[1]:
        raise DataValidationError(f"split-half ceiling: perturbed cells {final.shape} and controls {initial.shape} "
                                  "need the same genes")
    if len(final) < 2 or len(initial) < 2:
        raise DataValidationError(f"split-half ceiling: needs at least 2 perturbed and 2 control cells; got "
                                  f"{len(final)} and {len(initial)}")
    if not (np.isfinite(final).all() and np.isfinite(initial).all()):
        raise DataValidationError("split-half ceiling: cells contain NaN or infinite values")
    rng = np.random.default_rng(seed)
    a, b = np.empty((n_splits, final.shape[1])), np.empty((n_splits, final.shape[1]))
    for s in range(n_splits):
        pf, pc = rng.permutation(len(final)), rng.permutation(len(initial))
        hf, hc = len(final) // 2, len(initial) // 2
        a[s] = final[pf[:hf]].mean(axis=0) - initial[pc[:hc]].mean(axis=0)
        b[s] = final[pf[hf:]].mean(axis=0) - initial[pc[hc:]].mean(axis=0)
    return _rowcorr(a, b)


def noise_ceiling(split_half_r) -> np.ndarray:
    """The ``pearson_delta`` a perfect prediction would reach, from split-half r.

    Spearman-Brown (Spearman 1910, doi:10.1111/j.2044-8295.1910.tb00206.x; Brown 1910,
    doi:10.1111/j.2044-8295.1910.tb00207.x) gives the reliability of the whole held-out set,
    ``rho = 2 r / (1 + r)``; the correlation of the true mean change with the observed one is
    ``sqrt(rho)``. Split-half r <= 0 gives 0.

    Parameters
    ----------
    split_half_r : float or array-like
        Split-half r (:func:`split_half_delta`), in [-1, 1].

    Returns
    -------
    ndarray
        Ceiling in [0, 1], the shape of the input.
    """
    r = np.clip(np.asarray(split_half_r, dtype=np.float64), 0.0, 1.0)
    return np.sqrt(2 * r / (1 + r))
