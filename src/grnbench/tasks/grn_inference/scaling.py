"""Fit time of CaTran and GENIE3 against the number of genes (a benchmark, not a test).

For each size, the ``size`` most variable genes of one expression matrix are kept and both
models are fitted on the same cells. CaTran is fitted in full. GENIE3 fits one random forest per
target, so its time is linear in the number of targets: it is timed on ``genie3_targets``
randomly chosen targets (all regulators) and the table reports the measured seconds, the
measured seconds per target and their product with the number of targets, marked as a
projection. Regulators are the TFs of a prior network among the kept genes.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ...errors import DataValidationError
from .catran import CaTranScorer
from .estimators import ArboretoScorer

__all__ = ["scaling_table"]


def scaling_table(expression: pd.DataFrame, tfs, sizes=(500, 1000, 2000, 5000), *, genie3_targets: int = 40,
                  n_threads: int = 2, seed: int = 0, catran_params: dict | None = None) -> pd.DataFrame:
    """Time CaTran and GENIE3 on the ``size`` most variable genes, for each size.

    Parameters
    ----------
    expression : pandas.DataFrame, shape (n_cells, n_genes)
        Log-scale expression (e.g. log1p CP10k).
    tfs : iterable of str
        TF names; the regulators are the TFs among the kept genes.
    sizes : sequence of int
        Numbers of genes.
    genie3_targets : int
        Targets GENIE3 is timed on at each size (random, seeded).
    n_threads : int
        torch threads of CaTran (GENIE3 uses a LocalCluster of 2 single-thread workers).
    seed : int
        Seed of the target sample and of CaTran.
    catran_params : dict, optional
        Overrides of :class:`~.catran.CaTranScorer` parameters.

    Returns
    -------
    pandas.DataFrame
        One row per (model, genes): ``model, genes, cells, regulators, targets_timed, seconds,
        seconds_per_target, projected_seconds`` (GENIE3: seconds_per_target x genes; CaTran: the
        measured seconds), ``n_steps`` (CaTran optimiser steps), ``projected`` (True for GENIE3).

    Raises
    ------
    grnbench.errors.DataValidationError
        If a size exceeds the number of genes or no TF is among the kept genes.
    """
    x = expression
    if max(sizes) > x.shape[1]:
        raise DataValidationError(f"size {max(sizes)} exceeds the {x.shape[1]} genes of the expression matrix")
    order = x.var(axis=0).sort_values(ascending=False, kind="stable").index
    tfs = set(map(str, tfs))
    rng = np.random.default_rng(seed)
    rows = []
    for size in sizes:
        genes = list(order[:size])
        regs = [g for g in genes if g in tfs]
        if not regs:
            raise DataValidationError(f"no TF among the {size} most variable genes")
        xs = x[genes]
        t0 = time.perf_counter()
        cat = CaTranScorer(n_threads=n_threads, progress=False, random_state=seed, regulators=regs, targets=genes,
                           **(catran_params or {})).fit(xs)
        sec = time.perf_counter() - t0
        rows.append({"model": "catran", "genes": size, "cells": xs.shape[0], "regulators": len(regs),
                     "targets_timed": size, "seconds": sec, "seconds_per_target": sec / size, "projected_seconds": sec,
                     "n_steps": cat.n_steps_, "projected": False})
        targets = list(rng.choice(genes, size=min(genie3_targets, size), replace=False))
        t0 = time.perf_counter()
        ArboretoScorer(algorithm="genie3", regulators=regs, targets=targets, random_state=seed).fit(xs)
        sec = time.perf_counter() - t0
        rows.append({"model": "genie3", "genes": size, "cells": xs.shape[0], "regulators": len(regs),
                     "targets_timed": len(targets), "seconds": sec, "seconds_per_target": sec / len(targets),
                     "projected_seconds": sec / len(targets) * size, "n_steps": np.nan, "projected": True})
    return pd.DataFrame(rows)
