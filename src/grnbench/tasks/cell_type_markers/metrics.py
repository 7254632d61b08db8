"""Metrics of the cell-type-marker task (ids fixed: accuracy, balanced_accuracy, macro_f1)."""

from __future__ import annotations

from ...metrics import classification
from ...registry import register_metric

TASK = "cell_type_markers"

register_metric("accuracy", task=TASK, maximize=True, reference="share of correctly classified test cells",
                description="accuracy")(classification.accuracy)
register_metric("balanced_accuracy", task=TASK, maximize=True,
                reference="mean per-class recall (Brodersen et al. 2010, doi:10.1109/ICPR.2010.764)",
                description="mean per-class accuracy")(classification.balanced_accuracy)
register_metric("macro_f1", task=TASK, maximize=True, reference="unweighted mean of per-class F1 (scikit-learn)",
                description="macro-averaged F1")(classification.macro_f1)
