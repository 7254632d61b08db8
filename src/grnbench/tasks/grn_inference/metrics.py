"""Metrics of the GRN-inference task (ids fixed); definitions in :mod:`grnbench.metrics.network`.

Each function takes the truth of the candidate edges (:class:`~.datasets.EdgeTruth`), the edge
scores (n_edges,) and optional weights per target gene (the bootstrap unit).
"""

from __future__ import annotations

from ...metrics.network import EdgeRanking
from ...registry import register_metric

TASK = "grn_inference"


def _metric(name):
    def func(truth, scores, weights=None):
        out = EdgeRanking(truth.labels, scores, truth.unit, truth.k).metrics(weights)[name]
        return out if weights is not None and getattr(weights, "ndim", 1) == 2 else float(out[0])

    func.__name__ = name
    func.__doc__ = f"``{name}`` of one edge ranking (see :mod:`grnbench.metrics.network`)."
    return func


_BEELINE = "BEELINE (Pratapa et al. 2020, doi:10.1038/s41592-019-0690-6)"
for _id, _ref, _desc in (
    ("auroc", "Hanley & McNeil 1982, doi:10.1148/radiology.143.1.7063747", "area under the ROC curve of the edge ranking"),
    ("auprc", "average precision (scikit-learn)", "area under the precision-recall curve"),
    ("auprc_ratio", _BEELINE, "AUPRC / density of true edges among the candidates (1 = random)"),
    ("epr", _BEELINE + ", BLEval/computeEarlyPrec.py",
     "early precision ratio: precision of the top-|truth| edges (ties included) / density (1 = random)"),
    ("epr_rank", _BEELINE + "'s EPR on score ranks without rounding (this study)",
     "early precision ratio on the ranks of |score|: exact ties only, so the model's output scale does not "
     "change it (1 = random)"),
    ("precision_at_k", "precision of the k best-ranked edges (k = min(100, 10% of candidates))",
     "share of true edges among the top k, ties counted in expectation"),
):
    register_metric(_id, task=TASK, maximize=True, reference=_ref, description=_desc)(_metric(_id))
