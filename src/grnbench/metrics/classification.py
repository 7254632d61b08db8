"""Multi-class classification metrics with cell weights (for bootstrap CIs).

All functions take integer-coded labels ``y_true`` and ``y_pred`` of shape ``(n_cells,)`` and
optional ``weights`` of shape ``(n_cells,)`` or ``(n_boot, n_cells)`` (see
:mod:`grnbench.metrics.regression`; integer weights equal repeated cells).

* ``accuracy`` — share of correctly classified cells.
* ``balanced_accuracy`` — mean over the classes present in ``y_true`` of the per-class recall
  ("mean per-class accuracy"; sklearn ``balanced_accuracy_score``).
* ``macro_f1`` — unweighted mean of per-class F1 over the classes present in ``y_true`` or
  ``y_pred`` (sklearn ``f1_score(average="macro")``; a class with no true and no predicted
  cell is absent, a class with F1 0/0 scores 0).

Pedregosa et al. 2011 (scikit-learn), JMLR 12:2825; Brodersen et al. 2010, ICPR (balanced
accuracy), doi:10.1109/ICPR.2010.764.
"""

from __future__ import annotations

import numpy as np

from ..errors import DataValidationError

__all__ = ["accuracy", "balanced_accuracy", "macro_f1"]


def _prepare(y_true, y_pred, weights):
    yt = np.asarray(y_true)
    yp = np.asarray(y_pred)
    if yt.ndim != 1 or yt.shape != yp.shape:
        raise DataValidationError(f"y_true has shape {yt.shape} but y_pred has shape {yp.shape}; expected (n_cells,)")
    if yt.size == 0:
        raise DataValidationError("no cells to score")
    classes, codes = np.unique(np.concatenate([yt, yp]), return_inverse=True)
    t, p = codes[: len(yt)], codes[len(yt):]
    batched = weights is not None and np.ndim(weights) == 2
    w = np.ones((1, len(yt))) if weights is None else np.atleast_2d(np.asarray(weights, dtype=float))
    if w.shape[1] != len(yt):
        raise DataValidationError(f"weights have {w.shape[1]} cells but the labels have {len(yt)}")
    onehot_t = np.eye(len(classes))[t]  # (n, C)
    onehot_p = np.eye(len(classes))[p]
    return onehot_t, onehot_p, w, batched


def _out(v, batched):
    return v if batched else float(v[0])


def accuracy(y_true, y_pred, weights=None):
    """Share of correct predictions.

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n_cells,)
        Class labels (any hashable type).
    weights : array-like, shape (n_cells,) or (n_boot, n_cells), optional

    Returns
    -------
    float or ndarray of shape (n_boot,)
    """
    t, p, w, batched = _prepare(y_true, y_pred, weights)
    correct = (t * p).sum(axis=1)
    return _out((w @ correct) / w.sum(axis=1), batched)


def balanced_accuracy(y_true, y_pred, weights=None):
    """Mean per-class recall over the classes present in ``y_true`` (mean per-class accuracy).

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n_cells,)
    weights : array-like, shape (n_cells,) or (n_boot, n_cells), optional

    Returns
    -------
    float or ndarray of shape (n_boot,)
        Classes absent from a resample are left out of its mean.
    """
    t, p, w, batched = _prepare(y_true, y_pred, weights)
    support = w @ t  # (b, C)
    hits = w @ (t * p)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(support > 0, hits / support, np.nan)
    return _out(np.nanmean(recall, axis=1), batched)


def macro_f1(y_true, y_pred, weights=None):
    """Unweighted mean F1 over classes present in ``y_true`` or ``y_pred``.

    Parameters
    ----------
    y_true, y_pred : array-like, shape (n_cells,)
    weights : array-like, shape (n_cells,) or (n_boot, n_cells), optional

    Returns
    -------
    float or ndarray of shape (n_boot,)
    """
    t, p, w, batched = _prepare(y_true, y_pred, weights)
    tp = w @ (t * p)
    fp = w @ ((1 - t) * p)
    fn = w @ (t * (1 - p))
    present = (w @ t + w @ p) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(present, np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0), np.nan)
    return _out(np.nanmean(f1, axis=1), batched)
