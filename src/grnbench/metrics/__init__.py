"""Pure array metrics (shapes and scales in each docstring) and bootstrap CIs."""

from .bootstrap import BootstrapResult, bootstrap_weights_ci, counts_from_indices, metric_matrix
from .regression import mae, pearson_r, per_gene_r2, r2_flat, r2_uniform, rmse

__all__ = [
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
