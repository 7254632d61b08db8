"""Regression metrics for expression prediction (pure array functions).

All functions take ``y_true`` and ``y_pred`` of shape ``(n_cells, n_genes)`` on the same
scale as the data (log-scale expression, see ``AnnData.uns['scale']``) and an optional
``weights`` argument:

* ``None`` — every cell counts once; returns a float.
* shape ``(n_cells,)`` — non-negative cell weights (e.g. bootstrap counts); returns a float.
* shape ``(n_boot, n_cells)`` — a batch of weight vectors; returns an array ``(n_boot,)``.

Integer weights are equivalent to repeating cells, which is how
:mod:`grnbench.metrics.bootstrap` resamples cells without copying the matrices.

The R² metrics also take ``reference``: the full test matrix, which the bootstrap passes so
that resamples are scored against the test set's statistics instead of their own. With
``weights=None`` the value is unchanged; with weights

* ``r2_flat`` keeps the per-gene means of ``reference`` as the centre, so each resample
  rescales the same per-cell error and variance sums (a ratio estimator). Re-centring on every
  resample biases R² downwards by O(1/n) and, for a model that predicts the training mean,
  puts the whole bootstrap distribution below the estimate;
* ``r2_uniform`` keeps each gene's total variance from ``reference`` and resamples only the
  squared errors. A per-gene ratio is unusable under resampling: a gene detected in a
  handful of test cells gets a near-zero variance in resamples that miss them, and its R²
  (hence the mean over genes) explodes towards minus infinity.

Definitions (``i`` = cell, ``g`` = gene, ``ȳ_g`` = mean of gene g over the test cells):

* ``r2_flat`` — variance-weighted R², ``1 - Σ_ig (y-ŷ)² / Σ_ig (y-ȳ_g)²``; equal to
  ``sklearn.metrics.r2_score(..., multioutput='variance_weighted')``. It pools all
  target x cell entries, so high-variance genes weigh more. This is the "flattened R²" of
  the LEMBAS-RNN benchmark (Langridge 2026) computed with per-gene centring.
* ``r2_uniform`` — mean over genes of the per-gene R² (sklearn ``uniform_average``);
  a gene that is constant in the test cells scores 1 if predicted exactly, else 0
  (sklearn's ``force_finite`` convention).
* ``pearson_r`` — Pearson correlation of the flattened (pooled) entries. Because between-
  gene differences in mean expression are pooled in, predicting each gene's mean already
  scores high; read it next to ``r2_flat``.
* ``rmse``, ``mae`` — root-mean-squared and mean absolute error over all entries.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataValidationError

__all__ = ["r2_flat", "r2_uniform", "pearson_r", "rmse", "mae", "per_gene_r2", "prepare"]


def prepare(y_true, y_pred, weights=None):
    """Validate inputs and return float64 arrays and a 2-D weight batch.

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n_cells, n_genes) or (n_cells,)
        Observed and predicted expression.
    weights : array-like, shape (n_cells,) or (n_boot, n_cells), optional
        Non-negative cell weights.

    Returns
    -------
    y, p : ndarray, shape (n_cells, n_genes)
    w : ndarray, shape (n_boot, n_cells)
    batched : bool
        True if ``weights`` was 2-D (return an array, not a float).

    Raises
    ------
    grnbench.errors.DataValidationError
        If shapes differ, arrays are empty, values are NaN/Inf or weights are negative.
    """
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if p.ndim == 1:
        p = p[:, None]
    if y.shape != p.shape:
        raise DataValidationError(f"y_true has shape {y.shape} but y_pred has shape {p.shape}")
    if y.size == 0:
        raise DataValidationError("empty arrays: no cells or genes to score")
    if not (np.isfinite(y).all() and np.isfinite(p).all()):
        which = "y_true" if not np.isfinite(y).all() else "y_pred"
        raise DataValidationError(f"{which} contains NaN or infinite values")
    batched = weights is not None and np.ndim(weights) == 2
    if weights is None:
        w = np.ones((1, y.shape[0]))
    else:
        w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        if w.shape[1] != y.shape[0]:
            raise DataValidationError(f"weights have {w.shape[1]} cells but the data have {y.shape[0]}")
        if (w < 0).any():
            raise DataValidationError("weights must be non-negative")
    return y, p, w, batched


def _out(values: np.ndarray, batched: bool):
    return values if batched else float(values[0])


def _r2_from_sums(ss_res: np.ndarray, ss_tot: np.ndarray, scale: np.ndarray) -> np.ndarray:
    # ss_tot is computed by subtraction; treat values at rounding level as zero variance
    zero = ss_tot <= 1e-12 * np.maximum(scale, 1e-300)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - ss_res / np.where(zero, 1.0, ss_tot)
    return np.where(zero, np.where(ss_res <= 1e-12 * np.maximum(scale, 1e-300), 1.0, 0.0), r2)


def r2_flat(y_true, y_pred, weights=None, reference=None):
    """Variance-weighted R² over all target x cell entries.

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n_cells, n_genes)
        Observed and predicted log-scale expression.
    weights : array-like, shape (n_cells,) or (n_boot, n_cells), optional
        Cell weights (see module docstring).
    reference : array-like, shape (n_cells_ref, n_genes), optional
        Test matrix whose per-gene means centre the sums (see module docstring).

    Returns
    -------
    float or ndarray of shape (n_boot,)
        ``1 - Σ(y-ŷ)² / Σ(y-ȳ_g)²``; 1 is perfect, 0 equals predicting each gene's test
        mean, negative is worse. Same as sklearn ``r2_score(multioutput='variance_weighted')``.

    Raises
    ------
    grnbench.errors.DataValidationError
        On mismatched shapes or non-finite values.
    """
    y, p, w, batched = prepare(y_true, y_pred, weights)
    center = None if reference is None else _reference(reference, y).mean(axis=0)
    ss_res, ss_tot, scale = _sums(y, p, w, center)
    return _out(_r2_from_sums(ss_res.sum(axis=1), ss_tot.sum(axis=1), scale.sum(axis=1)), batched)


def _reference(reference, y) -> np.ndarray:
    ref = np.asarray(reference, dtype=np.float64)
    if ref.ndim == 1:
        ref = ref[:, None]
    if ref.shape[1] != y.shape[1]:
        raise DataValidationError(f"reference has {ref.shape[1]} genes, the data have {y.shape[1]}")
    return ref


def _sums(y, p, w, center=None):
    """Per-gene weighted SS_res, SS_tot and the scale for the zero-variance test, (b, g)."""
    mu = y.mean(axis=0) if center is None else center
    yc, pc = y - mu, p - mu
    ss_res = w @ (yc - pc) ** 2
    sq = w @ yc**2
    ss_tot = sq if center is not None else sq - (w @ yc) ** 2 / w.sum(axis=1)[:, None]
    return ss_res, ss_tot, sq


def _per_gene(y, p, w, reference=None):
    if reference is None:
        ss_res, ss_tot, scale = _sums(y, p, w)
        return _r2_from_sums(ss_res, ss_tot, scale)
    ref = _reference(reference, y)
    var = ref.var(axis=0)  # per-cell total variance of each gene in the full test set
    mse = (w @ (y - p) ** 2) / w.sum(axis=1)[:, None]
    return _r2_from_sums(mse, np.broadcast_to(var, mse.shape), np.broadcast_to((ref**2).mean(axis=0), mse.shape))


def r2_uniform(y_true, y_pred, weights=None, reference=None):
    """Mean over genes of the per-gene R² (sklearn ``multioutput='uniform_average'``).

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n_cells, n_genes)
        Observed and predicted log-scale expression.
    weights : array-like, shape (n_cells,) or (n_boot, n_cells), optional
        Cell weights (see module docstring).
    reference : array-like, shape (n_cells_ref, n_genes), optional
        Test matrix whose per-gene variances are the fixed denominators (see module docstring).

    Returns
    -------
    float or ndarray of shape (n_boot,)

    Raises
    ------
    grnbench.errors.DataValidationError
        On mismatched shapes or non-finite values.
    """
    y, p, w, batched = prepare(y_true, y_pred, weights)
    return _out(_per_gene(y, p, w, reference).mean(axis=1), batched)


def per_gene_r2(y_true, y_pred) -> np.ndarray:
    """Per-gene R² (sklearn ``multioutput='raw_values'`` with ``force_finite=True``).

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n_cells, n_genes)

    Returns
    -------
    ndarray, shape (n_genes,)
    """
    y, p, w, _ = prepare(y_true, y_pred)
    return _per_gene(y, p, w)[0]


def pearson_r(y_true, y_pred, weights=None):
    """Pearson correlation of all target x cell entries pooled (flattened).

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n_cells, n_genes)
    weights : array-like, shape (n_cells,) or (n_boot, n_cells), optional

    Returns
    -------
    float or ndarray of shape (n_boot,)
        NaN where either side has zero variance.

    Raises
    ------
    grnbench.errors.DataValidationError
        On mismatched shapes or non-finite values.
    """
    y, p, w, batched = prepare(y_true, y_pred, weights)
    y = y - y.mean()
    p = p - p.mean()
    n = w.sum(axis=1) * y.shape[1]
    sy, sp_ = w @ y.sum(axis=1), w @ p.sum(axis=1)
    cov = w @ (y * p).sum(axis=1) - sy * sp_ / n
    vy = w @ (y**2).sum(axis=1) - sy**2 / n
    vp = w @ (p**2).sum(axis=1) - sp_**2 / n
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where((vy > 0) & (vp > 0), cov / np.sqrt(np.abs(vy * vp)), np.nan)
    return _out(np.clip(r, -1.0, 1.0), batched)


def rmse(y_true, y_pred, weights=None):
    """Root-mean-squared error over all entries (same units as the expression scale).

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n_cells, n_genes)
    weights : array-like, shape (n_cells,) or (n_boot, n_cells), optional

    Returns
    -------
    float or ndarray of shape (n_boot,)
    """
    y, p, w, batched = prepare(y_true, y_pred, weights)
    return _out(np.sqrt(w @ ((y - p) ** 2).sum(axis=1) / (w.sum(axis=1) * y.shape[1])), batched)


def mae(y_true, y_pred, weights=None):
    """Mean absolute error over all entries (same units as the expression scale).

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n_cells, n_genes)
    weights : array-like, shape (n_cells,) or (n_boot, n_cells), optional

    Returns
    -------
    float or ndarray of shape (n_boot,)
    """
    y, p, w, batched = prepare(y_true, y_pred, weights)
    return _out(w @ np.abs(y - p).sum(axis=1) / (w.sum(axis=1) * y.shape[1]), batched)
