"""benchmarks/seed_scale.py: the LEMBAS probe and SHAP at scale, on a small simulation of the seed's shape."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from grnbench.data.simulate import simulate_seed_scale
from grnbench.tasks.target_expression.datasets import build_task_data

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "seed_scale.py"


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("seed_scale_script", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def data():
    sim = simulate_seed_scale(400, 30, 80, 1200, seed=2)
    return build_task_data(sim.adata, sim.prior, dataset="sim", prior_id="sim")


def test_lembas_probe_times_updates_on_the_whole_network(script, data):
    row = script.lembas_probe(data, n_updates=2)
    # every prior edge among the modelled genes is in the network; nodes are TFs plus targets
    assert row["n_edges"] == len(data.network) and row["n_nodes"] == len(data.tfs) + len(data.targets)
    assert row["n_samples"] == data.adata.n_obs and row["updates_timed"] == 2 and row["batch_size"] == 64
    assert 0 < row["seconds_per_update"] <= row["seconds_per_update_max"]
    # the study's schedule: ceil(800 / batches) whole epochs of ceil(400 / 64) = 7 batches
    assert row["schedule_updates"] == math.ceil(800 / 7) * 7
    assert row["fit_forecast_seconds"] == pytest.approx(row["seconds_per_update"] * row["schedule_updates"])
    assert 1 <= row["forward_steps"] <= 150 and np.isfinite(row["max_residual"])


def test_shap_at_scale_explains_the_targets_with_most_parents(script, data):
    rows = script.shap_at_scale(data, ["mlr", "xgbrf_seed"], n_explain=50, n_background=30)
    n_par = data.parents.sum(axis=0)
    want = {data.targets[i] for i in np.argsort(-n_par, kind="stable")[:2]}
    assert {r["gene"] for r in rows} == want and {r["model"] for r in rows} == {"mlr", "xgbrf_seed"}
    for r in rows:
        assert r["n_parents"] == int(n_par[data.targets.index(r["gene"])]) and r["n_explained"] == 50
        assert r["additivity_error"] < 1e-4
    # the simulated targets are driven by their prior parents: the linear model's top TFs are mostly parents
    mlr = [r["top10_parent_fraction"] for r in rows if r["model"] == "mlr"]
    assert min(mlr) >= 0.6
