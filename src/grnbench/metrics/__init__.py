"""Pure array metrics (shapes and scales in each docstring) and bootstrap CIs."""

from .classification import accuracy, balanced_accuracy, macro_f1
from .bootstrap import BootstrapResult, bootstrap_weights_ci, counts_from_indices, metric_matrix
from .regression import mae, pearson_r, per_gene_r2, r2_flat, r2_uniform, rmse

__all__ = [
    "accuracy",
    "balanced_accuracy",
    "macro_f1",
    "BootstrapResult",
    "bootstrap_weights_ci",
    "counts_from_indices",
    "metric_matrix",
    "mae",
    "pearson_r",
    "per_gene_r2",
    "r2_flat",
    "r2_uniform",
    "rmse",
]
