"""Binary edge-classification metrics with pair weights (for bootstrap CIs).

Threshold metrics take 0/1 predictions; ranking metrics take scores. All accept ``weights``
of shape ``(n_pairs,)`` or ``(n_boot, n_pairs)`` (integer weights equal repeated pairs), and
return a float, or an array of shape ``(n_boot,)`` for batched weights.

* ``accuracy``, ``precision``, ``recall``, ``f1`` — of the positive class (scikit-learn's
  definitions; 0 where undefined, as ``zero_division=0``).
* ``auroc`` — area under the ROC curve, ties counted one half (Hanley & McNeil 1982,
  doi:10.1148/radiology.143.1.7063747); equals sklearn ``roc_auc_score``.
* ``auprc`` — average precision, the step-wise area under the precision-recall curve with
  tied scores grouped (sklearn ``average_precision_score``).
* ``auprc_ratio`` — AUPRC divided by the positive rate: a random scorer's expected AUPRC is the
  positive rate, so the ratio is comparable across test sets of different density (GENELink's
  ``AUPR_norm``; Chen & Liu 2022, doi:10.1093/bioinformatics/btac559).
"""

from __future__ import annotations

import numpy as np

from ..errors import DataValidationError

__all__ = ["accuracy", "precision", "recall", "f1", "auroc", "auprc", "auprc_ratio", "best_f1_threshold", "RankedScores"]


def _prep(y_true, y_pred, weights):
    t = np.asarray(y_true)
    p = np.asarray(y_pred, dtype=float)
    if t.ndim != 1 or t.shape != p.shape:
        raise DataValidationError(f"y_true has shape {t.shape} but the predictions have shape {p.shape}")
    if t.size == 0:
        raise DataValidationError("no pairs to score")
    if not np.isin(t, (0, 1)).all():
        raise DataValidationError("labels must be 0/1")
    if not np.isfinite(p).all():
        raise DataValidationError("predictions contain NaN or infinite values")
    batched = weights is not None and np.ndim(weights) == 2
    w = np.ones((1, t.size)) if weights is None else np.atleast_2d(np.asarray(weights, dtype=float))
    if w.shape[1] != t.size:
        raise DataValidationError(f"weights have {w.shape[1]} pairs but the labels have {t.size}")
    return t.astype(float), p, w, batched


def _out(v, batched):
    return v if batched else float(v[0])


def _counts(y_true, y_pred, weights):
    t, p, w, batched = _prep(y_true, y_pred, weights)
    p = (p >= 0.5).astype(float)
    tp, fp = w @ (t * p), w @ ((1 - t) * p)
    fn, tn = w @ (t * (1 - p)), w @ ((1 - t) * (1 - p))
    return tp, fp, fn, tn, batched


def _div(a, b):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)


def accuracy(y_true, y_pred, weights=None):
    """Share of correctly classified pairs; ``y_pred`` is 0/1 (values >= 0.5 count as 1)."""
    tp, fp, fn, tn, batched = _counts(y_true, y_pred, weights)
    return _out(_div(tp + tn, tp + fp + fn + tn), batched)


def precision(y_true, y_pred, weights=None):
    """TP / (TP + FP); 0 if nothing is predicted positive."""
    tp, fp, fn, tn, batched = _counts(y_true, y_pred, weights)
    return _out(_div(tp, tp + fp), batched)


def recall(y_true, y_pred, weights=None):
    """TP / (TP + FN); 0 without positives."""
    tp, fp, fn, tn, batched = _counts(y_true, y_pred, weights)
    return _out(_div(tp, tp + fn), batched)


def f1(y_true, y_pred, weights=None):
    """2 TP / (2 TP + FP + FN); 0 if undefined."""
    tp, fp, fn, tn, batched = _counts(y_true, y_pred, weights)
    return _out(_div(2 * tp, 2 * tp + fp + fn), batched)


class RankedScores:
    """Scores sorted once, so AUROC, AUPRC and the AUPRC ratio of many weight vectors are cheap.

    Parameters
    ----------
    y_true : array-like, shape (n_pairs,)
        0/1 labels.
    score : array-like, shape (n_pairs,)

    Notes
    -----
    For weights ``w`` of shape ``(b, n_pairs)`` :meth:`metrics` sorts nothing: it forms the
    cumulative weighted positives and negatives along the fixed score order once and reads all
    three metrics off them (tied scores are grouped; ties count one half in AUROC).
    """

    def __init__(self, y_true, score):
        t, s, _, _ = _prep(y_true, score, None)
        self.order = np.argsort(-s, kind="stable")
        s = s[self.order]
        self.t = t[self.order]
        ends = np.r_[s[1:] != s[:-1], True]  # end of each group of tied scores
        self.last = None if ends.all() else np.flatnonzero(ends)
        self.n = t.size

    def metrics(self, weights=None) -> dict[str, np.ndarray]:
        """``{"auroc", "auprc", "auprc_ratio"}``, each of shape (b,) (NaN where a class is absent)."""
        w = np.ones((1, self.n)) if weights is None else np.atleast_2d(np.asarray(weights, dtype=float))
        if w.shape[1] != self.n:
            raise DataValidationError(f"weights have {w.shape[1]} pairs but the labels have {self.n}")
        w = w[:, self.order].astype(np.float32)  # bootstrap counts: exact in float32; half the memory traffic
        wp = w * self.t.astype(np.float32)
        tp = np.cumsum(wp, axis=1, dtype=np.float64)
        fp = np.cumsum(w - wp, axis=1, dtype=np.float64)
        if self.last is not None:
            tp, fp = tp[:, self.last], fp[:, self.last]
        P, N = tp[:, -1], fp[:, -1]
        tp_prev = np.hstack([np.zeros((tp.shape[0], 1)), tp[:, :-1]])
        fp_prev = np.hstack([np.zeros((fp.shape[0], 1)), fp[:, :-1]])
        with np.errstate(invalid="ignore", divide="ignore"):
            roc = ((fp - fp_prev) * (tp + tp_prev)).sum(axis=1) / (2 * P * N)
            prec = tp / np.where(tp + fp > 0, tp + fp, 1)
            ap = ((tp - tp_prev) * prec).sum(axis=1) / P
            rate = P / (P + N)
            return {"auroc": np.where((P > 0) & (N > 0), roc, np.nan), "auprc": np.where(P > 0, ap, np.nan),
                    "auprc_ratio": np.where(P > 0, ap / rate, np.nan)}


def _ranking(name, y_true, score, weights):
    _, _, _, batched = _prep(y_true, score, weights)
    return _out(RankedScores(y_true, score).metrics(weights)[name], batched)


def auroc(y_true, score, weights=None):
    """Area under the ROC curve (trapezoids over tied-score groups = ties count one half).

    Returns NaN for a resample without positives or without negatives.
    """
    return _ranking("auroc", y_true, score, weights)


def auprc(y_true, score, weights=None):
    """Average precision: sum over tied-score groups of Δrecall x precision (sklearn's definition).

    Returns NaN for a resample without positives.
    """
    return _ranking("auprc", y_true, score, weights)


def auprc_ratio(y_true, score, weights=None):
    """AUPRC / positive rate (1 = a random scorer)."""
    return _ranking("auprc_ratio", y_true, score, weights)


def best_f1_threshold(y_true, score) -> float:
    """The score threshold that maximises F1 on (validation) pairs: predict positive if ``score >= threshold``.

    Ties are grouped; among equal F1 the highest threshold wins. Raises if there is no positive.
    """
    t, s, _, _ = _prep(y_true, score, None)
    if t.sum() == 0:
        raise DataValidationError("no positive pair to choose a threshold on")
    order = np.argsort(-s, kind="stable")
    s, t = s[order], t[order]
    last = np.r_[s[1:] != s[:-1], True]
    tp = np.cumsum(t)[last]
    fp = np.cumsum(1 - t)[last]
    fn = t.sum() - tp
    f = 2 * tp / (2 * tp + fp + fn)
    return float(s[last][int(np.argmax(f))])
