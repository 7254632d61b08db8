"""Cell-type-marker task: splits, rankers, metrics, benchmark and report on small synthetic data."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

from grnbench.errors import DataValidationError, UnknownIdError
from grnbench.metrics.classification import accuracy, balanced_accuracy, macro_f1
from grnbench.tasks.cell_type_markers.estimators import (LinearRanker, RandomRanker, SelectorMLPClassifier, WilcoxonRanker,
                                      ranking_from_weights, topk_validation_accuracy)
from grnbench.registry import model_ids
from grnbench.tasks.cell_type_markers import make_split, prepare
from grnbench.tasks.cell_type_markers import report as ctm_report
from grnbench import engine
from grnbench.results import headline
from grnbench.tasks import get_task
from grnbench.tasks.cell_type_markers.markers import marker_overlap
from grnbench.tasks.cell_type_markers.persist import PersistRanker, modified_secant

TASK = "cell_type_markers"


def toy_cells(n_per_class=40, n_noise=20, seed=0, classes=("A", "B", "C")):
    """Cells whose class is carried only by genes INF0..INF2 (one per class); NOISE* are pure noise."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(list(classes), n_per_class)
    informative = np.zeros((len(labels), len(classes)))
    for j, c in enumerate(classes):
        informative[labels == c, j] = 3.0
    informative += rng.normal(scale=0.5, size=informative.shape)
    noise = rng.normal(scale=1.0, size=(len(labels), n_noise))
    genes = [f"INF{j}" for j in range(len(classes))] + [f"NOISE{j}" for j in range(n_noise)]
    x = pd.DataFrame(np.hstack([informative, noise]), columns=genes, index=[f"c{i}" for i in range(len(labels))])
    return x, labels


def toy_adata(n_per_class=40, seed=0):
    x, labels = toy_cells(n_per_class=n_per_class, seed=seed)
    adata = ad.AnnData(X=(x - x.min().min()).to_numpy(np.float32), obs=pd.DataFrame({"cell_type": labels}, index=x.index),
                       var=pd.DataFrame(index=x.columns))
    adata.uns["scale"] = "synthetic log scale"
    return adata


# ------------------------------------------------------------------ splits

def test_capped_split_respects_caps_and_drops_small_classes():
    obs = pd.DataFrame({"label": ["big"] * 500 + ["mid"] * 40 + ["tiny"] * 4})
    caps = (10, 30, 12, 100)  # min_cluster_size, test, val, train
    lab = make_split(obs, "capped", caps=caps, seed=3)
    table = pd.crosstab(obs["label"], lab)
    assert table.loc["big", "test"] == 30 and table.loc["big", "val"] == 12 and table.loc["big", "train"] == 100
    assert table.loc["big", "drop"] == 500 - 142
    # below the caps the fractions apply: 20% test, 15% validation, the rest train
    assert (table.loc["mid", "test"], table.loc["mid", "val"], table.loc["mid", "train"]) == (8, 6, 26)
    assert (lab[obs["label"] == "tiny"] == "drop").all()
    assert lab.attrs["dropped_classes"] == ["tiny"]
    again = make_split(obs, "capped", caps=caps, seed=3)
    other = make_split(obs, "capped", caps=caps, seed=4)
    assert again.equals(lab) and not other.equals(lab)


def test_class_with_one_cell_is_dropped_by_the_split_and_rejected_by_rankers():
    obs = pd.DataFrame({"label": ["A"] * 30 + ["B"] * 30 + ["lonely"]})
    lab = make_split(obs, "capped", caps=(5, 10, 5, 50))
    assert lab.iloc[-1] == "drop" and "lonely" in lab.attrs["dropped_classes"]
    x, y = toy_cells(n_per_class=10)
    y = y.astype(object)
    y[0] = "lonely"
    for est in (SelectorMLPClassifier(max_epochs=2), LinearRanker(), WilcoxonRanker()):
        with pytest.raises(DataValidationError, match="lonely"):
            est.fit(x, y)


def test_ood_split_trains_on_control_and_tests_on_stimulated():
    conditions = np.array(["control", "stimulated"] * 100)
    labels = np.array(["T"] * 120 + ["B"] * 70 + ["rare"] * 10)
    obs = pd.DataFrame({"label": labels, "condition": conditions})
    lab = make_split(obs, "ood", dataset="kang_ifnb", caps=(10, 20, 10, 40),
                     ood={"obs_key": "condition", "test": ["stimulated"], "train": ["control"]})
    assert set(obs["condition"][lab.isin(["train", "val"])]) == {"control"}
    assert set(obs["condition"][lab == "test"]) == {"stimulated"}
    # "rare" has 5 control cells (< min_cluster_size 10): dropped from training and therefore from the test
    assert not (lab[obs["label"] == "rare"] != "drop").any()
    assert (lab[(obs["condition"] == "stimulated") & (obs["label"] != "rare")] == "test").all()


def test_split_bad_input():
    obs = pd.DataFrame({"cell_type": ["A"] * 20})
    with pytest.raises(DataValidationError, match="label column 'label' is missing"):
        make_split(obs, "capped", dataset="demo")
    with pytest.raises(UnknownIdError, match="not defined for dataset 'demo'"):
        make_split(obs, "ood", dataset="demo", label_key="cell_type")
    with pytest.raises(UnknownIdError, match="unknown split id 'nope'"):
        make_split(obs, "nope", label_key="cell_type")


# ------------------------------------------------------------------ data

def test_prepare_bad_input():
    adata = toy_adata()
    with pytest.raises(DataValidationError, match="label column 'stage' is missing"):
        prepare("toy", label_key="stage", adata=adata)
    bad = adata.copy()
    bad.X[3, 5] = np.nan
    with pytest.raises(DataValidationError, match=f"NaN or infinite expression in gene.*{bad.var_names[5]}"):
        prepare("toy", adata=bad)
    missing = adata.copy()
    missing.obs["cell_type"] = missing.obs["cell_type"].astype(object)
    missing.obs.iloc[0, 0] = None
    with pytest.raises(DataValidationError, match="1 missing value"):
        prepare("toy", adata=missing)


def test_yan2013_loader(mirror):
    data = prepare("yan2013_embryo")
    assert data.adata.shape == (90, 20214)
    assert data.labels.value_counts().to_dict() == {"blast": 30, "8cell": 20, "16cell": 16, "4cell": 12,
                                                     "2cell": 6, "zygote": 6}
    assert float(data.adata.X.min()) >= 0.0  # log1p RPKM


# ------------------------------------------------------------------ metrics

def test_classification_metrics_hand_computed():
    y = np.array([0, 0, 0, 1, 1, 2])
    p = np.array([0, 0, 1, 1, 2, 2])
    assert accuracy(y, p) == pytest.approx(4 / 6)
    # per-class recall: 2/3, 1/2, 1/1
    assert balanced_accuracy(y, p) == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    # per-class F1: class 0 2*2/(4+0+1), class 1 2/(2+1+1), class 2 2/(2+1+0)
    assert macro_f1(y, p) == pytest.approx((4 / 5 + 2 / 4 + 2 / 3) / 3)
    # a class predicted but never true counts in macro-F1 (F1 0), not in balanced accuracy
    assert macro_f1([0, 0], [0, 1]) == pytest.approx((2 / 3 + 0) / 2)
    assert balanced_accuracy([0, 0], [0, 1]) == pytest.approx(0.5)


def test_classification_metrics_agree_with_sklearn_and_weights_repeat_cells():
    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    assert accuracy(y, p) == pytest.approx(accuracy_score(y, p))
    assert balanced_accuracy(y, p) == pytest.approx(balanced_accuracy_score(y, p))
    assert macro_f1(y, p) == pytest.approx(f1_score(y, p, average="macro"))
    w = rng.integers(0, 3, 200)
    rep = np.repeat(np.arange(200), w)
    batched = macro_f1(y, p, weights=np.vstack([w, np.ones(200)]))
    assert batched[0] == pytest.approx(f1_score(y[rep], p[rep], average="macro"))
    assert batched[1] == pytest.approx(macro_f1(y, p))
    with pytest.raises(DataValidationError, match="shape"):
        accuracy([0, 1], [0, 1, 1])


# ------------------------------------------------------------------ rankers

def test_selection_layer_l1_zeroes_noise_genes_and_ranks_informative_first():
    x, y = toy_cells(n_per_class=60, n_noise=30)
    weak = SelectorMLPClassifier(hidden=(32,), l1=0.0, max_epochs=60, random_state=0).fit(x, y)
    strong = SelectorMLPClassifier(hidden=(32,), l1=0.03, max_epochs=200, patience=50, random_state=0).fit(x, y)
    assert set(strong.ranking_[:3]) == {"INF0", "INF1", "INF2"}
    noise_strong = np.abs(strong.selection_weights_[3:])
    noise_weak = np.abs(weak.selection_weights_[3:])
    assert np.median(noise_strong) < 0.05 < np.median(noise_weak)
    assert np.abs(strong.selection_weights_[:3]).min() > 10 * np.median(noise_strong)
    assert (strong.predict(x) == y).mean() > 0.95


def test_selector_mlp_is_repeatable_and_tunes_on_topk_validation():
    x, y = toy_cells(n_per_class=30, n_noise=10)
    xv, yv = toy_cells(n_per_class=15, n_noise=10, seed=1)
    grid = {"l1": [0.0, 0.03]}
    a = SelectorMLPClassifier(hidden=(16,), max_epochs=80, patience=80, param_grid=grid, tune_ks=(1, 2), random_state=1)
    a.fit(x, y, validation=(xv, yv))
    b = SelectorMLPClassifier(hidden=(16,), max_epochs=80, patience=80, param_grid=grid, tune_ks=(1, 2), random_state=1)
    b.fit(x, y, validation=(xv, yv))
    np.testing.assert_array_equal(a.selection_weights_, b.selection_weights_)
    assert [row["l1"] for row in a.tuning_] == [0.0, 0.03]
    assert a.best_params_["l1"] == max(a.tuning_, key=lambda r: r["val_score"])["l1"]


def test_topk_validation_accuracy_masks_all_but_the_top_genes():
    x = np.array([[1.0, 5.0], [2.0, 6.0]])
    seen = []

    def predict(xm):
        seen.append(xm.copy())
        return np.array([0, 1])

    score = topk_validation_accuracy(predict, np.array([1, 0]), x, np.array([0, 0]), fill=np.array([9.0, 9.0]), ks=(1, 2))
    assert score == pytest.approx(0.5)
    np.testing.assert_array_equal(seen[0], [[9.0, 5.0], [9.0, 6.0]])  # k=1 keeps gene 1 only
    np.testing.assert_array_equal(seen[1], x)


def test_ranking_from_weights_uses_max_abs_over_classes():
    assert ranking_from_weights(["a", "b", "c"], [0.1, -0.9, 0.5]) == ["b", "c", "a"]
    assert ranking_from_weights(["a", "b", "c"], [[0.1, 0.2, -0.3], [0.05, -0.8, 0.0]]) == ["b", "c", "a"]


@pytest.mark.parametrize("model_id", model_ids(TASK))
def test_every_registered_ranking_ranks_all_genes_and_finds_the_signal(model_id):
    from grnbench.registry import get_model

    n = 200 if model_id == "persist" else 30  # PERSIST's 250 epochs of 64-cell batches need more than 90 cells
    x, y = toy_cells(n_per_class=n, n_noise=12)
    xv, yv = toy_cells(n_per_class=10, n_noise=12, seed=1)
    est = get_model(model_id, TASK).build(None)
    if model_id == "selector_mlp":
        est.set_params(param_grid={"l1": [0.01], "hidden": [(16,)]}, max_epochs=80)
    if model_id == "persist":
        est.set_params(ks=(3,))  # the top 3 are the 3-gene panel
    est.fit(x, y, validation=(xv, yv))
    assert sorted(est.ranking_) == sorted(x.columns)
    if model_id != "random":
        assert set(est.ranking_[:3]) == {"INF0", "INF1", "INF2"}


def test_persist_secant_step_by_hand():
    # points (0, 0) and (1, 1) seen from (2, 2): weights 1/2 and 1 -> slope (2 + 1) / (2 + 1) = 1 -> reach 3 at 3
    assert modified_secant(2.0, 2.0, 3.0, np.array([0.0, 1.0]), np.array([0.0, 1.0])) == pytest.approx(3.0)
    # a falling curve is clipped to the minimum slope 1e-6
    assert modified_secant(1.0, 0.5, 0.6, np.array([0.0]), np.array([1.0])) == pytest.approx(1.0 + 0.1 / 1e-6)


def test_persist_selects_nested_panels_and_is_repeatable():
    x, y = toy_cells(n_per_class=200, n_noise=40)
    a = PersistRanker(ks=(2, 4, 8), progress=False, random_state=0).fit(x, y)
    assert sorted(a.ranking_) == sorted(x.columns) and set(a.ranking_[:3]) == {"INF0", "INF1", "INF2"}
    assert list(a.panels_) == [2, 4, 8] and all(len(a.panels_[k]) == k for k in (2, 4, 8))
    assert set(a.panels_[2]) <= set(a.panels_[4]) <= set(a.panels_[8])
    assert a.ranking_[:4] == a.panels_[2] + [g for g in a.panels_[4] if g not in a.panels_[2]]
    assert a.eliminate_converged_ and a.survivors_ == list(x.columns) and a.lam_trials_ == []  # 43 genes: no stage 1
    b = PersistRanker(ks=(2, 4, 8), progress=False, random_state=0).fit(x, y)
    assert a.ranking_ == b.ranking_ and a.history_ == b.history_


def test_persist_stage_one_searches_lam_and_keeps_the_target_when_it_misses():
    x, y = toy_cells(n_per_class=40, n_noise=40)
    r = PersistRanker(ks=(2,), eliminate_target=10, max_trials=2, max_epochs=3, progress=False).fit(x, y)
    assert [t["lam"] for t in r.lam_trials_][0] == pytest.approx(1e-4) and len(r.lam_trials_) == 2
    assert r.lam_trials_[1]["lam"] <= 10 * 1e-4 + 1e-12  # the step is clipped to [lam / 10, 10 lam]
    if not r.eliminate_converged_:  # 3 epochs cannot close 33 gates: the 10 most open genes are kept
        assert len(r.survivors_) == 10
    assert len(r.panels_[2]) == 2 and set(r.panels_[2]) <= set(r.survivors_)
    assert sorted(r.ranking_) == sorted(x.columns)


def test_persist_bad_input():
    x, y = toy_cells(n_per_class=10, n_noise=3)
    with pytest.raises(DataValidationError, match="at least 2 cell types"):
        PersistRanker(progress=False).fit(x, np.full(len(x), "A"))
    bad = x.copy()
    bad.iloc[0, 0] = np.nan
    with pytest.raises(DataValidationError, match="NaN"):
        PersistRanker(progress=False).fit(bad, y)


def test_linear_and_random_rankers():
    x, y = toy_cells(n_per_class=30, n_noise=12)
    a, b = RandomRanker(random_state=0).fit(x), RandomRanker(random_state=1).fit(x)
    assert a.ranking_ == RandomRanker(random_state=0).fit(x).ranking_ and a.ranking_ != b.ranking_
    with pytest.raises(DataValidationError, match="unknown linear ranker kind 'tree'"):
        LinearRanker(kind="tree").fit(x, y)


def test_marker_overlap_counts_markers_among_candidates():
    candidates = ["CD14", "LYZ", "GNLY", "ACTB"]
    assert marker_overlap(["ACTB", "CD14", "GNLY", "LYZ"], candidates, k=2) == (1, 3)
    assert marker_overlap(["ACTB"], ["ACTB"], k=1) == (0, 0)


# ------------------------------------------------------------------ benchmark and report

@pytest.fixture(scope="module")
def toy_benchmark(tmp_path_factory):
    data = prepare("toy", adata=toy_adata(n_per_class=50))
    out = engine.run(get_task(TASK), data, models=["selector_mlp", "linear_svm", "random"], seeds=(0, 1),
                     random_orders=2, ks=(2, 4), paired_ks=(2, 4), n_hvg=20, n_boot=50,
                     model_params={"selector_mlp": {"param_grid": {"l1": [0.01]}, "max_epochs": 40, "hidden": (8,)}})
    root = tmp_path_factory.mktemp("results")
    engine.save(out, root / "cell_type_markers" / "toy")
    return out, root


def test_benchmark_tables(toy_benchmark):
    out, root = toy_benchmark
    m = out.metrics
    assert set(m["metric"]) == {"accuracy", "balanced_accuracy", "macro_f1"}
    assert sorted(m["k"].unique()) == [2, 4, 20]
    assert set(m.loc[m["model"] == "random", "seed"]) == {0, 1, -1}
    head = headline(m)
    assert not ((head["model"] == "random") & (head["seed"] >= 0)).any()
    assert set(head.loc[head["model"] == "linear_svm", "seed"]) == {0}
    # informative genes are few: the ordered rankings beat random orders at k=2
    acc = head[(head["metric"] == "accuracy") & (head["k"] == 2)].set_index("model")["value"]
    assert acc["linear_svm"] > acc["random"] + 0.2
    assert set(out.tables["masking"]["order"]) == {"ordered", "random"}
    assert set(out.paired["reference"]) == {"linear_svm", "random"}
    for name in ("metrics", "masking", "markers", "selected", "dotplot", "paired", "counts"):
        assert (root / "cell_type_markers" / "toy" / f"{name}.csv").is_file()


def test_report_reads_the_tables(toy_benchmark):
    _, root = toy_benchmark
    res = ctm_report.load_results(root, ["toy"])
    table = ctm_report.k_table(res, "accuracy", ks=(2,))
    assert list(table.columns) == ["2", "all"]
    assert table.index.get_level_values("model").tolist() == ["random", "linear_svm", "selector_mlp"]
    text = ctm_report.verdict(res, "capped")
    n_ref = int(((res.paired["metric"] == "accuracy") & (res.paired["reference"] != "random")).sum())
    assert f"Over {n_ref} comparisons" in text and "`linear_svm`" in text
    assert ctm_report.verdict(res, "ood").startswith("No `ood` split")
    assert ctm_report.marker_table(res).empty  # toy genes are not PBMC markers
    with pytest.raises(FileNotFoundError, match="metrics.csv"):
        ctm_report.load_results(root, ["absent"])
