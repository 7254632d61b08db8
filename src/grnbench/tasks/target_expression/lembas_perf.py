"""Convergence and cost of the LEMBAS variants on one dataset (the performance notebook)."""

from __future__ import annotations

import resource
import time

import numpy as np
import pandas as pd
from sklearn.base import clone

from .lembas import spectral_radius
from ...registry import get_model
from .datasets import TargetExpressionData
from .splits import make_split

__all__ = ["profile_variants"]

TASK = "target_expression"


def profile_variants(data: TargetExpressionData, variants=("lembas_seed", "lembas"), *, seed: int = 0,
                     model_params: dict | None = None, repeats: int = 3):
    """Fit each LEMBAS variant on the random split's training cells and measure it.

    Parameters
    ----------
    data : TargetExpressionData
    variants : tuple of str
        Registered LEMBAS model ids.
    seed : int
        Model seed.
    model_params : dict, optional
        ``model id -> parameters`` overriding registry defaults.
    repeats : int
        Forward passes over all cells for the throughput (median time is used).

    Returns
    -------
    perf : pandas.DataFrame
        One row per variant: ``nodes, edges, prior_spectral_radius, fit_seconds, epochs,
        best_epoch, test_steps, test_residual_median, test_residual_max,
        test_converged_share, cells_per_second, peak_rss_mb``.
    histories : pandas.DataFrame
        Training history of each variant (``model`` column added).
    """
    model_params = model_params or {}
    labels = make_split(data.adata.obs, "random", dataset=data.dataset, seed=0)
    train, val, test = ((labels == k).to_numpy() for k in ("train", "val", "test"))
    rows, hist = [], []
    for model_id in variants:
        spec = get_model(model_id, TASK)
        est = clone(spec.build(data, **model_params.get(model_id, {}))).set_params(random_state=seed)
        t0 = time.perf_counter()
        est.fit(data.X(train), data.Y(train), validation=(data.X(val), data.Y(val)))
        fit_s = time.perf_counter() - t0
        state = est.steady_state(data.X(test))
        x_all = data.X()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            est.predict(x_all)
            times.append(time.perf_counter() - t0)
        n = len(est.nodes_)
        rows.append({
            "model": model_id, "nodes": n, "edges": len(est.src_),
            "prior_spectral_radius": spectral_radius(np.abs(data.network["weight"].to_numpy(float)),
                                                     est.src_, est.dst_, n),
            "spectral_target": est.spectral_target_, "max_steps": est.max_steps, "fit_seconds": fit_s,
            "epochs": len(est.history_), "best_epoch": getattr(est, "best_epoch_", np.nan),
            "test_steps": int(state["steps"].iloc[0]), "test_residual_median": float(state["residual"].median()),
            "test_residual_max": float(state["residual"].max()),
            "test_converged_share": float((state["residual"] < 1e-6).mean()),
            "cells_per_second": len(x_all) / float(np.median(times)),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        })
        hist.append(est.history_.assign(model=model_id))
    return pd.DataFrame(rows), pd.concat(hist, ignore_index=True)
