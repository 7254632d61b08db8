"""Task ``cell_type_markers``: which genes separate cell types? Gene rankings scored by a fixed classifier."""

from . import metrics, models
from .datasets import CellTypeData, prepare
from .splits import SPLITS, make_split

TASK = "cell_type_markers"

__all__ = ["TASK", "metrics", "models", "CellTypeData", "prepare", "SPLITS", "make_split"]
