"""Task ``target_expression``: predict target-gene expression from TF expression."""

from . import metrics, models
from .datasets import TargetExpressionData, build_task_data, prepare
from .splits import SPLITS, make_split

TASK = "target_expression"

__all__ = ["TASK", "metrics", "models", "TargetExpressionData", "build_task_data", "prepare", "SPLITS", "make_split"]
