"""The LEMBAS ligand-screen reproduction: the paper's fold table and the cross-validation plan."""

import pytest

from grnbench import engine
from grnbench.tasks import get_task
from grnbench.tasks.target_expression import ligand_screen as ls


def test_fold_table_is_the_papers():
    folds = ls.load_folds()
    assert len(folds) == 84 and folds["fold"].nunique() == 28
    assert (folds.groupby("fold").size() == 3).all()
    assert not folds["condition"].duplicated().any()  # every held-out condition in exactly one fold
    assert {"ATRA", "IL1A", "DLL1_LPS"} == set(folds.loc[folds["fold"] == 0, "condition"])


def test_prepare_keeps_network_nodes(mirror):
    data = ls.prepare_ligand_screen()
    assert data.counts["conditions"] == 103
    nodes = set(data.network["source"]) | set(data.network["target"])
    assert set(data.inputs.columns) <= nodes and set(data.outputs.columns) <= nodes
    assert data.inputs.shape == (103, 60) and data.outputs.shape == (103, 74)
    assert data.outputs.to_numpy().min() >= 0 and data.outputs.to_numpy().max() <= 1


def test_cross_validation_predicts_each_held_out_condition_once(mirror):
    data = ls.prepare_ligand_screen()
    out = engine.run(get_task("target_expression"), data, models=["mean", "ridge"], splits=["cv28"], cv_folds=[0, 5],
                     n_boot=50, n_jobs=1, per_sample=True, record_genes="all")
    metrics, per_condition, predictions = out.metrics, out.tables["per_sample"], out.tables["predictions"]
    held = set(data.folds.loc[data.folds["fold"].isin([0, 5]), "condition"])
    for model in ("mean", "ridge"):
        conds = per_condition.loc[per_condition["model"] == model, "sample"]
        assert set(conds) == held and conds.is_unique
        assert set(per_condition.loc[per_condition["model"] == model, "fold"]) == {0, 5}
    assert set(metrics["n_test"]) == {6}
    ridge_r = metrics[(metrics["model"] == "ridge") & (metrics["metric"] == "pearson_r")]["value"].iloc[0]
    assert -1 <= ridge_r <= 1
    assert len(predictions) == 2 * 6 * 74
