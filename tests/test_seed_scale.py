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
    assert row["seconds_per_step"] > 0 and row["max_steps"] == 150
    assert row["fit_forecast_recurrent_seconds"] >= row["fit_forecast_seconds"]


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


def test_forecasts_fill_only_what_did_not_run_at_full_scale(script):
    import pandas as pd

    table = pd.DataFrame({
        "model": ["mlr", "mlr", "xgbrf", "xgbrf_seed", "xgbrf_seed"],
        "n_targets": [1000, 16100, 1000, 1000, 16100],
        "n_samples": [15935] * 5, "n_tfs": [1197] * 5,
        "status": ["ok", "ok", "ok", "ok", "timeout after 7200 s"],
        "fit_seconds": [3.0, 60.0, 1500.0, 600.0, np.nan], "peak_rss_gb": [3.0, 11.0, 3.5, 3.3, 9.0],
        "load_before": [1.0] * 5, "cores": [2] * 5, "git_sha": ["abc"] * 5,
    })
    lembas = pd.DataFrame({"n_targets": [16100], "n_samples": [15935], "n_tfs": [1197], "n_edges": [1153904],
                           "status": ["ok"], "schedule_updates": [996], "seconds_per_update": [30.0],
                           "updates_timed": [5], "fit_forecast_seconds": [29880.0], "peak_rss_gb": [7.5],
                           "wall_seconds": [400.0], "load_before": [1.0], "cores": [2], "git_sha": ["abc"]})
    out = script.with_forecasts(table, lembas)
    fc = out[out["forecast"]].set_index("model")
    assert set(fc.index) == {"lembas", "xgbrf", "xgbrf_seed"}  # mlr ran at 16,100: no forecast
    assert fc.loc["xgbrf", "fit_seconds"] == pytest.approx(1500.0 * 16.1) and fc.loc["xgbrf", "n_targets"] == 16100
    assert fc.loc["xgbrf_seed", "fit_seconds"] == pytest.approx(600.0 * 16.1)  # its full run timed out
    assert fc.loc["lembas", "fit_seconds"] == 29880.0 and fc.loc["lembas", "peak_rss_gb"] == 7.5
    assert fc["status"].str.startswith("forecast").all()
    assert len(out[~out["forecast"]]) == len(table)  # measured rows are kept as they are
    again = script.with_forecasts(out, lembas)  # re-running replaces the forecasts, never stacks them
    assert len(again) == len(out) and again["fit_seconds"].equals(out["fit_seconds"])
    book = script.book_table(again)
    assert (book.loc[book["model"] == "mlr", "how"] == "measured").all()
    assert book.loc[book["model"] == "lembas", "how"].iloc[0].startswith("forecast, 996 updates")


def test_feedback_edges_add_tf_to_tf_cycles_that_lembas_iterates(script):
    sim = simulate_seed_scale(400, 30, 80, 1200, seed=2)
    prior = script.feedback_edges(sim.prior, 60, seed=3)
    new = prior.iloc[len(sim.prior):]
    tfs = set(sim.prior["source"])
    assert len(new) == 60 and set(new["source"]) <= tfs and set(new["target"]) <= tfs
    assert (new["source"] != new["target"]).all() and not prior.duplicated(["source", "target"]).any()
    assert set(new["weight"]) <= {1.0, -1.0}
    assert prior.iloc[:len(sim.prior)].equals(sim.prior)  # the simulated edges are kept as they were
    assert script.feedback_edges(sim.prior, 0, seed=3) is sim.prior
    assert script.feedback_edges(sim.prior, 60, seed=3).equals(prior)  # seeded
    data = build_task_data(sim.adata, prior, dataset="sim", prior_id="sim")
    assert data.counts["tf_tf_edges"] == 60
    row = script.lembas_probe(data, n_updates=1)
    # with cycles the fixed point takes more than the bipartite network's few steps and the Jacobian has a radius
    assert row["n_edges"] == len(data.network) and row["spectral_radius"] > 0 and row["forward_steps"] > 3


def test_lembas_forecast_uses_the_probe_with_feedback_edges(script):
    import pandas as pd

    table = pd.DataFrame({"model": ["mlr"], "n_targets": [16100], "n_samples": [15935], "n_tfs": [1197],
                          "status": ["ok"], "fit_seconds": [60.0], "peak_rss_gb": [11.0], "load_before": [1.0],
                          "cores": [2], "git_sha": ["abc"]})
    common = {"n_targets": 16100, "n_samples": 15935, "n_tfs": 1197, "status": "ok", "schedule_updates": 996,
              "updates_timed": 5, "wall_seconds": 40.0, "load_before": 1.0, "cores": 2, "git_sha": "abc"}
    lembas = pd.DataFrame([{**common, "n_edges": 1153904, "feedback_edges": 0, "seconds_per_update": 1.8,
                            "fit_forecast_seconds": 1792.8, "peak_rss_gb": 10.7},
                           {**common, "n_edges": 1233904, "feedback_edges": 80000, "seconds_per_update": 5.0,
                            "fit_forecast_seconds": 4980.0, "peak_rss_gb": 11.5}])
    fc = script.with_forecasts(table, lembas)
    fc = fc[fc["forecast"]]
    assert len(fc) == 1 and fc["fit_seconds"].iloc[0] == 4980.0 and fc["n_edges"].iloc[0] == 1233904
    assert "80,000 TF -> TF edges" in fc["status"].iloc[0]
    # a measured lembas fit of 16,100 targets replaces the forecast
    fitted = pd.concat([table, table.assign(model="lembas", fit_seconds=2000.0)], ignore_index=True)
    out = script.with_forecasts(fitted, lembas)
    assert not out["forecast"].any() and (out["model"] == "lembas").sum() == 1
