"""The benchmark engine: verdicts by metric direction, seeds, comparisons, ensembles, folds, options."""

import numpy as np
import pandas as pd
import pytest

from conftest import make_adata
from grnbench import engine
from grnbench.engine import verdict
from grnbench.errors import UnknownIdError
from grnbench.registry import display_order, get_metric, get_model, metric_ids, model_ids
from grnbench.tasks import TASKS, get_task
from grnbench.tasks.target_expression import build_task_data


def test_verdict_respects_the_metric_direction():
    assert verdict(0.1, 0.3, maximize=True) == "better"
    assert verdict(-0.3, -0.1, maximize=True) == "worse"
    # an error metric (lower is better): a negative difference is an improvement
    assert verdict(-0.3, -0.1, maximize=False) == "better"
    assert verdict(0.1, 0.3, maximize=False) == "worse"
    assert verdict(-0.1, 0.2, maximize=False) == "no difference"
    assert verdict(np.nan, np.nan, maximize=True) == "no difference"


@pytest.fixture(scope="module")
def te_run():
    adata, prior = make_adata(n_cells=100)
    data = build_task_data(adata, prior, dataset="tiny", prior_id="p")
    data.ood = {"obs_key": "cell_type", "test": ["B"]}
    out = engine.run(get_task("target_expression"), data, models=["mean", "ridge_parents", "mlp"], seeds=(0, 1),
                     n_boot=100, model_params={"mlp": {"max_epochs": 40, "hidden": (16,)}})
    return data, out


def test_paired_verdicts_follow_each_metric_direction(te_run):
    _, out = te_run
    p = out.paired
    for metric in ("rmse", "mae", "r2_flat"):
        maximize = get_metric(metric, "target_expression").maximize
        rows = p[p["metric"] == metric]
        assert len(rows)
        for r in rows.itertuples():
            assert r.verdict == verdict(r.ci_low, r.ci_high, maximize)
    # the mean control is far worse than ridge on the parents: lower r2, higher rmse, both "worse"
    mean = p[(p["model"] == "mean") & (p["reference"] == "ridge_parents")].set_index(["split", "metric"])
    assert (mean.loc[(slice(None), "r2_flat"), "diff"] < 0).all() and (mean.loc[(slice(None), "rmse"), "diff"] > 0).all()
    assert set(mean.loc[(slice(None), ["r2_flat", "rmse"]), "verdict"]) == {"worse"}


def test_seed_rows_fits_table_and_best_control(te_run):
    data, out = te_run
    m = out.metrics
    assert set(m.loc[m["model"] == "mlp", "seed"]) == {0, 1, -1} and set(m.loc[m["model"] == "mean", "seed"]) == {0}
    assert set(out.paired.loc[out.paired["best_baseline"], "reference"]) == {"ridge_parents"}
    fits = out.fits
    assert len(fits) == 2 * (1 + 1 + 2)  # splits x (deterministic + deterministic + 2 seeds)
    assert (fits["fit_seconds"] > 0).all() and set(fits["n_test"]) == set(m["n_test"])
    assert out.counts["test_ood"] == int((data.adata.obs["cell_type"] == "B").sum())


def test_unknown_split_option_and_model_params_are_errors(te_run):
    data, _ = te_run
    task = get_task("target_expression")
    with pytest.raises(UnknownIdError, match="unknown split id.*'leaky'"):
        engine.run(task, data, models=["mean"], splits=["leaky"])
    with pytest.raises(UnknownIdError, match="unknown option.*'n_hvg'"):
        engine.run(task, data, models=["mean"], n_hvg=10)
    with pytest.raises(UnknownIdError, match="model_params names model.*'ridge'"):
        engine.run(task, data, models=["mean"], model_params={"ridge": {}})
    with pytest.raises(UnknownIdError, match="split 'cv28' is defined only for the LEMBAS ligand screen"):
        engine.run(task, data, models=["mean"], splits=["cv28"])


def test_every_task_declares_a_registered_primary_metric_and_splits():
    for task_id in TASKS:
        task = get_task(task_id)
        assert task.id == task_id
        assert task.primary_metric in metric_ids(task_id)
        assert set(task.default_splits or task.splits) <= set(task.splits)
        for m in model_ids(task_id):
            spec = get_model(m, task_id)
            assert set(spec.controls) <= set(model_ids(task_id)), (task_id, m)
            assert m not in spec.controls, (task_id, m)
            # a control is a baseline, the model an ensemble combines, or the model a variant extends
            # (catran_interventional -> catran: does the interventional loss help?)
            assert all(get_model(c, task_id).is_baseline or c == spec.ensemble_of or m.startswith(c + "_")
                       for c in spec.controls), (task_id, m)
            if spec.ensemble_of:
                assert get_model(spec.ensemble_of, task_id).stochastic
        order = display_order(task_id)
        assert sorted(order) == sorted(model_ids(task_id))
        chance = [get_model(m, task_id).chance for m in order]
        assert chance == sorted(chance, reverse=True)  # chance-level controls first


def test_no_model_id_is_written_in_the_engine():
    import inspect

    source = inspect.getsource(engine)
    for task_id in TASKS:
        for m in model_ids(task_id):
            if len(m) > 4:  # short ids such as "mean" are ordinary words
                assert f'"{m}"' not in source and f"'{m}'" not in source, m


def test_models_do_not_import_tasks():
    import pathlib

    folder = pathlib.Path(engine.__file__).parent / "models"
    for path in folder.glob("*.py"):
        assert "tasks" not in "\n".join(l for l in path.read_text().splitlines() if "import" in l), path


def test_multi_fold_split_pools_predictions_once_per_test_unit():
    """A split with several folds (the ligand screen's CV) predicts every held-out unit exactly once."""
    from grnbench.tasks.target_expression.ligand_screen import LigandScreenData

    rng = np.random.default_rng(0)
    conds = [f"c{i}" for i in range(12)]
    inputs = pd.DataFrame(rng.integers(0, 2, size=(12, 3)).astype(float), index=conds, columns=["L1", "L2", "L3"])
    outputs = pd.DataFrame(rng.random((12, 2)), index=conds, columns=["T1", "T2"])
    folds = pd.DataFrame({"fold": [0, 0, 1, 1, 2, 2], "condition": conds[:6]})
    data = LigandScreenData(inputs=inputs, outputs=outputs, network=None, folds=folds, symbols={}, counts={})
    out = engine.run(get_task("target_expression"), data, models=["mean", "ridge"], splits=["cv28"], n_boot=50,
                     per_sample=True, record_genes="all", n_jobs=2)
    ps = out.tables["per_sample"]
    for model in ("mean", "ridge"):
        rows = ps[ps["model"] == model]
        assert sorted(rows["sample"]) == sorted(conds[:6]) and rows["sample"].is_unique
        assert dict(zip(rows["sample"], rows["fold"])) == dict(zip(folds["condition"], folds["fold"]))
    assert set(out.metrics["n_test"]) == {6} and len(out.fits) == 2 * 3
    # the mean model's pooled prediction of a condition is the mean of its fold's training conditions
    pred = out.tables["predictions"]
    row = pred[(pred["model"] == "mean") & (pred["cell"] == "c0") & (pred["gene"] == "T1")]
    train = [c for c in conds if c not in ("c0", "c1")]
    assert row["predicted"].iloc[0] == pytest.approx(outputs.loc[train, "T1"].mean())


def test_models_without_validation_use_all_non_test_cells(te_run):
    data, out = te_run
    fits = out.fits.set_index(["split", "model", "seed"])
    labels = data.adata.obs["split_random"]
    n_train, n_val = int((labels == "train").sum()), int((labels == "val").sum())
    assert not get_model("mean", "target_expression").uses_validation
    assert fits.loc[("random", "mean", 0), "n_train"] == n_train + n_val
    assert fits.loc[("random", "mlp", 0), "n_train"] == n_train  # early stopping keeps the validation cells apart
    # the mean model predicts the mean over training and validation cells
    rec = engine.run(get_task("target_expression"), data, models=["mean"], splits=["random"], n_boot=20,
                     record_genes=("G0",)).tables["predictions"]
    pool = data.Y((labels != "test").to_numpy())["G0"].mean()
    assert rec["predicted"].to_numpy() == pytest.approx(pool)
    assert rec["predicted"].iloc[0] != pytest.approx(data.Y((labels == "train").to_numpy())["G0"].mean())


def test_best_control_is_chosen_on_validation_not_test():
    task = get_task("target_expression")
    specs = [get_model(m, "target_expression") for m in ("mean", "ridge", "mlp")]
    funcs = [get_metric("r2_flat", "target_expression")]
    y_val = np.array([[0.0], [1.0], [2.0], [3.0]])
    good, bad = y_val + 0.1, np.zeros_like(y_val) + 1.5
    selection = (y_val, {("mean", None): [bad], ("ridge", None): [good]})
    assert engine._best_control(task, specs, funcs, selection, None) == "ridge"
    selection = (y_val, {("mean", None): [good], ("ridge", None): [bad]})
    assert engine._best_control(task, specs, funcs, selection, None) == "mean"
    assert engine._best_control(task, specs, funcs, None, None) is None


def test_split_seeds_give_a_headline_and_a_spread():
    from grnbench.results import headline, split_spread

    adata, prior = make_adata(n_cells=80)
    data = build_task_data(adata, prior, dataset="tiny", prior_id="p")
    out = engine.run(get_task("target_expression"), data, models=["mean", "ridge"], splits=["random"],
                     split_seeds=(0, 1, 2), n_boot=50)
    m = out.metrics
    assert set(m["split_seed"]) == {0, 1, 2} and set(out.paired["split_seed"]) == {0, 1, 2}
    head = headline(m)
    assert set(head["split_seed"]) == {0} and len(head) == 2 * 5
    spread = split_spread(m)
    assert set(spread["n_splits"]) == {3} and (spread["split_sd"] > 0).all()
    # different split seeds draw different test cells
    values = m[(m["model"] == "ridge") & (m["metric"] == "r2_flat")]["value"]
    assert values.nunique() == 3


def test_learning_curves_of_neural_models(te_run):
    _, out = te_run
    lc = out.tables["learning_curves"]
    assert set(lc["model"]) == {"mlp"} and {"epoch", "train_loss", "val_loss", "best_epoch"} <= set(lc.columns)
    assert (lc.groupby(["split", "seed"])["epoch"].max() >= lc.groupby(["split", "seed"])["best_epoch"].first()).all()


def test_target_parts_run_as_units_and_join_to_the_whole_fit(tmp_path):
    """target_chunk splits per-target models into units of that many targets; joined, they predict as the whole fit."""
    from grnbench.data.simulate import simulate_seed_scale
    from grnbench.units import UnitStore

    sim = simulate_seed_scale(300, 20, 45, 600, seed=1)
    data = build_task_data(sim.adata, sim.prior, dataset="sim", prior_id="sim")
    models = ["mean", "mlr", "ridge_parents", "xgbrf_seed", "mlp"]
    kw = dict(models=models, splits=["random"], seeds=[0], n_boot=20, scheduler="inprocess", record_genes="all",
              model_params={"xgbrf_seed": {"batch_size": 10}, "mlp": {"max_epochs": 2, "param_grid": {}}})
    whole = engine.run(get_task("target_expression"), data, **kw)
    store = UnitStore(tmp_path / "units")
    parted = engine.run(get_task("target_expression"), data, target_chunk=10, units=store, **kw)
    a, b = whole.tables["predictions"], parted.tables["predictions"]
    for m in ["mean", "mlr", "ridge_parents", "xgbrf_seed"]:  # xgbrf_seed: chunk = its batch size
        assert np.allclose(a[a.model == m].predicted, b[b.model == m].predicted, atol=1e-10), m
    keys = lambda m: list(tmp_path.glob(f"units*/target_expression/sim/{m}/*.pkl.gz"))  # noqa: E731 (short fits: units-local)
    assert len(keys("mlr")) == 5 and len(keys("ridge_parents")) == 5  # 45 targets in parts of 10
    assert len(keys("mlp")) == 1  # not a per-target model: one unit
    ma, mb = whole.metrics, parted.metrics
    sel = (ma["model"] == "mlr") & (ma["metric"] == "r2_flat")
    assert mb.loc[(mb["model"] == "mlr") & (mb["metric"] == "r2_flat"), "value"].iloc[0] == pytest.approx(
        ma.loc[sel, "value"].iloc[0], abs=1e-12)
    # a re-run reads every part back from the store
    again = engine.run(get_task("target_expression"), data, target_chunk=10, units=store, **kw)
    assert again.metrics["value"].equals(parted.metrics["value"])
    with pytest.raises(UnknownIdError, match="target_chunk"):
        engine.run(get_task("target_expression"), data, target_chunk=-3, **kw)


def test_join_parts_concatenates_columns_and_lists_differing_params():
    from grnbench.units import UnitResult

    def unit(cols, params, seconds):
        pred = np.full((2, cols), float(cols))
        return UnitResult(evaluations=[engine.Evaluation(pred, 0.5)], val_evaluations=None, fit_seconds=seconds,
                          predict_seconds=0.5, seed=0, params=params, state={}, history=None, best_epoch=np.nan,
                          member_val=None)

    joined = engine.join_parts([unit(2, '{"a": 1}', 1.0), unit(3, '{"a": 2}', 2.0)])
    assert joined.evaluations[0].prediction.tolist() == [[2, 2, 3, 3, 3]] * 2
    assert joined.fit_seconds == 3.0 and joined.predict_seconds == 1.0 and joined.evaluations[0].seconds == 1.0
    assert joined.params == '{"parts": [{"a": 1}, {"a": 2}]}'
    assert engine.join_parts([unit(1, '{"a": 1}', 1.0), unit(1, '{"a": 1}', 1.0)]).params == '{"a": 1}'
