"""Metrics of the perturbation-response task (ids fixed); definitions in :mod:`grnbench.metrics.perturbation`.

Each function takes the truth (n_units, 4, n_genes; :func:`grnbench.metrics.perturbation.per_unit`), the predicted mean final states
(n_units, n_genes) and optional weights per unit.
"""

from __future__ import annotations

from ...metrics.perturbation import per_unit, weighted_mean
from ...registry import register_metric

TASK = "perturbation_response"


def _metric(name):
    def func(truth, pred, weights=None):
        out = weighted_mean(per_unit(truth, pred)[name], weights)
        return out if weights is not None and getattr(weights, "ndim", 1) == 2 else float(out[0])

    func.__name__ = name
    func.__doc__ = f"``{name}`` averaged over test units (see :mod:`grnbench.metrics.perturbation`)."
    return func


_GEARS = "GEARS (Roohani et al. 2024, doi:10.1038/s41587-023-01905-6)"
for _id, _max, _ref, _desc in (
    ("mse", False, _GEARS, "mean squared error over all genes (log scale)"),
    ("pearson", True, _GEARS, "Pearson r of predicted and observed final state over all genes"),
    ("mse_de", False, _GEARS, "mean squared error on the unit's top-20 DE genes (largest |obs - control|)"),
    ("pearson_de", True, _GEARS, "Pearson r on the unit's top-20 DE genes"),
    ("pearson_delta", True, "Ahlmann-Eltze et al. 2025, doi:10.1038/s41592-025-02772-6",
     "Pearson r of predicted and observed change from the control"),
    ("r2_mean", True, "scGen (Lotfollahi et al. 2019, doi:10.1038/s41592-019-0494-8)",
     "squared Pearson r of predicted and observed mean expression"),
    ("pearson_delta_de100", True, "scPerturBench (Wei et al. 2025, github.com/bm2-lab/scPerturBench)",
     "pearson_delta on the unit's 100 most DE genes of the held-out truth (|Welch t|, held-out cells)"),
    ("pearson_delta_de100_train", True, "scPerturBench's PCC-delta with training-only gene choice (this study)",
     "pearson_delta on the 100 most DE genes of the training data (|Welch t|), no held-out information"),
):
    register_metric(_id, task=TASK, maximize=_max, reference=_ref, description=_desc)(_metric(_id))
