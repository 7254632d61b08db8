"""Edge-classification task: data, splits, metrics, models, benchmark and report."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score, roc_auc_score

from grnbench.data.beeline import _pairs_from_indices, edge_dataset_ids, parse_edge_id
from grnbench.errors import DataValidationError, UnknownIdError
from grnbench.metrics import binary
from grnbench.tasks.edge_classification.estimators import (DegreeScorer, PairFeatureClassifier, RandomScorer, TwoTowerClassifier,
                                   TwoTowerEnsemble, check_pairs)
from grnbench.registry import get_model, model_ids
from grnbench.tasks.edge_classification import gene_profiles, make_split, prepare
from grnbench import engine
from grnbench.results import headline
from grnbench.tasks import get_task
from grnbench.tasks.edge_classification.features import PairFeaturizer
from grnbench.tasks.edge_classification.genelink import GENELinkClassifier

TASK = "edge_classification"


def toy_adata(n_cells=120, n_tfs=12, n_targets=40, seed=0):
    """TFs drive targets: target j has 1-3 parent TFs; its expression follows them (so edges are learnable)."""
    rng = np.random.default_rng(seed)
    tfs = [f"TF{i}" for i in range(n_tfs)]
    targets = [f"G{j}" for j in range(n_targets)]
    x_tf = rng.gamma(2.0, 1.0, size=(n_cells, n_tfs))
    edges, y = [], np.zeros((n_cells, n_targets))
    for j in range(n_targets):
        parents = rng.choice(n_tfs, size=1 + j % 3, replace=False)
        for i in parents:
            edges.append((tfs[i], targets[j]))
            y[:, j] += x_tf[:, i]
    y += rng.normal(scale=0.3, size=y.shape)
    x = np.log1p(np.clip(np.hstack([x_tf, y]), 0, None)).astype(np.float32)
    adata = ad.AnnData(X=x, obs=pd.DataFrame(index=[f"c{i}" for i in range(n_cells)]),
                       var=pd.DataFrame({"is_tf": [True] * n_tfs + [False] * n_targets}, index=tfs + targets))
    adata.uns["edges"] = pd.DataFrame(edges, columns=["tf", "target"])
    return adata


@pytest.fixture(scope="module")
def toy():
    return prepare("toy", adata=toy_adata())


# ------------------------------------------------------------------ data

def test_edge_dataset_ids_follow_the_contract():
    ids = edge_dataset_ids()
    assert {"mesc_500_specific", "hhep_1000_specific", "mesc_500_lofgof", "mdc_500_string"} <= set(ids)
    assert "hesc_500_specific" not in ids  # no expression for hESC
    assert parse_edge_id("mhsc-gm_500_nonspecific") == ("mhsc-gm", "500", "nonspecific")
    with pytest.raises(UnknownIdError, match="not an edge dataset id"):
        parse_edge_id("mesc_700_specific")


def test_prepare_rejects_labels_naming_absent_genes():
    adata = toy_adata()
    adata.uns["edges"] = pd.concat([adata.uns["edges"], pd.DataFrame({"tf": ["TF0"], "target": ["NOT_A_GENE"]})])
    with pytest.raises(DataValidationError, match="NOT_A_GENE.*absent from the expression matrix"):
        prepare("toy", adata=adata)


def test_label_file_from_another_folder_is_rejected(tmp_path):
    genes = pd.Series(["A", "B", "C"], index=[0, 1, 2])
    labels = pd.DataFrame({"TF": [0, 1], "Target": [2, 57]})
    with pytest.raises(DataValidationError, match=r"Label\.csv: 1 Target row index.*57.*another folder"):
        _pairs_from_indices(tmp_path / "Label.csv", labels, genes)
    ok = _pairs_from_indices(tmp_path / "Label.csv", pd.DataFrame({"TF": [0], "Target": [2]}), genes)
    assert ok.to_dict("records") == [{"tf": "A", "target": "C"}]


def test_beeline_loader(mirror):
    data = prepare("hhep_1000_specific")
    assert data.expression.shape == (425, 1448)
    assert len(data.edges) == 15558 and len(data.tfs) == 31  # only 31 TFs have ChIP-seq targets in hHEP
    ref = data.reference
    assert ref.groupby("part").size().to_dict() == {"test": 10348, "train": 30026, "val": 4483}
    assert set(zip(ref.loc[ref["label"] == 1, "tf"], ref.loc[ref["label"] == 1, "target"])) <= \
        set(zip(data.edges["tf"], data.edges["target"]))
    lofgof = prepare("mesc_500_lofgof")  # expression borrowed from the Specific folder, matched by gene name
    assert lofgof.expression.shape == (421, 1120) and lofgof.reference is None


# ------------------------------------------------------------------ splits

def test_heldout_splits_share_no_tf_or_target_and_no_pair(toy):
    tf_split = make_split(toy, "heldout_tf", seed=1)
    train_tfs = set(tf_split.loc[tf_split["part"] == "train", "tf"])
    test_tfs = set(tf_split.loc[tf_split["part"] == "test", "tf"])
    assert test_tfs and not train_tfs & test_tfs
    tg_split = make_split(toy, "heldout_target", seed=1)
    assert not set(tg_split.loc[tg_split["part"] == "train", "target"]) & set(tg_split.loc[tg_split["part"] == "test", "target"])
    for pairs in (tf_split, tg_split, make_split(toy, "random", seed=1)):
        assert not pairs.duplicated(["tf", "target"]).any()
        assert set(pairs["part"]) == {"train", "val", "test"}
    # held-out test sets hold every candidate pair of their TFs: positive rate = those TFs' density
    test = tf_split[tf_split["part"] == "test"]
    assert len(test) == len(test_tfs) * (len(toy.genes) - 1)


def test_random_split_follows_the_genelink_protocol(toy):
    pairs = make_split(toy, "random", seed=0)
    rate = pairs.groupby("part")["label"].mean()
    assert rate["train"] == pytest.approx(0.5, abs=0.02) and rate["val"] == pytest.approx(0.5, abs=0.05)
    assert rate["test"] == pytest.approx(toy.density, rel=0.1)
    # transductive: every test TF also has training pairs
    assert set(pairs.loc[pairs["part"] == "test", "tf"]) <= set(pairs.loc[pairs["part"] == "train", "tf"])
    again = make_split(toy, "random", seed=0)
    assert again.equals(pairs)


def test_split_bad_input(toy):
    with pytest.raises(UnknownIdError, match="no shipped reference split"):
        make_split(toy, "reference")
    with pytest.raises(UnknownIdError, match="unknown split id 'nope'"):
        make_split(toy, "nope")


# ------------------------------------------------------------------ metrics

def test_binary_metrics_hand_computed():
    y = np.array([1, 1, 0, 0, 0])
    s = np.array([0.9, 0.4, 0.4, 0.2, 0.1])
    # positive pairs vs negatives: (0.9 beats all 3) + (0.4 ties one, beats two) = 3 + 2.5 out of 6
    assert binary.auroc(y, s) == pytest.approx(5.5 / 6)
    # tied group {0.4}: precision after it 2/3, recall step 1/2; AP = 1/2 * 1 + 1/2 * 2/3
    assert binary.auprc(y, s) == pytest.approx(0.5 + 1 / 3)
    assert binary.auprc_ratio(y, s) == pytest.approx((0.5 + 1 / 3) / 0.4)
    p = (s >= 0.4).astype(int)  # TP 2, FP 1, FN 0, TN 2
    assert binary.precision(y, p) == pytest.approx(2 / 3)
    assert binary.recall(y, p) == 1.0
    assert binary.f1(y, p) == pytest.approx(0.8)
    assert binary.accuracy(y, p) == pytest.approx(0.8)
    assert binary.best_f1_threshold(y, s) == pytest.approx(0.4)
    assert binary.precision([0, 1], [0, 0]) == 0.0  # nothing predicted positive


def test_binary_metrics_agree_with_sklearn_with_weights():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 400)
    s = np.round(rng.random(400) + 0.4 * y, 1)
    w = rng.integers(0, 3, 400)
    p = (s >= 0.7).astype(int)
    assert binary.auroc(y, s) == pytest.approx(roc_auc_score(y, s))
    assert binary.auprc(y, s) == pytest.approx(average_precision_score(y, s))
    batched = binary.auroc(y, s, weights=np.vstack([w, np.ones(400)]))
    assert batched[0] == pytest.approx(roc_auc_score(y, s, sample_weight=w)) and batched[1] == pytest.approx(binary.auroc(y, s))
    assert binary.auprc(y, s, weights=w) == pytest.approx(average_precision_score(y, s, sample_weight=w))
    assert binary.f1(y, p, weights=w) == pytest.approx(f1_score(y, p, sample_weight=w))
    assert binary.precision(y, p) == pytest.approx(precision_score(y, p))
    assert binary.recall(y, p) == pytest.approx(recall_score(y, p))
    with pytest.raises(DataValidationError, match="0/1"):
        binary.auroc([0, 2], [0.1, 0.2])


# ------------------------------------------------------------------ models

def test_degree_scorer_counts_training_edges():
    X = pd.DataFrame({"tf": ["A", "A", "B", "B", "A"], "target": ["x", "y", "x", "z", "z"]})
    y = np.array([1, 1, 1, 0, 0])
    m = DegreeScorer().fit(X, y)
    test = pd.DataFrame({"tf": ["A", "B", "C"], "target": ["x", "y", "q"]})
    # A has 2 positive edges, B 1; x is the target of 2, y of 1; scale = 2 + 2 + 1
    np.testing.assert_allclose(m.predict_proba(test)[:, 1], [4 / 5, 2 / 5, 0.0])


def test_pair_features_match_numpy_and_scipy():
    from scipy.stats import spearmanr

    adata = toy_adata()
    expr = pd.DataFrame(adata.X, columns=adata.var_names)
    f = PairFeaturizer(expr).transform(pd.DataFrame({"tf": ["TF0", "TF1"], "target": ["G0", "G5"]}))
    assert f.loc[0, "pearson"] == pytest.approx(np.corrcoef(expr["TF0"], expr["G0"])[0, 1])
    assert f.loc[1, "spearman"] == pytest.approx(spearmanr(expr["TF1"], expr["G5"]).statistic)
    assert f.loc[0, "tf_var"] == pytest.approx(expr["TF0"].var(ddof=0))
    assert (f["mutual_info"] >= 0).all()
    with pytest.raises(DataValidationError, match="NOPE"):
        PairFeaturizer(expr).transform(pd.DataFrame({"tf": ["TF0"], "target": ["NOPE"]}))


@pytest.mark.parametrize("model_id", model_ids(TASK))
def test_every_model_fits_and_scores_the_toy_split(toy, model_id):
    toy.gene_features = gene_profiles(toy.expression, n_clusters=4, n_pcs=4)
    pairs = make_split(toy, "random", seed=0)
    tr, va, te = (pairs[pairs["part"] == p] for p in ("train", "val", "test"))
    est = get_model(model_id, TASK).build(toy)
    if model_id.startswith("two_tower"):
        params = {"max_epochs": 40, "emb_dim": 8, "hidden": (16,), "out_dim": 8, "batch_size": 32, "lr": 3e-3}
        est = est.set_params(**({f"base__{k}": v for k, v in params.items()} | {"n_members": 2}
                                if model_id == "two_tower_ensemble" else params))
    est.fit(tr[["tf", "target"]], tr["label"].to_numpy(), validation=(va[["tf", "target"]], va["label"].to_numpy()))
    proba = est.predict_proba(te[["tf", "target"]])
    assert proba.shape == (len(te), 2) and np.allclose(proba.sum(axis=1), 1) and (proba >= 0).all()
    assert set(np.unique(est.predict(te[["tf", "target"]]))) <= {0, 1}
    if model_id in ("degree", "pair_xgb", "two_tower"):  # the planted edges are learnable
        assert binary.auroc(te["label"].to_numpy(), proba[:, 1]) > 0.6


def test_two_tower_seed_is_the_published_configuration(toy):
    toy.gene_features = gene_profiles(toy.expression, n_clusters=4, n_pcs=4)
    est = get_model("two_tower_seed", TASK).build(toy)
    # the seed's README: embedding 512, FC -> 2048 -> 1024 -> 512, tau 0.05, Adam lr 0.005, weight decay 0.01
    assert (est.emb_dim, tuple(est.hidden), est.out_dim, est.tau, est.lr, est.weight_decay) == \
        (512, (2048, 1024), 512, 0.05, 0.005, 0.01)
    tuned = get_model("two_tower", TASK).build(toy)
    assert (tuned.dropout, tuned.batch_size, tuned.max_epochs, tuned.patience) == \
        (est.dropout, est.batch_size, est.max_epochs, est.patience)  # unstated by the seed: the tuned model's
    assert get_model("two_tower_seed", TASK).controls == ("degree", "pair_xgb", "two_tower")


def test_two_tower_is_repeatable_and_the_ensemble_averages_members(toy):
    toy.gene_features = gene_profiles(toy.expression, n_clusters=4, n_pcs=4)
    pairs = make_split(toy, "random", seed=0)
    tr, te = pairs[pairs["part"] == "train"], pairs[pairs["part"] == "test"]
    kw = {"gene_features": toy.gene_features, "max_epochs": 10, "emb_dim": 8, "hidden": (16,), "out_dim": 8}
    a = TwoTowerClassifier(**kw, random_state=3).fit(tr[["tf", "target"]], tr["label"].to_numpy())
    b = TwoTowerClassifier(**kw, random_state=3).fit(tr[["tf", "target"]], tr["label"].to_numpy())
    np.testing.assert_array_equal(a.predict_proba(te[["tf", "target"]]), b.predict_proba(te[["tf", "target"]]))
    c = TwoTowerClassifier(**kw, random_state=4).fit(tr[["tf", "target"]], tr["label"].to_numpy())
    ens = TwoTowerEnsemble.from_members([a, c])
    np.testing.assert_allclose(ens.predict_proba(te[["tf", "target"]]),
                               (a.predict_proba(te[["tf", "target"]]) + c.predict_proba(te[["tf", "target"]])) / 2)
    # a fitted model survives pickling (the unit store keeps ensemble members; Dask sends them back)
    import pickle

    back = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(back.predict_proba(te[["tf", "target"]]), a.predict_proba(te[["tf", "target"]]))
    assert back.threshold_ == a.threshold_


def _module_pairs(seed=0, n_cells=150, n_tf=8, n_tg=200):
    """TFs and targets in 4 co-expressed modules; every TF regulates every target of its module."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n_cells, 4))
    tf_mod, tg_mod = np.arange(n_tf) % 4, np.arange(n_tg) % 4
    x = np.hstack([z[:, tf_mod] + 0.5 * rng.normal(size=(n_cells, n_tf)),
                   z[:, tg_mod] + rng.normal(size=(n_cells, n_tg))])
    genes = [f"TF{i}" for i in range(n_tf)] + [f"G{j}" for j in range(n_tg)]
    pairs = pd.DataFrame([(f"TF{i}", f"G{j}") for i in range(n_tf) for j in range(n_tg)], columns=["tf", "target"])
    y = np.array([int(tf_mod[i] == tg_mod[j]) for i in range(n_tf) for j in range(n_tg)])
    return pd.DataFrame(x, columns=genes), pairs, y, rng


def test_genelink_learns_transductively_is_repeatable_and_isolated_genes_attend_uniformly():
    X, pairs, y, rng = _module_pairs()
    pos, neg = rng.permutation(np.flatnonzero(y == 1)), rng.permutation(np.flatnonzero(y == 0))
    tr = np.concatenate([pos[:2 * len(pos) // 3], neg[:len(neg) // 2]])  # GENELink's protocol: a random share
    te = np.setdiff1d(np.arange(len(y)), tr)                               # of every TF's edges is held out
    fit = lambda seed: GENELinkClassifier(expression=X, progress=False, random_state=seed).fit(pairs.iloc[tr], y[tr])
    a, b, c = fit(0), fit(0), fit(1)
    np.testing.assert_array_equal(a.predict_proba(pairs.iloc[te]), b.predict_proba(pairs.iloc[te]))
    assert not np.array_equal(a.predict_proba(pairs.iloc[te]), c.predict_proba(pairs.iloc[te]))
    assert len(a.history_) == 20 and a.history_[-1]["train_loss"] < a.history_[0]["train_loss"]
    assert a.n_train_edges_ == len(pos) * 2 // 3
    assert binary.auroc(y[te], a.predict_proba(pairs.iloc[te])[:, 1]) > 0.6  # measured 0.74
    # TF1 and TF2 keep only negative training pairs: without a neighbour in the graph both attend uniformly to
    # every gene (the authors' all -9e15 softmax row), so their embeddings are identical despite different profiles
    keep = tr[~(pairs.iloc[tr]["tf"].isin(["TF1", "TF2"]).to_numpy() & (y[tr] == 1))]
    d = GENELinkClassifier(expression=X, progress=False, epochs=2).fit(pairs.iloc[keep], y[keep])
    i1, i2, i3 = (X.columns.get_loc(g) for g in ("TF1", "TF2", "TF3"))
    np.testing.assert_allclose(d.tf_embedding_[i1], d.tf_embedding_[i2])
    assert not np.allclose(d.tf_embedding_[i1], d.tf_embedding_[i3])
    with pytest.raises(DataValidationError, match="needs the expression matrix"):
        GENELinkClassifier().fit(pairs.iloc[tr], y[tr])
    bad = X.copy()
    bad.iloc[0, 3] = np.nan
    with pytest.raises(DataValidationError, match="NaN"):
        GENELinkClassifier(expression=bad).fit(pairs.iloc[tr], y[tr])


def test_genelink_sparse_attention_equals_the_authors_dense_masked_softmax():
    # the authors' layer (scGNN.py): e = LeakyReLU(a1.h_i + a2.h_j), -9e15 where no edge, softmax over all genes,
    # att @ h, LeakyReLU, row L2 norm, + bias; written out densely here and compared with the sparse module (eval)
    import torch
    from torch.nn import functional as F

    from grnbench.tasks.edge_classification.genelink import build_genelink, graph_index

    rng = np.random.default_rng(3)
    n, f = 40, 12
    mask = rng.random((n, n)) < 0.08
    mask = mask | mask.T
    np.fill_diagonal(mask, False)
    mask[[4, 9]] = False  # two genes without neighbours: a uniform row
    mask[:, [4, 9]] = False
    x = torch.as_tensor(rng.normal(size=(n, f)), dtype=torch.float32)
    torch.manual_seed(0)
    net = build_genelink(f).eval()

    def dense_head(head, inp):
        h = inp @ head.weight
        d = h.shape[1]
        e = F.leaky_relu(h @ head.a[:d] + (h @ head.a[d:]).T, negative_slope=0.2)
        att = torch.softmax(torch.where(torch.as_tensor(mask), e, torch.full_like(e, -9e15)), dim=1)
        return F.normalize(F.leaky_relu(att @ h, negative_slope=0.2), p=2, dim=1) + head.bias

    with torch.no_grad():
        z1 = F.elu(torch.cat([dense_head(h, x) for h in net.layer1], dim=1))
        dense = torch.stack([dense_head(h, z1) for h in net.layer2]).mean(dim=0)
        sparse = net.encode(x, tuple(torch.as_tensor(v) for v in graph_index(mask)))
    np.testing.assert_allclose(sparse.numpy(), dense.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sparse[4].numpy(), sparse[9].numpy(), rtol=1e-6)  # both uniform rows agree


def test_model_bad_input(toy):
    X = pd.DataFrame({"tf": ["TF0", "TF1"], "target": ["G0", "G1"]})
    with pytest.raises(DataValidationError, match="no positive pairs"):
        DegreeScorer().fit(X, [0, 0])
    with pytest.raises(DataValidationError, match="columns 'tf' and 'target'"):
        RandomScorer().fit(X.rename(columns={"tf": "source"}), [0, 1])
    with pytest.raises(DataValidationError, match="GHOST"):
        check_pairs(pd.DataFrame({"tf": ["GHOST"], "target": ["G0"]}), genes=["G0", "TF0"])
    with pytest.raises(DataValidationError, match="needs the expression matrix"):
        PairFeatureClassifier().fit(X, [0, 1])


# ------------------------------------------------------------------ benchmark and report

@pytest.fixture(scope="module")
def toy_benchmark(tmp_path_factory):
    data = prepare("toy", adata=toy_adata())
    small = {"max_epochs": 10, "emb_dim": 8, "hidden": (16,), "out_dim": 8}
    out = engine.run(get_task(TASK), data, models=["two_tower", "two_tower_ensemble", "degree", "pair_xgb", "random"],
                     splits=("reference", "heldout_tf"), seeds=(0, 1), ablation_seeds=(0,), n_boot=50,
                     model_params={"two_tower": small})
    root = tmp_path_factory.mktemp("results")
    engine.save(out, root / TASK / "toy")
    return out, root


def test_benchmark_tables(toy_benchmark):
    out, root = toy_benchmark
    m = out.metrics
    assert set(m["split"]) == {"random", "heldout_tf"}  # no shipped split: reference -> random
    assert set(m["metric"]) == {"accuracy", "precision", "recall", "f1", "auroc", "auprc", "auprc_ratio"}
    assert set(m.loc[m["model"] == "two_tower", "seed"]) == {0, 1, -1}
    single = m[(m["model"] == "two_tower") & (m["seed"] >= 0)]
    assert single["ci_low"].isna().all() and single["value"].notna().all()  # the CI sits on the seed-average row
    agg = m[(m["model"] == "two_tower") & (m["seed"] == -1)]
    assert (agg["ci_low"] <= agg["value"]).all() and (agg["value"] <= agg["ci_high"]).all()
    head = headline(m)
    assert not ((head["model"] == "two_tower") & (head["seed"] >= 0)).any()
    rnd = head[(head["model"] == "random") & (head["metric"] == "auprc_ratio")]["value"]
    assert (abs(rnd - 1) < 0.6).all()
    assert set(out.paired["reference"]) == {"degree", "pair_xgb", "two_tower"}
    assert set(out.tables["ablation"]["inputs"]) == {"both", "embedding", "expression"}
    assert (out.fits["predict_seconds"] > 0).all() and (out.fits["n_test"] > 0).all()
    per_tf = out.tables["per_tf"]
    assert set(per_tf["dataset"]) == {"toy"} and per_tf["auroc"].between(0, 1).all()
    for name in ("metrics", "splits", "paired", "per_tf", "ablation", "fits", "counts"):
        assert (root / TASK / "toy" / f"{name}.csv").is_file()


def test_report_reads_the_tables(toy_benchmark):
    from grnbench.tasks.edge_classification import report

    _, root = toy_benchmark
    res = report.load_results(root, ["toy"])
    table = report.interval_table(res.headline, metrics=("auroc",), order=res.models)
    assert table.index.get_level_values("model")[0] == "random"
    text = report.verdict(res, "heldout_tf")
    assert "`degree`" in text and "`pair_xgb`" in text
    assert report.verdict(res, "heldout_target").startswith("No `heldout_target` split")
    seeds = report.seed_spread(res.metrics, ("auroc",))
    assert {"mean", "sd"} <= set(seeds.columns)
    assert not report.per_tf_summary(res).empty and not report.timing_table(res).empty
    assert set(report.ablation_table(res).index.get_level_values("inputs")) == {"both", "embedding", "expression"}
    with pytest.raises(FileNotFoundError, match="metrics.csv"):
        report.load_results(root, ["absent"])


def test_c3_split_shares_no_gene_between_test_and_training_pairs():
    data = prepare("toy", adata=toy_adata())
    pairs = make_split(data, "c3", seed=1)
    seen = set(pairs.loc[pairs["part"].isin(["train", "val"]), ["tf", "target"]].to_numpy().ravel())
    test = pairs[pairs["part"] == "test"]
    assert len(test) and not (set(test["tf"]) | set(test["target"])) & seen
    train = pairs[pairs["part"] == "train"]
    val_genes = set(pairs.loc[pairs["part"] == "val", ["tf", "target"]].to_numpy().ravel())
    assert not val_genes & set(train[["tf", "target"]].to_numpy().ravel())
    assert set(pairs["label"]) == {0, 1}
    for part in ("train", "val", "test"):
        assert pairs.loc[pairs["part"] == part, "label"].nunique() == 2
    again = make_split(data, "c3", seed=1)
    pd.testing.assert_frame_equal(pairs, again)


def test_ensemble_from_stored_member_scores_equals_from_members(toy_benchmark):
    """The engine builds the ensemble from its members' stored scores: same numbers as refitted members."""
    from grnbench.engine import Context, _plans
    from grnbench.metrics.binary import auroc

    out, _ = toy_benchmark
    task = get_task(TASK)
    data = prepare("toy", adata=toy_adata())
    ctx = Context(task=task, data=data, options={}, split_seed=0, seeds=(0, 1))
    task.on_start(ctx)
    [plan] = [p for p in _plans(task, ctx, ("heldout_tf",), (0,))]
    fold = plan.folds[0]
    from grnbench.registry import get_model

    small = {"max_epochs": 10, "emb_dim": 8, "hidden": (16,), "out_dim": 8}
    spec = get_model("two_tower", TASK)
    members = [spec.build(data, **small).set_params(random_state=s).fit(fold.train[0], fold.train[1],
                                                                        validation=fold.val) for s in (0, 1)]
    ens = TwoTowerEnsemble.from_members(members, validation=fold.val)
    expected = auroc(fold.y_test, ens.predict_proba(fold.x_test)[:, 1])
    m = out.metrics
    got = m[(m["model"] == "two_tower_ensemble") & (m["split"] == "heldout_tf") & (m["metric"] == "auroc")]["value"]
    assert got.iloc[0] == pytest.approx(expected, abs=1e-12)
    thr = m[(m["model"] == "two_tower_ensemble") & (m["split"] == "heldout_tf") & (m["metric"] == "f1")]["value"]
    pred = (ens.predict_proba(fold.x_test)[:, 1] >= ens.threshold_).astype(int)
    tp = int(((pred == 1) & (fold.y_test == 1)).sum())
    f1 = 2 * tp / (pred.sum() + fold.y_test.sum())
    assert thr.iloc[0] == pytest.approx(f1, abs=1e-12)
