"""Task ``target_expression``: predict target-gene expression from TF expression."""

from . import metrics, models
from .datasets import DEFAULT_PRIORS, TargetExpressionData, build_task_data, prepare
from .splits import OOD_DEFAULTS, SPLITS, make_split

TASK = "target_expression"

__all__ = ["TASK", "metrics", "models", "DEFAULT_PRIORS", "TargetExpressionData", "build_task_data", "prepare",
           "OOD_DEFAULTS", "SPLITS", "make_split"]
