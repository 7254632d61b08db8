"""Scores of a ranked list of regulator -> target edges against a ground-truth network.

Every metric takes the candidate edges' 0/1 labels and scores, and optional *weights* per edge
(shape ``(n_edges,)`` or ``(b, n_edges)``; integer weights equal repeated edges), so a bootstrap
over target genes is a batch of weight vectors (:class:`EdgeRanking`; the weight of an edge is
the number of times its target was drawn).

* ``auroc``, ``auprc``, ``auprc_ratio`` — as in :mod:`grnbench.metrics.binary` (ties grouped;
  the ratio divides by the density of true edges among the candidates, the AUPRC of a random
  ranking: BEELINE's AUPRC ratio, Pratapa et al. 2020, doi:10.1038/s41592-019-0690-6).
* ``epr`` — BEELINE's early precision ratio, exactly as ``BLEval/computeEarlyPrec.py``
  (Murali-group/Beeline): scores are made absolute and rounded to 6 decimals; k = the number of
  true edges; the top set holds every edge whose score is at least max(the k-th score, the
  smallest non-zero score) — so ties at the k-th score are all included; early precision =
  true edges in the top set / size of the top set; EPR = early precision / density.
* ``epr_rank`` — the same early precision ratio on the *ranks* of the absolute scores, without
  the rounding: edges tie only when their scores are exactly equal, so the value depends only on
  the order of the scores and is the same for any strictly increasing transform of them (e.g. a
  change of the model's output scale). BEELINE's rounding to 6 decimals merges scores that differ
  by less than 5e-7, so a model whose scores span a narrow range (CaTran's are about 1 ± 2e-5)
  gets an ``epr`` decided by ties rather than by its ranking; ``epr_rank`` is defined by this study
  to show that.
* ``precision_at_k`` — precision among the ``k`` highest-scoring edges, with tied scores at the
  cut counted in expectation over random tie-breaking (so a constant score gives the density).
"""

from __future__ import annotations

import numpy as np

from ..errors import DataValidationError
from .binary import _prep  # the same checks: 0/1 labels, finite scores, weights of matching width

__all__ = ["EdgeRanking", "epr", "epr_rank", "precision_at_k", "top_k_size"]


def top_k_size(n_candidates: int, top_k: int = 100) -> int:
    """The ``k`` of :func:`precision_at_k`: ``min(top_k, 10% of the candidate edges)``, at least 1."""
    return int(max(1, min(top_k, n_candidates // 10)))


class _Groups:
    """Candidate edges sorted by descending score, with the boundaries of tied-score groups."""

    def __init__(self, y: np.ndarray, s: np.ndarray):
        self.order = np.argsort(-s, kind="stable")
        s = s[self.order]
        self.y = y[self.order]
        self.starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
        self.values = s[self.starts]

    def sums(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weight and positive weight per tied group, shape (b, n_groups) each."""
        ws = w[:, self.order]
        return np.add.reduceat(ws, self.starts, axis=1), np.add.reduceat(ws * self.y, self.starts, axis=1)


def _epr(g: _Groups, w: np.ndarray) -> np.ndarray:
    gw, gp = g.sums(w)
    total, pos = gw.sum(axis=1), gp.sum(axis=1)
    cum_w, cum_p = np.cumsum(gw, axis=1), np.cumsum(gp, axis=1)
    n_groups = gw.shape[1]
    # group of the k-th edge (k = number of true edges): first group whose cumulative weight reaches k
    kth = np.minimum((cum_w < pos[:, None] - 1e-9).sum(axis=1), n_groups - 1)
    # smallest non-zero score among edges present in the resample
    present = gw > 0
    nonzero = present & (g.values[None, :] > 0)
    last_nonzero = np.where(nonzero.any(axis=1), n_groups - 1 - np.argmax(nonzero[:, ::-1], axis=1), -1)
    # top set: every group with score >= max(k-th score, smallest non-zero score) = groups 0..min(kth, last_nonzero)
    cut = np.minimum(kth, last_nonzero)
    rows = np.arange(gw.shape[0])
    top_w = np.where(cut >= 0, cum_w[rows, np.maximum(cut, 0)], 0.0)
    top_p = np.where(cut >= 0, cum_p[rows, np.maximum(cut, 0)], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        early = np.where(top_w > 0, top_p / np.where(top_w > 0, top_w, 1), 0.0)
        density = pos / total
        return np.where(pos > 0, early / density, np.nan)


def _precision_at_k(g: _Groups, w: np.ndarray, k: int) -> np.ndarray:
    gw, gp = g.sums(w)
    cum_w, cum_p = np.cumsum(gw, axis=1), np.cumsum(gp, axis=1)
    kk = np.minimum(float(k), cum_w[:, -1])
    j = np.minimum((cum_w < kk[:, None] - 1e-9).sum(axis=1), gw.shape[1] - 1)  # group holding the k-th edge
    rows = np.arange(gw.shape[0])
    before_w = np.where(j > 0, cum_w[rows, np.maximum(j - 1, 0)], 0.0)
    before_p = np.where(j > 0, cum_p[rows, np.maximum(j - 1, 0)], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(gw[rows, j] > 0, gp[rows, j] / np.where(gw[rows, j] > 0, gw[rows, j], 1), 0.0)
        return np.where(kk > 0, (before_p + (kk - before_w) * frac) / np.where(kk > 0, kk, 1), np.nan)


def epr(labels, scores, weights=None):
    """BEELINE early precision ratio of one ranking (see the module notes).

    Parameters
    ----------
    labels : array-like, shape (n_edges,)
        1 for true edges among the candidates, else 0.
    scores : array-like, shape (n_edges,)
        Edge scores (any scale; made absolute and rounded to 6 decimals as BEELINE does).
    weights : array-like, shape (n_edges,) or (b, n_edges), optional
        Multiplicity of each edge (bootstrap counts).

    Returns
    -------
    float or ndarray of shape (b,)
        1 = random; NaN without true edges.

    Raises
    ------
    grnbench.errors.DataValidationError
        For mismatched shapes, labels other than 0/1, or non-finite scores.
    """
    y, s, w, batched = _prep(labels, scores, weights)
    out = _epr(_Groups(y, np.round(np.abs(s), 6)), w)
    return out if batched else float(out[0])


def epr_rank(labels, scores, weights=None):
    """Early precision ratio on the ranks of the absolute scores (no rounding; see the module notes).

    BEELINE's rule (:func:`epr`) applied to ``abs(scores)`` as given: ties only where scores are
    exactly equal, zero scores never in the top set. Invariant to any strictly increasing
    transform of ``abs(scores)``, such as multiplying them by a positive constant.

    Parameters
    ----------
    labels, scores, weights
        As in :func:`epr`.

    Returns
    -------
    float or ndarray of shape (b,)
        1 = random; NaN without true edges.

    Raises
    ------
    grnbench.errors.DataValidationError
        As :func:`epr`.
    """
    y, s, w, batched = _prep(labels, scores, weights)
    out = _epr(_Groups(y, np.abs(s)), w)
    return out if batched else float(out[0])


def precision_at_k(labels, scores, weights=None, *, k: int | None = None):
    """Precision among the ``k`` highest-scoring edges, ties at the cut counted in expectation.

    Parameters
    ----------
    labels, scores, weights
        As in :func:`epr` (scores are used as given, not rounded).
    k : int, optional
        Default :func:`top_k_size` of the number of candidates.

    Returns
    -------
    float or ndarray of shape (b,)
    """
    y, s, w, batched = _prep(labels, scores, weights)
    out = _precision_at_k(_Groups(y, s), w, k or top_k_size(y.size))
    return out if batched else float(out[0])


class EdgeRanking:
    """One ranking of candidate edges, sorted once and scored for many bootstrap weight vectors.

    Parameters
    ----------
    labels : array-like, shape (n_edges,)
        0/1 truth of each candidate edge.
    scores : array-like, shape (n_edges,)
        The model's edge scores.
    unit : array-like of int, shape (n_edges,)
        Resampling unit of each edge (the index of its target gene): a weight vector over units
        (shape ``(b, n_units)``) becomes edge weights ``w[:, unit]``.
    k : int
        The ``k`` of ``precision_at_k``.
    """

    def __init__(self, labels, scores, unit, k: int):
        from .binary import RankedScores

        y, s, _, _ = _prep(labels, scores, None)
        self.unit = np.asarray(unit, dtype=np.int64)
        if self.unit.shape != y.shape:
            raise DataValidationError(f"unit has shape {self.unit.shape} but the labels have shape {y.shape}")
        self.k = int(k)
        self.ranked = RankedScores(y, s)
        self.raw = _Groups(y, s)
        self.rounded = _Groups(y, np.round(np.abs(s), 6))
        self.absolute = _Groups(y, np.abs(s))

    def metrics(self, unit_weights=None) -> dict[str, np.ndarray]:
        """``{"auroc", "auprc", "auprc_ratio", "epr", "epr_rank", "precision_at_k"}``, each of shape (b,)."""
        if unit_weights is None:
            w = np.ones((1, self.unit.size))
        else:
            w = np.atleast_2d(np.asarray(unit_weights, dtype=float))[:, self.unit]
        out = self.ranked.metrics(w)
        out["epr"] = _epr(self.rounded, w)
        out["epr_rank"] = _epr(self.absolute, w)
        out["precision_at_k"] = _precision_at_k(self.raw, w, self.k)
        return out
