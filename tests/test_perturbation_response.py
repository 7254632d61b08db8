"""Perturbation response: metrics on hand-made cases, split invariants, models, determinism, bad input."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from grnbench import engine
from grnbench.errors import DataValidationError, GeneMismatchError, UnknownIdError
from grnbench.metrics.perturbation import de_score, noise_ceiling, per_unit, split_half_delta, weighted_mean
from grnbench.registry import metric_ids, model_ids
from grnbench.tasks import get_task
from grnbench.tasks.perturbation_response import PerturbationInput, prepare
from grnbench.tasks.perturbation_response.estimators import Additive, KNNResponse, LinearPCA, NoChange, TrainMean
from grnbench.tasks.perturbation_response.splits import make_folds
from grnbench.tasks.perturbation_response.scgen import ScGen
from grnbench.tasks.perturbation_response.transformer import PerturbTransformer

TASK = "perturbation_response"


# -- metrics -------------------------------------------------------------------------------
def test_metrics_hand_made():
    ctrl = np.array([1.0, 1.0, 1.0, 1.0])
    obs = np.array([2.0, 1.0, 0.0, 1.0])
    truth = np.stack([obs, ctrl])[None]
    exact = per_unit(truth, obs[None], n_de=2)
    assert exact["mse"][0] == 0 and exact["pearson"][0] == pytest.approx(1) and exact["pearson_delta"][0] == 1
    # no change: mse = (1 + 0 + 1 + 0) / 4; the DE genes are 0 and 2 -> mse_de = 1; no change -> pearson_delta 0
    nc = per_unit(truth, ctrl[None], n_de=2)
    assert nc["mse"][0] == pytest.approx(0.5) and nc["mse_de"][0] == pytest.approx(1.0)
    assert nc["pearson_delta"][0] == 0.0 and nc["pearson"][0] == 0.0
    # half the change: the change is perfectly correlated, the error is a quarter per DE gene
    half = per_unit(truth, (ctrl + 0.5 * (obs - ctrl))[None], n_de=2)
    assert half["pearson_delta"][0] == pytest.approx(1.0) and half["mse_de"][0] == pytest.approx(0.25)
    assert half["r2_mean"][0] == pytest.approx(half["pearson"][0] ** 2)
    # the opposite change
    opp = per_unit(truth, (ctrl - (obs - ctrl))[None], n_de=2)
    assert opp["pearson_delta"][0] == pytest.approx(-1.0)
    # weights: unit-level mean, integer weights = repeated units
    v = np.array([1.0, 2.0, 4.0])
    assert weighted_mean(v)[0] == pytest.approx(7 / 3)
    assert weighted_mean(v, np.array([[2, 0, 1]]))[0] == pytest.approx(6 / 3)
    with pytest.raises(DataValidationError, match="shape"):
        per_unit(truth, np.zeros((1, 3)))


def test_de_score_is_welch_t_and_falls_back_to_the_change():
    final = np.array([[1.0, 2.0], [3.0, 4.0]])
    initial = np.array([[0.0, 0.0], [2.0, 0.0]])
    # gene 0: means 2 vs 1, variances 2 and 2 -> t = 1 / sqrt(2/2 + 2/2); gene 1: 3 vs 0, variances 2 and 0 -> 3
    assert de_score(final, initial) == pytest.approx([1 / np.sqrt(2), 3.0])
    assert de_score(final[:1], initial) == pytest.approx([0.0, 2.0])  # one perturbed sample: |mean difference|
    assert de_score(np.ones((3, 2)), np.ones((3, 2))) == pytest.approx([0.0, 0.0])  # constant genes score 0
    with pytest.raises(DataValidationError, match="same genes"):
        de_score(final, np.zeros((2, 3)))


def test_pearson_delta_de100_uses_the_ranking_it_is_given():
    ctrl = np.zeros(4)
    obs = np.array([1.0, 2.0, 3.0, -1.0])
    pred = np.array([1.0, 2.0, -3.0, 1.0])
    held = np.array([5.0, 4.0, 0.0, 0.0])  # held-out DE: genes 0, 1 -> the deltas agree exactly
    train = np.array([0.0, 5.0, 4.0, 0.0])  # training DE: genes 1, 2 -> (2, -3) vs (2, 3): r = -1
    out = per_unit(np.stack([obs, ctrl, held, train])[None], pred[None], n_de=2, n_de_delta=2)
    assert out["pearson_delta_de100"][0] == pytest.approx(1.0)
    assert out["pearson_delta_de100_train"][0] == pytest.approx(-1.0)
    # with more genes asked for than exist, both use every gene: the plain pearson_delta
    full = per_unit(np.stack([obs, ctrl, held, train])[None], pred[None])
    assert full["pearson_delta_de100"][0] == pytest.approx(full["pearson_delta"][0])
    assert full["pearson_delta_de100_train"][0] == pytest.approx(full["pearson_delta"][0])
    # two channels: the held-out ranking is |obs - ctrl| (genes 2, 1), the training one is unknown
    two = per_unit(np.stack([obs, ctrl])[None], pred[None], n_de_delta=2)
    assert two["pearson_delta_de100"][0] == pytest.approx(-1.0) and np.isnan(two["pearson_delta_de100_train"][0])
    with pytest.raises(DataValidationError, match="shape"):
        per_unit(np.stack([obs, ctrl, held])[None], pred[None])


# -- data ----------------------------------------------------------------------------------
def kang_like(seed=0, n=30):
    """3 cell types x control/stimulated; stimulation adds a type-specific shift to genes 0-2."""
    rng = np.random.default_rng(seed)
    genes = [f"g{i}" for i in range(12)]
    rows, obs = [], []
    for t, base in zip(("A", "B", "C"), (1.0, 2.0, 3.0)):
        for cond in ("control", "stimulated"):
            x = base + rng.normal(scale=0.2, size=(n, len(genes)))
            if cond == "stimulated":
                x[:, :3] += 1.5 + 0.2 * base
            rows.append(x)
            obs += [(t, cond)] * n
    obs = pd.DataFrame(obs, columns=["cell_type", "condition"], index=[f"c{i}" for i in range(len(obs))])
    return ad.AnnData(X=np.clip(np.vstack(rows), 0, None).astype(np.float32), obs=obs,
                      var=pd.DataFrame(index=genes))


def dream_like(seed=0, g=8):
    """A wildtype and a knockout of every gene of a linear cascade g0 -> g1 -> ... (each KO lowers its child)."""
    rng = np.random.default_rng(seed)
    genes = [f"G{i}" for i in range(g)]
    wt = rng.uniform(0.4, 0.8, size=g)
    ko = np.tile(wt, (g, 1))
    for i in range(g):
        ko[i, i] = 0.0
        if i + 1 < g:
            ko[i, i + 1] *= 0.3
    x = np.vstack([wt[None], ko])
    obs = pd.DataFrame({"perturbation": ["wildtype"] + ["knockout"] * g, "intervention": [""] + genes},
                       index=["wt"] + [f"ko{i}" for i in range(g)])
    return ad.AnnData(X=x.astype(np.float32), obs=obs, var=pd.DataFrame(index=genes))


def test_heldout_cell_type_never_trains_on_the_heldout_stimulated_cells():
    data = prepare("kang_like", adata=kang_like(), n_genes=None)
    assert data.setup == "heldout_cell_type"
    folds = make_folds(data, "heldout_cell_type", seed=0)
    assert [f.units for f in folds] == [["A"], ["B"], ["C"]]
    obs = data.obs
    for f in folds:
        held = f.units[0]
        held_stim = set(obs.index[(obs["cell_type"] == held) & (obs["condition"] == "stimulated")])
        assert not (held_stim & f.train_cells)
        other_stim = set(obs.index[(obs["cell_type"] != held) & (obs["condition"] == "stimulated")])
        assert f.train_cells == other_stim
        assert len(f.x_test) == ((obs["cell_type"] == held) & (obs["condition"] == "control")).sum()
        assert np.allclose(f.truth[0, 0], data.expression.loc[sorted(held_stim)].mean().to_numpy())
        assert (f.train[0].token == "IFNB").all()
    # the training DE ranking sees no held-out stimulated cell: changing them moves only the held-out ranking
    shifted = kang_like()
    held_stim = ((shifted.obs["cell_type"] == "A") & (shifted.obs["condition"] == "stimulated")).to_numpy()
    shifted.X[np.ix_(held_stim, [5, 6])] += 3.0
    f0, f1 = make_folds(data, "heldout_cell_type")[0], make_folds(prepare("s", adata=shifted, n_genes=None),
                                                                   "heldout_cell_type")[0]
    assert np.allclose(f0.truth[0, 3], f1.truth[0, 3]) and not np.allclose(f0.truth[0, 2], f1.truth[0, 2])
    assert set(np.argsort(-f1.truth[0, 2])[:2]) == {5, 6}


def test_loko_and_cell_pairs_invariants():
    data = prepare("dream_like", adata=dream_like())
    assert data.setup == "loko"
    folds = make_folds(data, "loko")
    assert len(folds) == 8
    for i, f in enumerate(folds):
        assert f"ko{i}" not in f.train_cells and len(f.train_cells) == 7
        p = f.x_test.pert[0]
        assert np.flatnonzero(p).tolist() == [i] and p[i] == pytest.approx(-data.expression.loc["wt"].iloc[i])
    pairs = prepare("pairs", adata=kang_like(), setup="cell_pairs", n_genes=None, n_perturbed=3)
    (f,) = make_folds(pairs, "cell_pairs", seed=1)
    assert ((f.x_test.pert != 0).sum(axis=1) <= 3).all()
    test_cells = {u.removeprefix("pair_") for u in f.units}
    assert not (test_cells & f.train_cells)
    # the perturbation is the partner's value minus the first cell's value on the perturbed genes
    obs_final, x0 = f.truth[:, 0], f.truth[:, 1]
    mask = f.x_test.pert != 0
    assert np.allclose(f.x_test.pert[mask], (obs_final - x0)[mask])
    with pytest.raises(UnknownIdError, match="set-up"):
        make_folds(pairs, "loko")


# -- noise ceiling -------------------------------------------------------------------------
def test_split_half_delta_on_hand_made_cells():
    # identical perturbed cells and identical controls: every half shows the same change, r = 1
    final = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    initial = np.zeros((2, 3))
    assert np.allclose(split_half_delta(final, initial, n_splits=5, seed=0), 1.0)
    # two cells each: the halves are single cells; change A = (1, 0, 0) - 0, change B = (0, 1, 0) - 0
    final = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    r = split_half_delta(final, np.zeros((2, 3)), n_splits=4, seed=1)
    assert np.allclose(r, -0.5)  # corr((1,0,0), (0,1,0)) = -0.5 by hand, whichever cell is A
    # a constant change over genes has no correlation and scores 0
    assert np.allclose(split_half_delta(np.ones((4, 3)), np.zeros((4, 3)), n_splits=3), 0.0)
    a = split_half_delta(np.random.default_rng(0).normal(size=(9, 6)), np.zeros((5, 6)), n_splits=7, seed=[3, 1])
    b = split_half_delta(np.random.default_rng(0).normal(size=(9, 6)), np.zeros((5, 6)), n_splits=7, seed=[3, 1])
    assert a.shape == (7,) and np.array_equal(a, b)


def test_noise_ceiling_hand_values():
    # Spearman-Brown: rho = 2r / (1 + r); ceiling = sqrt(rho)
    assert noise_ceiling(1.0) == pytest.approx(1.0)
    assert noise_ceiling(0.5) == pytest.approx(np.sqrt(2 / 3))
    assert noise_ceiling(0.0) == 0.0 and noise_ceiling(-0.3) == 0.0


def test_noise_ceiling_is_what_a_perfect_prediction_scores():
    """Simulated cells: a perfect prediction's pearson_delta against the noisy observed change matches the
    ceiling estimated from split halves (in expectation; 200 simulations)."""
    rng = np.random.default_rng(0)
    perfect, ceiling, raw = [], [], []
    for _ in range(200):
        delta = rng.normal(size=200)
        ctrl_mean = rng.normal(size=200)
        final = ctrl_mean + delta + rng.normal(scale=6.0, size=(40, 200))
        initial = ctrl_mean + rng.normal(scale=6.0, size=(60, 200))
        truth = np.stack([final.mean(0), initial.mean(0)])[None]
        perfect.append(per_unit(truth, (initial.mean(0) + delta)[None])["pearson_delta"][0])
        r = split_half_delta(final, initial, n_splits=10, seed=1).mean()
        raw.append(r)
        ceiling.append(noise_ceiling(r))
    assert 0.5 < np.mean(perfect) < 0.9  # the noise matters at this level
    assert np.mean(ceiling) == pytest.approx(np.mean(perfect), abs=0.02)
    assert np.mean(raw) < np.mean(perfect) - 0.1  # the raw split-half r understates it (half the cells)


def test_split_half_delta_bad_input():
    with pytest.raises(DataValidationError, match="at least 2 perturbed"):
        split_half_delta(np.ones((1, 3)), np.ones((4, 3)))
    with pytest.raises(DataValidationError, match="same genes"):
        split_half_delta(np.ones((3, 3)), np.ones((4, 2)))
    with pytest.raises(DataValidationError, match="NaN"):
        split_half_delta(np.array([[1.0, np.nan], [1.0, 2.0]]), np.ones((2, 2)))


def test_ceilings_table_covers_units_with_replicate_cells_only():
    data = prepare("kang_like", adata=kang_like(), n_genes=None)
    folds = make_folds(data, "heldout_cell_type", seed=0)
    obs = data.obs
    for f in folds:
        stim, ctrl = f.replicates
        held = (obs["cell_type"] == f.units[0]).to_numpy()
        assert np.array_equal(stim, data.expression.to_numpy()[held & (obs["condition"] == "stimulated").to_numpy()])
        assert np.array_equal(ctrl, data.expression.to_numpy()[held & (obs["condition"] == "control").to_numpy()])
    out = engine.run(get_task(TASK), data, models=["no_change", "additive"], splits=["heldout_cell_type"], seeds=[0],
                     n_boot=20)
    c = out.tables["ceilings"]
    assert c["unit"].tolist() == ["A", "B", "C"] and (c["split"] == "heldout_cell_type").all()
    first = split_half_delta(*folds[0].replicates, n_splits=20, seed=[0, 0])
    assert c["split_half_r"].iloc[0] == pytest.approx(first.mean())
    assert c["ceiling"].iloc[0] == pytest.approx(float(noise_ceiling(first.mean())))
    # a knockout profile is one sample: no ceiling
    d4 = prepare("dream_like", adata=dream_like())
    assert all(f.replicates is None for f in make_folds(d4, "loko"))
    out = engine.run(get_task(TASK), d4, models=["no_change"], splits=["loko"], seeds=[0], n_boot=10)
    assert "ceilings" not in out.tables or not len(out.tables["ceilings"])


def test_ceiling_table_puts_models_beside_the_ceiling(tmp_path):
    from grnbench.tasks.perturbation_response import report

    data = prepare("kang_like", adata=kang_like(), n_genes=None)
    out = engine.run(get_task(TASK), data, models=["no_change", "additive"], splits=["heldout_cell_type"], seeds=[0],
                     n_boot=20)
    engine.save(out, tmp_path / "perturbation_response" / "kang_like")
    res = report.load_results(tmp_path, ["kang_like"])
    by = report.ceilings_by_dataset(res)
    assert by["units"].tolist() == [3]
    assert by["ceiling"].iloc[0] == pytest.approx(out.tables["ceilings"]["ceiling"].mean())
    t = report.ceiling_table(res)
    assert list(t.columns[:2]) == ["split-half r", "ceiling"] and {"no_change", "additive"} <= set(t.columns)
    assert t.loc[("kang_like", "heldout_cell_type"), "no_change"] == 0.0


# -- models --------------------------------------------------------------------------------
def test_baselines_on_hand_made_examples():
    genes = ["a", "b"]
    X = PerturbationInput(np.array([[1.0, 1.0], [2.0, 2.0]]), np.zeros((2, 2)), np.array(["S", "S"]), genes)
    Y = np.array([[2.0, 1.0], [4.0, 2.0]])
    new = PerturbationInput(np.array([[0.0, 5.0]]), np.zeros((1, 2)), np.array(["S"]), genes)
    assert np.allclose(NoChange().fit(X, Y).predict(new), [[0.0, 5.0]])
    assert np.allclose(TrainMean().fit(X, Y).predict(new), [[3.0, 1.5]])
    assert np.allclose(Additive().fit(X, Y).predict(new), [[1.5, 5.0]])  # mean shift (1.5, 0)
    with pytest.raises(GeneMismatchError):
        NoChange().fit(X, Y).predict(PerturbationInput(new.x0, new.pert, new.token, ["b", "a"]))


def test_linear_and_knn_learn_the_knockout_cascade():
    data = prepare("dream_like", adata=dream_like(g=12))
    folds = make_folds(data, "loko")
    errs = {}
    for name, est in (("no_change", NoChange()), ("additive", Additive()), ("ridge", LinearPCA()),
                      ("knn", KNNResponse(n_neighbors=2))):
        e = []
        for f in folds:
            pred = est.fit(*f.train).predict(f.x_test)
            e.append(per_unit(f.truth, pred)["mse"][0])
        errs[name] = np.mean(e)
    assert errs["ridge"] < errs["no_change"]  # the knocked-out gene and its child move


def test_transformer_is_deterministic_and_learns():
    data = prepare("kang_like", adata=kang_like(n=20), n_genes=None)
    f = make_folds(data, "heldout_cell_type")[0]
    a = PerturbTransformer(max_epochs=15, progress=False, random_state=0).fit(*f.train)
    b = PerturbTransformer(max_epochs=15, progress=False, random_state=0).fit(*f.train)
    c = PerturbTransformer(max_epochs=15, progress=False, random_state=1).fit(*f.train)
    pa = a.predict(f.x_test)
    assert np.array_equal(pa, b.predict(f.x_test))
    assert not np.array_equal(pa, c.predict(f.x_test))
    assert a.history_[-1]["train_loss"] < a.history_[0]["train_loss"]
    with pytest.raises(DataValidationError, match="not seen in training"):
        a.predict(PerturbationInput(f.x_test.x0[:1], f.x_test.pert[:1], np.array(["TNF"]), f.x_test.genes))


def test_transformer_masks_unmeasured_genes():
    data = prepare("kang_like", adata=kang_like(n=20), n_genes=None)
    f = make_folds(data, "heldout_cell_type")[0]
    X, Y = f.train
    x0 = X.x0.copy()
    x0[:, 5] = np.nan  # gene 5 unmeasured everywhere
    est = PerturbTransformer(max_epochs=3, progress=False).fit(PerturbationInput(x0, X.pert, X.token, X.genes), Y)
    pred = est.predict(PerturbationInput(x0[:4], X.pert[:4], X.token[:4], X.genes))
    assert np.isfinite(pred).all()
    # a masked gene's initial value cannot influence the other genes' predictions
    x1 = x0[:4].copy()
    x1[:, 5] = 100.0
    moved = est.predict(PerturbationInput(np.where(np.isnan(x0[:4]), np.nan, x1), X.pert[:4], X.token[:4], X.genes))
    assert np.allclose(np.delete(moved, 5, axis=1), np.delete(pred, 5, axis=1))


# -- bad input -----------------------------------------------------------------------------
def test_bad_input():
    adata = kang_like()
    adata.obs.loc[(adata.obs["cell_type"] == "B") & (adata.obs["condition"] == "stimulated"), "condition"] = "control"
    with pytest.raises(DataValidationError, match="B"):
        prepare("bad", adata=adata, setup="heldout_cell_type")
    adata = dream_like()
    adata.obs["intervention"] = adata.obs["intervention"].replace("G3", "GHOST")
    with pytest.raises(DataValidationError, match="GHOST"):
        prepare("bad", adata=adata)
    adata = dream_like()
    adata.obs["perturbation"] = adata.obs["perturbation"].replace("wildtype", "knockdown")
    with pytest.raises(DataValidationError, match="wildtype"):
        prepare("bad", adata=adata, setup="loko")
    with pytest.raises(DataValidationError, match="shapes disagree"):
        PerturbationInput(np.zeros((2, 3)), np.zeros((2, 2)), np.array(["", ""]), ["a", "b", "c"])
    with pytest.raises(DataValidationError, match="PerturbationInput"):
        NoChange().fit(np.zeros((2, 2)), np.zeros((2, 2)))


# -- the task on the engine -----------------------------------------------------------------
def test_scgen_learns_the_shared_shift_is_repeatable_and_takes_named_perturbations_only():
    data = prepare("kang_like", adata=kang_like(n=40), n_genes=None)
    fold = make_folds(data, "heldout_cell_type")[0]
    a = ScGen(progress=False, max_epochs=40).fit(*fold.train)
    pred = a.predict(fold.x_test)
    assert pred.shape == fold.x_test.x0.shape and np.isfinite(pred).all()
    # the stimulation shift of genes 0-2 is shared by every cell type: the latent delta carries it over
    assert per_unit(fold.truth, pred.mean(axis=0)[None])["pearson_delta"][0] > 0.7  # measured 0.99
    assert set(a.deltas_) == {"IFNB"} and a.deltas_["IFNB"].shape == (100,)
    assert a.n_perturbed_cells_ == len(fold.train[1]) and a.n_control_cells_ <= len(fold.train[1])
    b = ScGen(progress=False, max_epochs=40).fit(*fold.train)
    np.testing.assert_array_equal(pred, b.predict(fold.x_test))
    assert not np.array_equal(pred, ScGen(progress=False, max_epochs=40, random_state=1).fit(*fold.train)
                              .predict(fold.x_test))
    ko = make_folds(prepare("dream_like", adata=dream_like()), "loko")[0]
    with pytest.raises(DataValidationError, match="named perturbation"):
        ScGen(progress=False, max_epochs=1).fit(*ko.train)
    other = PerturbationInput(fold.x_test.x0, fold.x_test.pert, np.full(len(fold.x_test), "TNF", dtype=object),
                              fold.x_test.genes)
    with pytest.raises(DataValidationError, match="TNF"):
        a.predict(other)


def test_task_run_tables():
    data = prepare("kang_like", adata=kang_like(n=15), n_genes=None)
    models = ["perturb_transformer", "no_change", "train_mean", "additive", "ridge", "knn"]
    out = engine.run(get_task(TASK), data, models=models, splits=["heldout_cell_type"], seeds=[0, 1], n_boot=50,
                     model_params={"perturb_transformer": {"max_epochs": 2, "progress": False}})
    m = out.metrics
    assert set(m["metric"]) == set(metric_ids(TASK)) and set(m["model"]) == set(models)
    assert (m["n_test"] == 3).all()  # three held-out cell types
    refs = set(out.paired.loc[out.paired["model"] == "perturb_transformer", "reference"])
    assert refs == {"no_change", "train_mean", "additive", "ridge", "knn"}
    head = m[(m["model"] == "no_change") & (m["metric"] == "pearson_delta")]
    assert head["value"].iloc[0] == 0.0
    add = m[(m["model"] == "additive") & (m["metric"] == "pearson_delta")]["value"].iloc[0]
    assert add > 0.5  # the stimulation shift is shared across types
    assert len(out.tables["per_unit"]) == 3 * len(models)


def test_cell_pairs_run_scores_validation_and_test_units_with_the_training_de_ranking():
    pairs = prepare("pairs", adata=kang_like(n=15), setup="cell_pairs", n_genes=None, n_perturbed=3)
    out = engine.run(get_task(TASK), pairs, models=["no_change", "additive"], splits=["cell_pairs"], seeds=[0],
                     n_boot=20)
    m = out.metrics
    train = m[(m["metric"] == "pearson_delta_de100_train") & (m["model"] == "additive")]["value"]
    assert len(train) == 1 and np.isfinite(train.iloc[0])
    (fold,) = make_folds(pairs, "cell_pairs", seed=0)
    assert fold.truth.shape[1] == 4 and np.allclose(fold.truth[:, 3], fold.truth[0, 3])  # one training ranking


def test_registry_ids_are_the_contract():
    assert set(model_ids(TASK)) == {"perturb_transformer", "scgen", "no_change", "train_mean", "additive", "ridge", "knn"}
    assert set(metric_ids(TASK)) == {"mse", "pearson", "mse_de", "pearson_de", "pearson_delta", "r2_mean",
                                     "pearson_delta_de100", "pearson_delta_de100_train"}


def test_real_perturbation_data(mirror):
    kang = prepare("kang_ifnb", n_genes=1000)
    assert kang.setup == "heldout_cell_type" and kang.counts["cell_types"] == 7 and kang.counts["genes"] == 1000
    d4 = prepare("dream4_100_1")
    assert d4.setup == "loko" and d4.counts["knockouts"] == 100 and d4.counts["cells"] == 101
    folds = make_folds(d4, "loko")
    assert len(folds) == 100 and all(len(f.train[0]) == 99 for f in folds)


def test_knn_ignores_embedding_dimensions_that_are_constant_up_to_rounding():
    """Every example starts from the same state: its embedding is float noise and must not pick neighbours."""
    rng = np.random.default_rng(0)
    genes = [f"g{i}" for i in range(6)]
    pert = np.eye(6)[[0, 1, 2, 3, 4, 5, 0, 1]] * -1.0
    x0 = np.tile(rng.random(6), (8, 1))
    Y = x0 + pert @ rng.standard_normal((6, 6)) * 0.5
    X = PerturbationInput(x0, pert, np.array([""] * 8, dtype=object), genes)
    noisy = PerturbationInput(x0 + 1e-15 * rng.standard_normal(x0.shape), pert, X.token, genes)
    a = KNNResponse(n_neighbors=2, n_components=4).fit(X, Y)
    b = KNNResponse(n_neighbors=2, n_components=4).fit(noisy, Y)
    assert np.isinf(a.scale_).sum() >= 4  # the state embedding is dropped, not blown up to unit variance
    new = PerturbationInput(x0[:2], np.eye(6)[[2, 3]] * -1.0, np.array(["", ""], dtype=object), genes)
    np.testing.assert_allclose(a.predict(new), b.predict(new), atol=1e-12)
