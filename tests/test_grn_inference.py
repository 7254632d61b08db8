"""GRN inference: metrics on hand-made rankings, candidate rules, models, CaTran, the task, bad input."""

from __future__ import annotations

import io
import tarfile
from itertools import permutations, product

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from grnbench import engine
from grnbench.errors import ChecksumError, DataValidationError, GeneMismatchError, MissingDataError
from grnbench.metrics.network import EdgeRanking, epr, epr_rank, precision_at_k, top_k_size
from grnbench.registry import get_model, metric_ids, model_ids
from grnbench.tasks import get_task
from grnbench.tasks.grn_inference import prepare
from grnbench.tasks.grn_inference.catran import CaTranScorer, n_parameters
from grnbench.tasks.grn_inference.datasets import candidate_edges
from grnbench.tasks.grn_inference.regdiffusion import RegDiffusionScorer
from grnbench.tasks.grn_inference.estimators import (ArboretoScorer, CorrelationScorer, KnockoutZScore,
                                                     RandomEdgeScorer, TFVarianceScorer)

TASK = "grn_inference"


# -- BEELINE's EarlyPrecision, transcribed with pandas (the reference for epr) ----------------
def beeline_epr(truth: pd.DataFrame, pred: pd.DataFrame, tf_edges: bool) -> float:
    """``BLEval/computeEarlyPrec.py`` for one dataset: truth Gene1,Gene2; pred Gene1,Gene2,EdgeWeight."""
    truth = truth[truth["Gene1"] != truth["Gene2"]].drop_duplicates()
    pred = pred[pred["Gene1"] != pred["Gene2"]].drop_duplicates()
    nodes = np.unique(truth[["Gene1", "Gene2"]])
    if tf_edges:
        possible = set(product(set(truth["Gene1"]), set(nodes))) & set(permutations(nodes, 2))
        keys = {"|".join(p) for p in possible}
        true_edges = truth["Gene1"] + "|" + truth["Gene2"]
        true_edges = set(true_edges[true_edges.isin(keys)])
        pred = pred[(pred["Gene1"] + "|" + pred["Gene2"]).isin(keys)]
    else:
        possible = set(permutations(nodes, 2))
        true_edges = set(truth["Gene1"] + "|" + truth["Gene2"])
    pred = pred.assign(EdgeWeight=pred["EdgeWeight"].round(6).abs())
    pred = pred.sort_values("EdgeWeight", ascending=False, kind="stable")
    maxk = min(len(pred), len(true_edges))
    kth = pred.iloc[maxk - 1]["EdgeWeight"]
    nonzero_min = np.nanmin(pred["EdgeWeight"].replace(0, np.nan).to_numpy())
    top = pred[pred["EdgeWeight"] >= max(nonzero_min, kth)]
    top = set(top["Gene1"] + "|" + top["Gene2"])
    if not top:
        return 0.0
    return (len(top & true_edges) / len(top)) / (len(true_edges) / len(possible))


def test_epr_hand_made_rankings_with_ties():
    # 6 candidates, 2 true; the 2nd and 3rd scores tie at the k-th (k = 2) position: the top set
    # holds 3 edges, 2 of them true -> EP 2/3, density 2/6, EPR 2.
    assert epr([1, 0, 1, 0, 0, 0], [0.9, 0.8, 0.8, 0.5, 0.0, 0.0]) == pytest.approx(2.0)
    # the k-th score is 0: only non-zero scores count -> top = {0.9}, no true edge -> 0
    assert epr([0, 1, 1, 0, 0, 0], [0.9, 0, 0, 0, 0, 0]) == pytest.approx(0.0)
    # scores equal after rounding to 6 decimals tie; absolute values are ranked
    assert epr([1, 0, 0, 0], [0.5000001, 0.5000004, 0.1, 0.1]) == pytest.approx((1 / 2) / (1 / 4))
    assert epr([1, 0, 0, 0], [-0.9, 0.5, 0.1, 0.2]) == pytest.approx(4.0)
    # a constant ranking: the top set is everything -> EPR 1
    assert epr([1, 0, 1, 0, 0], [0.3] * 5) == pytest.approx(1.0)


def test_epr_rank_ignores_output_scale_where_beeline_rounding_ties():
    # 6 candidates, 2 true, ranked first and third; scores 1e-7 apart (a narrow-range model's output)
    labels = [1, 0, 1, 0, 0, 0]
    tight = 1.0 + 1e-7 * np.array([4.5, 3.5, 2.5, 1.5, 0.5, 0.0])
    # BEELINE's rounding to 6 decimals ties all six: the top set is everything -> EPR 1
    assert epr(labels, tight) == pytest.approx(1.0)
    # on ranks: top-2 = the first two edges, 1 true -> EP 1/2, density 2/6 -> 1.5
    assert epr_rank(labels, tight) == pytest.approx(1.5)
    # the same order on any scale gives the same epr_rank, and BEELINE's epr where nothing ties
    for scaled in (tight * 1e6, (tight - 1.0) * 3.0, np.sqrt(tight)):
        assert epr_rank(labels, scaled) == pytest.approx(1.5)
    assert epr(labels, (tight - 1.0) * 1e6) == pytest.approx(1.5)
    # exact ties still tie, and zero scores never enter the top set (BEELINE's rule)
    assert epr_rank([1, 0, 1, 0, 0, 0], [0.9, 0.8, 0.8, 0.5, 0.0, 0.0]) == pytest.approx(2.0)
    assert epr_rank([0, 1, 1, 0, 0, 0], [0.9, 0, 0, 0, 0, 0]) == pytest.approx(0.0)
    # EdgeRanking reports both
    m = EdgeRanking(np.array(labels), tight, np.arange(6), k=2).metrics()
    assert (m["epr"][0], m["epr_rank"][0]) == pytest.approx((1.0, 1.5))


@pytest.mark.parametrize("tf_edges", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_epr_equals_beeline_code(tf_edges, seed):
    rng = np.random.default_rng(seed)
    genes = [f"g{i}" for i in range(9)]
    truth = pd.DataFrame([(a, b) for a, b in permutations(genes[:7], 2) if rng.random() < 0.15],
                         columns=["source", "target"])
    if truth.empty:
        truth = pd.DataFrame([("g0", "g1")], columns=["source", "target"])
    regs, nodes, cand = candidate_edges(truth, genes, tf_edges)
    scores = np.round(rng.random(len(cand)), 1)  # coarse scores: many ties
    scores[rng.random(len(cand)) < 0.2] = 0.0
    ref_truth = truth.rename(columns={"source": "Gene1", "target": "Gene2"})
    pred = cand.rename(columns={"source": "Gene1", "target": "Gene2"}).assign(EdgeWeight=scores)
    if not tf_edges:  # BEELINE's synthetic candidates are the truth's nodes; score only those here
        keep = pred["Gene1"].isin(np.unique(ref_truth)) & pred["Gene2"].isin(np.unique(ref_truth))
        pred, labels, s = pred[keep], cand["label"][keep], scores[keep.to_numpy()]
    else:
        labels, s = cand["label"], scores
    assert epr(labels.to_numpy(), s) == pytest.approx(beeline_epr(ref_truth, pred, tf_edges))


def test_auprc_ratio_and_precision_at_k_hand_made():
    y, s = np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.7, 0.1])
    m = EdgeRanking(y, s, np.arange(4), k=2).metrics()
    assert m["auprc"][0] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert m["auprc_ratio"][0] == pytest.approx((0.5 + 1 / 3) / 0.5)
    assert m["auroc"][0] == pytest.approx(0.75)
    assert m["precision_at_k"][0] == pytest.approx(0.5)
    # all scores tied: AUPRC = density (ratio 1), AUROC 0.5, precision@k = density in expectation
    m = EdgeRanking(y, np.ones(4), np.arange(4), k=1).metrics()
    assert (m["auprc_ratio"][0], m["auroc"][0], m["precision_at_k"][0]) == pytest.approx((1.0, 0.5, 0.5))
    # the k-th edge inside a tied group: expected precision over random tie-breaking
    assert precision_at_k([1, 1, 0, 0, 0], [0.9, 0.5, 0.5, 0.5, 0.1], k=2) == pytest.approx((1 + 1 / 3) / 2)
    assert top_k_size(90) == 9 and top_k_size(9900) == 100 and top_k_size(5) == 1


def test_unit_weights_equal_repeated_targets():
    rng = np.random.default_rng(3)
    n_targets, per = 12, 5
    unit = np.repeat(np.arange(n_targets), per)
    y = (rng.random(unit.size) < 0.25).astype(int)
    y[0] = 1
    s = np.round(rng.random(unit.size), 2)
    w = rng.integers(0, 3, size=(4, n_targets)).astype(float)
    w[:, 0] = 1  # keep a true edge in every resample
    got = EdgeRanking(y, s, unit, k=7).metrics(w)
    for b in range(w.shape[0]):
        rep = np.repeat(np.arange(unit.size), w[b, unit].astype(int))
        ys, ss = y[rep], s[rep]
        assert got["epr"][b] == pytest.approx(epr(ys, ss))
        assert got["precision_at_k"][b] == pytest.approx(precision_at_k(ys, ss, k=7))
        assert got["auprc"][b] == pytest.approx(average_precision_score(ys, ss))
        assert got["auroc"][b] == pytest.approx(roc_auc_score(ys, ss))


def test_candidate_rules():
    truth = pd.DataFrame({"source": ["A", "A", "B"], "target": ["B", "C", "D"]})
    genes = ["A", "B", "C", "D", "E"]
    regs, nodes, cand = candidate_edges(truth, genes, tf_edges=True)
    assert regs == ["A", "B"] and nodes == ["A", "B", "C", "D"]  # E is in no truth edge
    assert len(cand) == 2 * 4 - 2 and cand["label"].sum() == 3
    regs, nodes, cand = candidate_edges(truth, genes, tf_edges=False)
    assert len(cand) == 5 * 4 and cand["label"].sum() == 3


# -- a small synthetic GRN -----------------------------------------------------------------
def grn_adata(n_cells=200, seed=0, knockouts=True):
    """TF0 -> G0, G1; TF1 -> G2; TF2 -> nothing; plus knockout samples of each gene."""
    rng = np.random.default_rng(seed)
    genes = ["TF0", "TF1", "TF2", "G0", "G1", "G2"]
    tf = rng.gamma(2.0, 1.0, size=(n_cells, 3))
    g = np.column_stack([tf[:, 0] * 1.5, -tf[:, 0], tf[:, 1] * 2]) + rng.normal(scale=0.3, size=(n_cells, 3))
    x = np.hstack([tf, g - g.min(axis=0)])
    pert, interv = ["observational"] * n_cells, [""] * n_cells
    if knockouts:
        base = x.mean(axis=0)
        ko = np.tile(base, (len(genes), 1))
        for i in range(len(genes)):
            ko[i, i] = 0.0
        ko[0, 3] -= 3.0; ko[0, 4] += 2.0; ko[1, 5] -= 4.0  # noqa: E702 - the knockouts' effects on targets
        x = np.vstack([x, np.clip(ko, 0, None)])
        pert += ["knockout"] * len(genes)
        interv += genes
    obs = pd.DataFrame({"perturbation": pert, "intervention": interv}, index=[f"c{i}" for i in range(len(x))])
    adata = ad.AnnData(X=x.astype(np.float32), obs=obs, var=pd.DataFrame(index=genes))
    adata.uns["edges"] = pd.DataFrame({"source": ["TF0", "TF0", "TF1"], "target": ["G0", "G1", "G2"]})
    adata.uns["tf_edges"] = False
    return adata


@pytest.fixture
def grn():
    return prepare("toy_grn", adata=grn_adata())


def _ranking(est, data):
    return EdgeRanking(data.candidates["label"].to_numpy(), est.predict(data.candidates),
                       pd.Index(data.nodes).get_indexer(data.candidates["target"]), k=3).metrics()


@pytest.mark.parametrize("est", [CorrelationScorer("pearson"), CorrelationScorer("spearman"), KnockoutZScore()],
                         ids=["pearson", "spearman", "knockout_zscore"])
def test_scorers_rank_the_planted_edges_first(grn, est):
    est.set_params(regulators=grn.regulators, targets=grn.nodes).fit(
        grn.expression, interventions=grn.interventions.to_numpy(), perturbation=grn.perturbation.to_numpy())
    assert _ranking(est, grn)["auroc"][0] > 0.8
    assert (np.diag(est.scores_.loc[grn.nodes, grn.nodes].to_numpy()) == 0).all()  # self-pairs score 0


def test_tf_variance_and_random_controls(grn):
    v = TFVarianceScorer(regulators=grn.regulators, targets=grn.nodes).fit(grn.expression)
    var = grn.expression.var(axis=0, ddof=0)
    assert v.scores_.loc["TF1", "G0"] == pytest.approx(var["TF1"])
    r1 = RandomEdgeScorer(random_state=1).fit(grn.expression).scores_
    assert r1.equals(RandomEdgeScorer(random_state=1).fit(grn.expression).scores_)
    assert not r1.equals(RandomEdgeScorer(random_state=2).fit(grn.expression).scores_)


def test_genie3_and_grnboost2_through_arboreto(grn):
    for algo in ("genie3", "grnboost2"):
        est = ArboretoScorer(algorithm=algo, regulators=["TF0", "TF1", "TF2"], targets=["G0", "G2"]).fit(grn.expression)
        s = est.scores_
        assert s.loc["TF0", "G0"] > s.loc["TF2", "G0"] and s.loc["TF1", "G2"] > s.loc["TF2", "G2"], algo


def test_catran_parameter_count_matches_the_paper():
    for n in (10, 137, 1000):
        assert n_parameters(n) == 40 * n + 8481
        # the write-up's estimate 9,000 + 40 x n_genes is within 6%
        assert abs(n_parameters(n) - (9000 + 40 * n)) / (9000 + 40 * n) < 0.06


def test_catran_is_deterministic_and_learns(grn):
    def fit(seed, **kw):
        return CaTranScorer(epochs=20, progress=False, random_state=seed, regulators=grn.regulators,
                            targets=grn.nodes, **kw).fit(grn.expression, interventions=grn.interventions.to_numpy())

    a, b, c = fit(0), fit(0), fit(1)
    assert a.scores_.equals(b.scores_)
    assert not a.scores_.equals(c.scores_)
    assert a.n_steps_ == 20 and len(a.history_) == 20
    assert a.history_[-1]["train_loss"] < a.history_[0]["train_loss"]
    assert a.n_parameters_ == n_parameters(6)
    # softmax over incoming edges x (regulators - 1): each target's scores sum to n_regulators - 1
    col = a.scores_.sum(axis=0)
    assert np.allclose(col, len(grn.regulators) - 1)
    i = fit(0, interventional=True)
    assert not i.scores_.equals(a.scores_)


def test_catran_min_steps_sets_the_epochs_from_the_step_budget(grn):
    n_cells = grn.expression.shape[0]
    kw = dict(progress=False, regulators=grn.regulators, targets=grn.nodes)
    # one cell batch and one gene chunk per epoch: 1 step per epoch -> 250 epochs for 250 steps
    est = CaTranScorer(min_steps=250, **kw).fit(grn.expression)
    assert est.n_steps_ == 250 and est.epochs_ == 250
    # more than 100 epochs: 100 history points, each the mean over ceil(250 / 100) = 3 epochs (the last over 1)
    assert len(est.history_) == 84 and est.history_[-1]["step"] == 250 and est.history_[0]["step"] == 3
    # two cell batches per epoch (batch_cells below n_cells): half the epochs
    half = CaTranScorer(min_steps=250, batch_cells=n_cells // 2 + 1, **kw).fit(grn.expression)
    assert half.epochs_ == 125 and half.n_steps_ == 250
    # a budget under the epochs' own steps changes nothing
    assert CaTranScorer(min_steps=3, epochs=5, **kw).fit(grn.expression).scores_.equals(
        CaTranScorer(epochs=5, **kw).fit(grn.expression).scores_)


def test_catran_skipping_the_nan_fill_changes_nothing(grn, monkeypatch):
    """The speed-up of torch_deterministic (no NaN fill of fresh memory) is bit-for-bit neutral."""
    import contextlib

    import torch
    import torch.utils.deterministic as det

    from grnbench.tasks.grn_inference import catran

    def fit(interventional):
        return CaTranScorer(epochs=5, progress=False, interventional=interventional, regulators=grn.regulators,
                            targets=grn.nodes).fit(grn.expression, interventions=grn.interventions.to_numpy())

    before = (torch.are_deterministic_algorithms_enabled(), det.fill_uninitialized_memory)
    fast = [fit(False), fit(True)]
    assert (torch.are_deterministic_algorithms_enabled(), det.fill_uninitialized_memory) == before  # restored

    @contextlib.contextmanager
    def with_fill():
        torch.use_deterministic_algorithms(True, warn_only=True)
        det.fill_uninitialized_memory = True
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(before[0])
            det.fill_uninitialized_memory = before[1]

    monkeypatch.setattr(catran, "torch_deterministic", with_fill)
    for interventional, f in zip((False, True), fast):
        assert fit(interventional).scores_.equals(f.scores_)


def test_catran_interventional_needs_interventions():
    data = prepare("toy_obs", adata=grn_adata(knockouts=False))
    with pytest.raises(DataValidationError, match="intervention"):
        CaTranScorer(interventional=True, epochs=1, progress=False).fit(data.expression)
    with pytest.raises(DataValidationError, match="knockout"):
        KnockoutZScore().fit(data.expression)


def test_regdiffusion_is_deterministic_finds_a_strong_edge_and_leaves_the_global_rng_alone(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    n, genes = 200, [f"g{i}" for i in range(8)]
    x = np.abs(rng.normal(size=(n, len(genes))))
    x[:, 1] = x[:, 0] + 0.1 * rng.normal(size=n)  # g0 and g1 move together
    x[:, 7] = 2.0  # a constant gene: left out of the fit, its edges score 0
    X = pd.DataFrame(x, columns=genes)
    monkeypatch.chdir(tmp_path)  # the package's logger would write result_logs/ here

    def fit(seed):
        return RegDiffusionScorer(n_steps=400, progress=False, random_state=seed, regulators=genes[:4],
                                  targets=genes).fit(X)

    np.random.seed(123)
    a = fit(0)
    assert np.random.randint(1 << 30) == np.random.RandomState(123).randint(1 << 30)  # global state restored
    b, c = fit(0), fit(1)
    assert a.scores_.equals(b.scores_) and not a.scores_.equals(c.scores_)
    assert a.scores_.shape == (4, 8) and list(a.scores_.index) == genes[:4]
    assert (a.scores_.to_numpy() >= 0).all() and (a.scores_["g7"] == 0).all()
    assert all(a.scores_.loc[g, g] == 0 for g in genes[:4])
    assert a.n_genes_fitted_ == 7 and len(a.history_) == 400
    # after 400 steps the co-moving pair holds the only non-zero weights (the L1 soft threshold zeroes the rest)
    top = a.edges(3)
    assert {tuple(r) for r in top[["source", "target"]].to_numpy()[:2]} == {("g0", "g1"), ("g1", "g0")}
    assert (top["score"].iloc[:2] > 0.5).all() and top["score"].iloc[2] == 0
    assert a.predict(pd.DataFrame({"source": ["g0"], "target": ["g1"]}))[0] == a.scores_.loc["g0", "g1"]
    assert not list(tmp_path.iterdir())  # nothing written to the working directory
    with pytest.raises(DataValidationError, match="vary across cells"):
        RegDiffusionScorer(n_steps=2, progress=False).fit(pd.DataFrame(np.ones((5, 3)), columns=["a", "b", "c"]))


# -- bad input -----------------------------------------------------------------------------
def test_bad_input():
    adata = grn_adata()
    adata.uns["edges"] = pd.DataFrame({"source": ["TF0", "NOT_A_GENE"], "target": ["G0", "G1"]})
    with pytest.raises(DataValidationError, match="NOT_A_GENE"):
        prepare("bad", adata=adata)
    adata = grn_adata()
    adata.obs["intervention"] = adata.obs["intervention"].replace("G2", "GHOST")
    with pytest.raises(DataValidationError, match="GHOST"):
        prepare("bad", adata=adata)
    adata = grn_adata()
    adata.X[3, 4] = np.nan
    with pytest.raises(DataValidationError, match="G1"):
        prepare("bad", adata=adata)
    adata = grn_adata()
    del adata.uns["edges"]
    with pytest.raises(DataValidationError, match="no ground-truth edges"):
        prepare("bad", adata=adata)


def test_no_tf_of_the_prior_in_the_data(monkeypatch):
    import grnbench.tasks.grn_inference.datasets as ds

    adata = grn_adata()
    del adata.uns["edges"]
    monkeypatch.setattr(ds, "load_prior", lambda p: pd.DataFrame({"source": ["FOXP3", "STAT1"], "target": ["G0", "G1"],
                                                                  "weight": [1.0, 1.0]}))
    with pytest.raises(DataValidationError, match="no TF in data"):
        prepare("bad", adata=adata, prior="some_prior")


def test_scorer_bad_input(grn):
    with pytest.raises(GeneMismatchError, match="GHOST"):
        CorrelationScorer(regulators=["TF0", "GHOST"]).fit(grn.expression)
    est = CorrelationScorer(regulators=["TF0"], targets=["G0"]).fit(grn.expression)
    with pytest.raises(GeneMismatchError, match="TF1"):
        est.predict(pd.DataFrame({"source": ["TF1"], "target": ["G0"]}))
    with pytest.raises(DataValidationError, match="DataFrame"):
        CorrelationScorer().fit(grn.expression.to_numpy())
    with pytest.raises(DataValidationError, match="interventions"):
        CorrelationScorer().fit(grn.expression, interventions=["x"])


# -- the task on the engine -----------------------------------------------------------------
def test_task_run_tables(grn):
    models = ["catran", "pearson", "knockout_zscore", "tf_variance", "random"]
    out = engine.run(get_task(TASK), grn, models=models, seeds=[0, 1], n_boot=50, export_k=5,
                     model_params={"catran": {"epochs": 2, "progress": False}})
    m = out.metrics
    assert set(m["metric"]) == set(metric_ids(TASK))
    assert set(m["model"]) == set(models)
    assert (m["n_test"] == len(grn.nodes)).all()  # the bootstrap unit is the target gene
    assert set(m.loc[m["model"] == "catran", "seed"]) == {0, 1, -1}
    top = out.tables["top_edges"]
    assert (top.groupby("model").size() == 5).all()
    pear = top[top["model"] == "pearson"].sort_values("rank")
    truth = set(zip(grn.truth["source"], grn.truth["target"]))
    assert list(pear["in_truth"]) == [int((s, t) in truth) for s, t in zip(pear["source"], pear["target"])]
    refs = set(out.paired.loc[out.paired["model"] == "catran", "reference"])
    assert refs == {"pearson", "knockout_zscore", "tf_variance"}  # every non-chance control
    assert set(out.tables["learning_curves"]["model"]) == {"catran"}


def test_registry_ids_are_the_contract():
    assert set(model_ids(TASK)) == {"catran", "catran_seed", "catran_interventional", "regdiffusion", "pearson", "spearman", "genie3",
                                    "grnboost2", "knockout_zscore", "tf_variance", "random"}
    assert set(metric_ids(TASK)) == {"auroc", "auprc", "auprc_ratio", "epr", "epr_rank", "precision_at_k"}
    assert get_model("catran_interventional", TASK).controls == ("catran",)
    assert get_model("random", TASK).chance


# -- data sources ---------------------------------------------------------------------------
def test_archive_member_extracts_and_checks(tmp_path, monkeypatch):
    import hashlib

    import pooch

    from grnbench.data.sources import ArchiveMember

    payload = b"G1\tG2\n0.1\t0.2\n"
    archive = tmp_path / "pkg.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        info = tarfile.TarInfo("pkg/knockouts.tsv")
        info.size = len(payload)
        tf.addfile(info, io.BytesIO(payload))
    monkeypatch.delenv("GRNBENCH_DATA_DIR", raising=False)
    monkeypatch.setenv("GRNBENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(pooch, "retrieve", lambda *a, **k: str(archive))
    sha = hashlib.sha256(payload).hexdigest()
    src = ArchiveMember(relpath="d4/ko.tsv", url="https://example.org/pkg.tar.gz", member="pkg/knockouts.tsv",
                        sha256=sha)
    assert src.fetch().read_bytes() == payload
    with pytest.raises(ChecksumError, match="pkg/knockouts.tsv"):
        ArchiveMember(relpath="d4/other.tsv", url="https://example.org/pkg.tar.gz", member="pkg/knockouts.tsv",
                      sha256="0" * 64).fetch()
    with pytest.raises(MissingDataError, match="no member"):
        ArchiveMember(relpath="d4/x.tsv", url="https://example.org/pkg.tar.gz", member="pkg/absent.tsv",
                      sha256=sha).fetch()


def test_grn_benchmarks_load_from_the_mirror(mirror):
    d = prepare("dream4_10_1")
    assert d.counts["cells"] == 31 and d.counts["genes"] == 10 and d.counts["true_edges"] == 15
    assert d.counts["candidate_edges"] == 90 and d.counts["perturbed_cells"] == 20 and not d.tf_edges
    assert (d.perturbation == "knockout").sum() == 10
    ko = d.expression[d.perturbation == "knockout"]
    assert all(ko.loc[i, g] == 0 or ko.loc[i, g] < 0.05 for i, g in zip(ko.index, d.interventions[ko.index]))
    mf = prepare("dream4_100mf_1")
    assert mf.counts["cells"] == 100 and mf.counts["true_edges"] == 176 and mf.counts["perturbed_cells"] == 0
    s = prepare("sachs2005")
    assert s.counts["cells"] == 7466 and s.counts["genes"] == 11 and s.counts["true_edges"] == 18
    b = prepare("boolode_li")
    assert b.counts["genes"] == 7 and b.counts["candidate_edges"] == 42
    beeline = prepare("mesc_500_specific")
    assert beeline.tf_edges and set(beeline.regulators) == set(beeline.truth["source"])


def test_equal_correlations_tie_whatever_the_last_bits(grn):
    """Two targets with identical profiles get identical scores, even if one differs by float noise."""
    x = grn.expression.copy()
    x["TWIN"] = x["G0"] + 1e-15 * np.random.default_rng(0).standard_normal(len(x))  # a different CPU's rounding
    s = CorrelationScorer("pearson", regulators=grn.regulators, targets=["G0", "TWIN"]).fit(x).scores_
    s = s.drop(index=[g for g in ("G0", "TWIN") if g in s.index])  # self-pairs score 0
    assert len(s) >= 3
    np.testing.assert_array_equal(s["G0"].to_numpy(), s["TWIN"].to_numpy())
