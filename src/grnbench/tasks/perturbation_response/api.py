"""Declaration of the ``perturbation_response`` task for the engine (:mod:`grnbench.engine`).

Splits (:mod:`.splits`): ``heldout_cell_type`` (Kang IFN-beta, one fold per cell type),
``loko`` (DREAM4 knockouts, one fold per knockout), ``lopo`` (your data's genetic perturbations,
one fold per perturbation) and ``cell_pairs`` (the seed's pairs of
unperturbed cells; one fold with validation). Test units are held-out cell types, knockouts or
cell pairs; a model predicts every test input and its predictions are averaged per unit. Metrics
are averaged over units; bootstrap CIs resample units (percentile method). Without validation
units every model is compared with every control; ``perturb_transformer`` is always compared
with every baseline (registry ``controls``).

Extras (hooks): the per-unit metrics of each model's first seed (``per_unit``), the folds'
sizes (``folds``) and the split-half noise ceiling of every held-out unit with replicate cells
(``ceilings``; :func:`grnbench.metrics.perturbation.split_half_delta`).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ...engine import Context, Evaluation, Fold, Task
from ...metrics.perturbation import noise_ceiling, per_unit, split_half_delta, weighted_mean
from .datasets import PerturbationInput
from .splits import SPLITS, fold_table, make_folds

__all__ = ["PerturbationResponse", "TASK", "N_SPLIT_HALVES", "CEILING_COLUMNS"]

#: Random halvings per held-out unit of the split-half noise ceiling.
N_SPLIT_HALVES = 20
#: Columns of the ``ceilings`` table.
CEILING_COLUMNS = ("dataset", "split", "unit", "n_perturbed", "n_control", "split_half_r", "split_half_sd",
                   "ceiling")


class PerturbationResponse(Task):
    """Predict the expression state after a perturbation."""

    id = "perturbation_response"
    splits = tuple(SPLITS)
    fixed_splits = ("heldout_cell_type", "loko", "lopo")
    primary_metric = "pearson_delta"
    ci_method = "percentile"
    ci_per_seed = False
    options = {}
    unit_options = ()

    def split_name(self, ctx: Context, split: str) -> str:
        return split

    def folds(self, ctx: Context, split: str) -> list[Fold]:
        out = []
        for f in make_folds(ctx.data, split, seed=ctx.split_seed):
            y_val = None
            if f.val is not None:  # each validation example is its own unit, ranked like the test units
                x0_val = np.nan_to_num(f.val[0].x0)
                y_val = np.stack([f.val[1], x0_val, np.abs(f.val[1] - x0_val),
                                  np.broadcast_to(f.truth[0, 3], f.val[1].shape)], axis=1)
            out.append(Fold(train=f.train, val=f.val, x_test=(f.x_test, f.unit, len(f.units)), y_test=f.truth,
                            test_ids=pd.Index(f.units, name="unit"), n_train=len(f.train[0]),
                            info={"train_cells": f.train_cells, "replicates": f.replicates}, y_val=y_val))
        return out

    def on_split(self, ctx: Context) -> None:
        table = fold_table([_as_pf(f) for f in ctx.folds])
        ctx.add("folds", table.assign(dataset=ctx.dataset, split=ctx.split))
        ctx.add("ceilings", ceiling_rows(ctx.folds, ctx.dataset, ctx.split, ctx.split_seed))

    def fold_counts(self, ctx, split, folds) -> dict:
        return {"folds": len(folds), "test_units": int(sum(len(f.test_ids) for f in folds)),
                "train_examples": int(np.mean([f.n_train for f in folds]))}

    def merge(self, train: tuple, val: tuple) -> tuple:
        return PerturbationInput.concat([train[0], val[0]]), np.vstack([train[1], val[1]])

    def evaluate(self, ctx, est, fold, x=None) -> list[Evaluation]:
        t0 = time.perf_counter()
        if x is None:
            inputs, unit, n_units = fold.x_test
        else:  # validation examples: each is its own unit
            inputs, unit, n_units = x, np.arange(len(x)), len(x)
        pred = np.asarray(est.predict(inputs), dtype=np.float64)
        sums = np.zeros((n_units, pred.shape[1]))
        np.add.at(sums, unit, pred)
        pred = sums / np.bincount(unit, minlength=n_units)[:, None]
        return [Evaluation(pred, time.perf_counter() - t0)]

    def statistic(self, funcs, y_true, predictions):
        per = [per_unit(y_true, p) for p in predictions]

        def stat(w):
            return np.column_stack([np.mean([weighted_mean(v[f.id], w) for v in per], axis=0) for f in funcs])

        return stat

    def on_fit(self, ctx, spec, seed, fits, pooled, first_seed) -> None:
        if not first_seed:
            return
        vals = per_unit(ctx.y_test, pooled[None])
        ctx.add("per_unit", pd.DataFrame({"unit": ctx.test_ids, **vals}).assign(dataset=ctx.dataset, split=ctx.split,
                                                                              model=spec.id, seed=seed))


def ceiling_rows(folds: list[Fold], dataset: str, split: str, seed: int = 0) -> pd.DataFrame:
    """The split-half noise ceiling of every held-out unit with replicate cells.

    Parameters
    ----------
    folds : list of grnbench.engine.Fold
        The split's folds; ``info["replicates"]`` holds the unit's perturbed and control cells
        (:class:`.splits.PerturbationFold`), or None for units of one sample.
    dataset, split : str
        Written into every row.
    seed : int
        Split seed; fold ``i`` halves its cells with ``numpy.random.default_rng([seed, i])``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CEILING_COLUMNS`: ``split_half_r`` and ``split_half_sd`` are the mean and
        standard deviation over :data:`N_SPLIT_HALVES` halvings of
        :func:`grnbench.metrics.perturbation.split_half_delta`, ``ceiling`` is
        :func:`grnbench.metrics.perturbation.noise_ceiling` of the mean. Empty when no unit has
        at least 2 perturbed and 2 control cells.
    """
    rows = []
    for i, fold in enumerate(folds):
        rep = fold.info.get("replicates")
        if rep is None or len(rep[0]) < 2 or len(rep[1]) < 2:
            continue
        r = split_half_delta(rep[0], rep[1], n_splits=N_SPLIT_HALVES, seed=[seed, i])
        rows.append({"dataset": dataset, "split": split, "unit": fold.test_ids[0], "n_perturbed": len(rep[0]),
                     "n_control": len(rep[1]), "split_half_r": float(r.mean()), "split_half_sd": float(r.std(ddof=1)),
                     "ceiling": float(noise_ceiling(r.mean()))})
    return pd.DataFrame(rows, columns=list(CEILING_COLUMNS))


def _as_pf(fold: Fold):
    from .splits import PerturbationFold

    return PerturbationFold(train=fold.train, val=fold.val, x_test=fold.x_test[0], unit=fold.x_test[1],
                            units=list(fold.test_ids), truth=fold.y_test, train_cells=fold.info["train_cells"],
                            replicates=fold.info.get("replicates"))


TASK = PerturbationResponse()
