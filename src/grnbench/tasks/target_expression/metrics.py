"""Metrics of the target-expression task (ids fixed: r2_flat, r2_uniform, pearson_r, rmse, mae).

Definitions are in :mod:`grnbench.metrics.regression`; this module registers them.
"""

from __future__ import annotations

from ...metrics import regression
from ...registry import register_metric

TASK = "target_expression"

register_metric(
    "r2_flat", task=TASK, maximize=True,
    reference="sklearn r2_score(multioutput='variance_weighted'); 'flattened R²' of the LEMBAS-RNN benchmark (Langridge 2026)",
    description="variance-weighted R² over all target x cell entries (per-gene centring)",
)(regression.r2_flat)
register_metric(
    "r2_uniform", task=TASK, maximize=True,
    reference="sklearn r2_score(multioutput='uniform_average')",
    description="mean of per-gene R²",
)(regression.r2_uniform)
register_metric(
    "pearson_r", task=TASK, maximize=True,
    reference="Pearson K (1895); pooled over all target x cell entries as in the LEMBAS-RNN benchmark",
    description="Pearson r of the flattened entries (rewards getting gene means right)",
)(regression.pearson_r)
register_metric(
    "rmse", task=TASK, maximize=False, reference="root-mean-squared error",
    description="root-mean-squared error, log-expression units",
)(regression.rmse)
register_metric(
    "mae", task=TASK, maximize=False, reference="mean absolute error",
    description="mean absolute error, log-expression units",
)(regression.mae)
