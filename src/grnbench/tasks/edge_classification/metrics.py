"""Metrics of the edge-classification task (ids fixed).

Threshold metrics (``accuracy``, ``precision``, ``recall``, ``f1``) score 0/1 predictions at the
threshold that maximised F1 on the validation pairs; ranking metrics (``auroc``, ``auprc``,
``auprc_ratio``) score the probabilities.
"""

from __future__ import annotations

from ...metrics import binary
from ...registry import register_metric

TASK = "edge_classification"
#: Metrics that take 0/1 predictions (the rest take scores).
THRESHOLD_METRICS = ("accuracy", "precision", "recall", "f1")

for _id, _func, _desc in (
    ("accuracy", binary.accuracy, "share of correctly classified pairs at the validation-F1 threshold"),
    ("precision", binary.precision, "TP / (TP + FP) at the validation-F1 threshold"),
    ("recall", binary.recall, "TP / (TP + FN) at the validation-F1 threshold"),
    ("f1", binary.f1, "F1 of the positive class at the validation-F1 threshold"),
):
    register_metric(_id, task=TASK, maximize=True, reference="scikit-learn definitions (Pedregosa et al. 2011)",
                    description=_desc)(_func)
register_metric("auroc", task=TASK, maximize=True, reference="Hanley & McNeil 1982, doi:10.1148/radiology.143.1.7063747",
                description="area under the ROC curve")(binary.auroc)
register_metric("auprc", task=TASK, maximize=True, reference="average precision (scikit-learn)",
                description="area under the precision-recall curve (average precision)")(binary.auprc)
register_metric("auprc_ratio", task=TASK, maximize=True,
                reference="GENELink AUPR_norm (Chen & Liu 2022, doi:10.1093/bioinformatics/btac559)",
                description="AUPRC / test positive rate (1 = random)")(binary.auprc_ratio)
