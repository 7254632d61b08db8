"""Task data, the benchmark loop and SHAP on a tiny synthetic dataset."""

import numpy as np
import pandas as pd
import pytest

from conftest import make_adata
from grnbench.errors import UnknownIdError
from grnbench.results import COLUMNS
from grnbench.tasks.target_expression import build_task_data
from grnbench import engine
from grnbench.results import AGGREGATE_SEED, headline
from grnbench.tasks import get_task
from grnbench.tasks.target_expression.explain import explain_models


def test_task_data_selects_tfs_targets_and_parents(tiny):
    assert tiny.tfs == [f"TF{i}" for i in range(6)]
    assert tiny.targets == [f"G{j}" for j in range(8)]
    assert tiny.parents.shape == (6, 8)
    edges = set(zip(tiny.edges["source"], tiny.edges["target"]))
    for i, tf in enumerate(tiny.tfs):
        for j, g in enumerate(tiny.targets):
            assert tiny.parents[i, j] == ((tf, g) in edges)
    assert "NOT_IN_DATA" not in set(tiny.edges["target"]) and "ABSENT_TF" not in set(tiny.edges["source"])
    assert tiny.counts["prior_edges_kept"] == tiny.parents.sum()
    assert list(tiny.adata.var["role"]) == ["TF"] * 6 + ["target"] * 8


def test_targets_never_include_tfs():
    adata, prior = make_adata()
    prior = pd.concat([prior, pd.DataFrame([("TF0", "TF1", 1.0)], columns=prior.columns)], ignore_index=True)
    data = build_task_data(adata, prior, dataset="tiny", prior_id="p")
    assert "TF1" not in data.targets and "TF1" in data.tfs


def test_max_targets_keeps_requested_genes_first():
    adata, prior = make_adata()
    data = build_task_data(adata, prior, dataset="tiny", prior_id="p", max_targets=3, keep_targets=("G0",))
    assert len(data.targets) == 3 and "G0" in data.targets
    assert data.parents.shape == (6, 3)


@pytest.fixture(scope="module")
def bench():
    adata, prior = make_adata(n_cells=80)
    data = build_task_data(adata, prior, dataset="tiny", prior_id="p")
    kw = dict(models=["mean", "ridge_parents", "mlp"], seeds=(0, 1), n_boot=100, record_genes=("G1",),
              ood={"obs_key": "cell_type", "test": ["B"]})
    task = get_task("target_expression")
    return data, engine.run(task, data, **kw), engine.run(task, data, **kw)


def test_benchmark_tables(bench):
    data, out, _ = bench
    m = out.metrics
    assert list(m.columns) == list(COLUMNS) + ["split_seed"]
    assert set(m["metric"]) == {"r2_flat", "r2_uniform", "pearson_r", "rmse", "mae"}
    assert set(m[m["model"] == "mlp"]["seed"]) == {0, 1, AGGREGATE_SEED}
    assert set(m[m["model"] == "mean"]["seed"]) == {0}
    assert (m["ci_low"] <= m["ci_high"]).all()
    head = headline(m)
    assert len(head) == 2 * 3 * 5  # splits x models x metrics
    assert set(out.paired["reference"]) == {"ridge_parents"}  # the best baseline here
    assert set(out.tables["predictions"]["gene"]) == {"G1"}
    assert len(out.tables["per_gene"]) == 2 * (1 + 1 + 2) * len(data.targets)
    assert out.counts["test_ood"] == (data.adata.obs["cell_type"] == "B").sum()


def test_same_seeds_give_identical_tables(bench):
    _, a, b = bench
    pd.testing.assert_frame_equal(a.metrics.drop(columns=["fit_seconds", "predict_seconds"]),
                                  b.metrics.drop(columns=["fit_seconds", "predict_seconds"]))
    pd.testing.assert_frame_equal(a.paired, b.paired)


def test_save_benchmark_writes_every_table(bench, tmp_path):
    _, out, _ = bench
    written = engine.save(out, tmp_path / "tiny")
    assert {p.name for p in written.values()} == {"metrics.csv", "per_gene.csv", "predictions.csv", "paired.csv",
                                                  "counts.csv", "fits.csv", "learning_curves.csv"}
    assert not list((tmp_path / "tiny").glob(".*tmp"))


def test_shap_linear_explanations_are_exact_and_parent_restricted(tiny):
    out = explain_models(tiny, ["mean", "ridge_parents", "mlr", "xgbrf_seed"], ("G2",), n_explain=10, n_background=20)
    s = out.summary.set_index("model")
    assert "mean" not in s.index
    assert s.loc["ridge_parents", "top10_parent_fraction"] == 1.0
    assert s.loc["ridge_parents", "top10_nonzero"] == tiny.parents[:, 2].sum()
    assert s.loc["mlr", "additivity_error"] < 1e-6
    assert s.loc["xgbrf_seed", "additivity_error"] < 1e-4
    sv, x = out.values[("mlr", "G2")]
    assert sv.shape == (10, len(tiny.tfs)) and list(x.columns) == tiny.tfs
    with pytest.raises(UnknownIdError, match="'NOPE'"):
        explain_models(tiny, ["mlr"], ("NOPE",))


def test_shap_for_the_mlp_uses_gradients_and_is_repeatable(tiny):
    a = explain_models(tiny, ["mlp"], ("G0",), n_explain=5, n_background=10)
    b = explain_models(tiny, ["mlp"], ("G0",), n_explain=5, n_background=10)
    assert np.isfinite(a.values[("mlp", "G0")][0]).all()
    np.testing.assert_array_equal(a.values[("mlp", "G0")][0], b.values[("mlp", "G0")][0])
