"""Running the study on one's own data: cards, accepted formats, and one clear error per bad input.

Every bad input must raise a :class:`~grnbench.errors.GrnbenchError` that names the file and the
column, gene, row or value at fault, and the CLI must print it on one line (no traceback), exit
non-zero and write nothing into the results folder.
"""

import gzip

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import yaml

from grnbench.byod import MIN_CELLS, check_own_data, read_summary, write_example, write_study
from grnbench.cli import main
from grnbench.data.cards import parse_card, read_card
from grnbench.data.priors import read_prior_file
from grnbench.errors import DataValidationError, GrnbenchError, MissingDataError

TFS = ["TF0", "TF1", "TF2", "TF3", "TF4", "TF5"]
TARGETS = [f"G{j}" for j in range(10)]


def toy(n_cells=60, seed=0):
    """Log-scale expression driven by a prior, with cell types and a condition column."""
    rng = np.random.default_rng(seed)
    x = rng.gamma(2.0, 1.0, size=(n_cells, len(TFS)))
    edges = [(TFS[j % 6], g, 1.0 if j % 3 else -1.0) for j, g in enumerate(TARGETS)]
    edges += [(TFS[(j + 2) % 6], g, 1.0) for j, g in enumerate(TARGETS)]
    w = np.zeros((len(TFS), len(TARGETS)))
    for s, t, sign in edges:
        w[TFS.index(s), TARGETS.index(t)] = sign * 0.5
    y = np.clip(x @ w + 2 + rng.normal(scale=0.3, size=(n_cells, len(TARGETS))), 0, None)
    obs = pd.DataFrame({"cell_type": np.where(np.arange(n_cells) % 3 == 0, "B", "T"),
                        "condition": np.where(np.arange(n_cells) % 2 == 0, "ctrl", "stim")},
                       index=[f"cell{i}" for i in range(n_cells)])
    adata = ad.AnnData(X=np.log1p(np.hstack([x, y])).astype(np.float32), obs=obs,
                       var=pd.DataFrame(index=TFS + TARGETS))
    prior = pd.DataFrame(edges, columns=["source", "target", "weight"])
    return adata, prior


@pytest.fixture(autouse=True)
def _forget_own_cards():
    """Unregister the cards a test registers, so later tests see only the project's datasets and priors."""
    from grnbench import registry

    registry.dataset_ids()  # load the project's entries first
    saved = [(reg, dict(reg.entries)) for reg in (registry._DATASETS, registry._PRIORS)]
    yield
    for reg, entries in saved:
        reg.entries.clear()
        reg.entries.update(entries)


@pytest.fixture
def files(tmp_path):
    adata, prior = toy()
    a = tmp_path / "mine.h5ad"
    adata.write_h5ad(a)
    p = tmp_path / "prior.tsv"
    prior.to_csv(p, sep="\t", index=False)
    return a, p, adata, prior


def write(tmp_path, name, text):
    path = tmp_path / name
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    return path


def h5ad(tmp_path, adata, name="bad.h5ad"):
    path = tmp_path / name
    adata.write_h5ad(path)
    return path


# ------------------------------------------------------------------ accepted inputs


def test_good_inputs_give_cards_and_every_applicable_task(files, tmp_path):
    a, p, _, _ = files
    own = check_own_data(a, p, label_key="cell_type", ood_key="condition", ood_values=["stim"])
    assert own.dataset == "mine" and own.prior == "mine_prior" and own.truth is None and own.skipped == {}
    assert own.tasks == ["target_expression", "edge_classification", "cell_type_markers", "grn_inference"]
    assert own.splits["target_expression"] == ["random", "ood"] and own.splits["cell_type_markers"] == ["capped", "ood"]
    assert own.notes and "prior network is the reference" in own.notes[0]  # no --truth: the book says so
    study = write_study(own, tmp_path / "out", quick=True)
    doc = yaml.safe_load(study.read_text())
    stages = doc["profiles"]["own"]["stages"]
    assert [s["use"] for s in stages] == ["data", "te_fit", "te_shap", "te_benchmark", "ec_fit", "ec_benchmark",
                                          "ctm_fit", "ctm_benchmark", "gi_fit", "gi_benchmark", "scoreboard"]
    summary = read_summary(tmp_path / "out")
    assert summary["tasks"] == own.tasks and summary["skipped"] == {} and summary["notes"] == own.notes
    kind, spec = read_card(tmp_path / "out" / "cards" / "mine.yaml")
    assert kind == "dataset" and spec.ood == {"obs_key": "condition", "test": ["stim"]} and spec.prior == "mine_prior"
    assert spec.sources[0].fetch() == a  # sha256 recorded and verified


def test_label_only_runs_cell_type_markers(files):
    a, _, _, _ = files
    own = check_own_data(a, None, label_key="cell_type", name="labels_only")
    assert own.tasks == ["cell_type_markers"] and own.prior is None


@pytest.mark.parametrize("fmt,sep,gz", [("decoupler", "\t", False), ("decoupler", ",", True),
                                        ("lembas_rnn", "\t", True), ("lembas_rnn", ",", False)])
def test_prior_formats_tsv_csv_gzip(tmp_path, fmt, sep, gz):
    _, prior = toy()
    table = prior if fmt == "decoupler" else prior.rename(columns={"source": "TF", "target": "Gene",
                                                                  "weight": "Interaction"})
    text = table.assign(PMID="1").to_csv(sep=sep, index=False)
    path = write(tmp_path, "p.tsv.gz" if gz else "p.txt", gzip.compress(text.encode()) if gz else text)
    out = read_prior_file(path)
    assert list(out.columns) == ["source", "target", "weight"] and len(out) == len(prior)
    pd.testing.assert_series_equal(out["weight"], prior["weight"], check_names=False)


def test_counts_are_normalised_and_log_transformed(tmp_path):
    adata, prior = toy()
    counts = np.round(np.expm1(adata.X) * 10)
    adata.X = counts
    path = h5ad(tmp_path, adata, "counts.h5ad")
    own = check_own_data(path, None, label_key="cell_type", scale="counts")
    from grnbench.data import load_dataset

    x = load_dataset(own.dataset).X
    expected = np.log1p(counts / counts.sum(axis=1, keepdims=True) * 1e4)
    np.testing.assert_allclose(x, expected, rtol=1e-5)


def test_the_worked_example_files(tmp_path):
    files = write_example(tmp_path)
    own = check_own_data(files["adata"], files["prior"], label_key="cell_type", ood_key="phase", ood_values=["G2M"])
    assert own.counts == {"cells": 700, "genes": 765}
    assert read_prior_file(files["prior"])["weight"].isin([1.0, -1.0]).all()


# ------------------------------------------------------------------ bad inputs: priors

PRIOR_CASES = {
    "renamed column": ("src\ttarget\tweight\nTF0\tG0\t1\n", r"match no accepted prior format"),
    "missing column": ("source,target\nTF0,G0\n", r"match no accepted prior format.*source, target, weight"),
    "text weight": ("source\ttarget\tweight\nTF0\tG0\tup\n", r"'weight' on line 2 \(TF0 -> G0\) is not a number: 'up'"),
    "zero weight": ("source\ttarget\tweight\nTF0\tG0\t1\nTF1\tG1\t0\n", r"line 3 \(TF1 -> G1\) is not \+1 or -1: '0'"),
    "NaN weight": ("source\ttarget\tweight\nTF0\tG0\tNaN\n", r"line 2 \(TF0 -> G0\) is not a number: 'NaN'"),
    "empty weight": ("source\ttarget\tweight\nTF0\tG0\t\n", r"line 2 \(TF0 -> G0\) is empty"),
    "weight +2": ("TF\tGene\tInteraction\nTF0\tG0\t2\n", r"'Interaction' on line 2 \(TF0 -> G0\) is not \+1 or -1: '2'"),
    "weight -2": ("source,target,weight\nTF0,G0,-2\n", r"line 2 \(TF0 -> G0\) is not \+1 or -1: '-2'"),
    "empty file": ("", r"the file is empty"),
    "header only": ("source\ttarget\tweight\n", r"a header but no edges"),
    "binary garbage": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", r"binary content \(a NUL byte at offset 8\)"),
    "broken gzip": (b"\x1f\x8b\x08\x00garbage", r"a broken gzip file"),
    "opposite signs": ("source\ttarget\tweight\nTF0\tG0\t1\nTF0\tG0\t-1\n", r"edge\(s\) 'TF0->G0' appear with both signs"),
    "self-loops only": ("source\ttarget\tweight\nTF0\tTF0\t1\nTF1\tTF1\t-1\n", r"every edge is a self-loop"),
    "empty gene name": ("source\ttarget\tweight\nTF0\t\t1\n", r"column 'target' is empty on line 2"),
}


@pytest.mark.parametrize("case", list(PRIOR_CASES))
def test_bad_prior_files(files, tmp_path, case):
    a, _, _, _ = files
    text, message = PRIOR_CASES[case]
    path = write(tmp_path, "bad_prior.tsv", text)
    with pytest.raises(GrnbenchError, match=message) as err:
        check_own_data(a, path, label_key="cell_type")
    assert "bad_prior.tsv" in str(err.value)


def test_prior_file_missing(files, tmp_path):
    a, _, _, _ = files
    with pytest.raises(MissingDataError, match=r"nowhere\.tsv: prior file not found"):
        check_own_data(a, tmp_path / "nowhere.tsv")


def test_no_gene_of_the_prior_in_the_data(files, tmp_path):
    a, _, _, _ = files
    path = write(tmp_path, "mouse.tsv", "source\ttarget\tweight\nFoxa2\tAlb\t1\nHnf4a\tApoa1\t1\n")
    with pytest.raises(DataValidationError, match=r"mouse\.tsv \(--prior\): no gene of the network is a gene of "
                                                  r".*mine\.h5ad"):
        check_own_data(a, path)


def test_gene_symbols_in_another_case_say_so(files, tmp_path):
    a, _, _, prior = files
    path = write(tmp_path, "lower.tsv", prior.assign(source=prior["source"].str.lower(),
                                                     target=prior["target"].str.lower()).to_csv(sep="\t", index=False))
    with pytest.raises(DataValidationError, match=r"differ only in case .*data 'TF0' vs network 'tf0'.*str\.upper"):
        check_own_data(a, path)


def test_ensembl_ids_against_symbols_suggest_the_symbol_column(tmp_path, files):
    _, p, adata, _ = files
    ens = adata.copy()
    ens.var["gene_symbols"] = ens.var_names
    ens.var_names = [f"ENSG{i:011d}" for i in range(ens.n_vars)]
    path = h5ad(tmp_path, ens, "ensembl.h5ad")
    with pytest.raises(DataValidationError, match=r"var column 'gene_symbols' holds names that match the network "
                                                  r".*add --gene-column gene_symbols"):
        check_own_data(path, p)
    own = check_own_data(path, p, gene_column="gene_symbols")  # the fix the message names works
    assert own.tasks[:2] == ["target_expression", "edge_classification"]


def test_a_prior_whose_targets_are_all_tfs(files, tmp_path):
    a, _, _, _ = files
    path = write(tmp_path, "tf_tf.tsv", "source\ttarget\tweight\nTF0\tTF1\t1\nTF1\tTF0\t-1\nTF2\tTF0\t1\n")
    own = check_own_data(a, path)  # target expression and edge classification are skipped; GRN inference runs
    assert own.tasks == ["grn_inference"]
    for task in ("target_expression", "edge_classification"):
        assert "tf_tf.tsv: every target of the prior is itself a TF" in own.skipped[task]


# ------------------------------------------------------------------ bad inputs: expression


def test_nan_inf_and_negative_values_in_a_log_matrix(files, tmp_path):
    _, p, adata, _ = files
    for value, message in ((np.nan, "NaN or infinite values in gene"), (np.inf, "NaN or infinite values in gene"),
                           (-1.0, "negative values in a log-scale matrix for gene")):
        bad = adata.copy()
        bad.X[3, 7] = value
        path = h5ad(tmp_path, bad)
        with pytest.raises(DataValidationError, match=rf"bad\.h5ad\).*{message}\(s\) 'G1'"):
            check_own_data(path, p)


def test_non_integer_values_declared_as_counts(files):
    a, p, _, _ = files
    with pytest.raises(DataValidationError, match=r"mine\.h5ad: scale 'counts' needs non-negative integer counts, but "
                                                  r"gene 'TF0' has .* in cell 'cell0'.*declare scale 'log1p'"):
        check_own_data(a, p, scale="counts")


def test_duplicate_gene_names(files, tmp_path):
    _, p, adata, _ = files
    bad = adata.copy()
    bad.var_names = TFS + TARGETS[:-1] + ["G0"]
    path = h5ad(tmp_path, bad)
    with pytest.raises(DataValidationError, match=r"duplicated gene name\(s\) 'G0'"):
        check_own_data(path, p)


def test_expression_file_missing_or_not_h5ad(tmp_path, files):
    _, p, _, _ = files
    with pytest.raises(MissingDataError, match=r"absent\.h5ad: expression file not found"):
        check_own_data(tmp_path / "absent.h5ad", p)
    garbage = write(tmp_path, "garbage.h5ad", b"not an hdf5 file at all")
    with pytest.raises(DataValidationError, match=r"garbage\.h5ad: not a readable \.h5ad file"):
        check_own_data(garbage, p)


def test_missing_layer(files):
    a, p, _, _ = files
    with pytest.raises(DataValidationError, match=r"mine\.h5ad: layer 'counts' is missing; layers: none"):
        check_own_data(a, p, layer="counts")


def test_too_few_cells(tmp_path, files):
    _, p, _, _ = files
    small, _ = toy(n_cells=MIN_CELLS - 5)
    path = h5ad(tmp_path, small, "small.h5ad")
    with pytest.raises(DataValidationError, match=rf"small\.h5ad: {MIN_CELLS - 5} cells are too few to split"):
        check_own_data(path, p)


# ------------------------------------------------------------------ bad inputs: labels and held-out groups


def test_label_column_missing_or_with_a_one_cell_class(files, tmp_path):
    a, p, adata, _ = files
    with pytest.raises(DataValidationError, match=r"mine\.h5ad: label column 'celltype' is not an obs column \(have "
                                                  r"'cell_type', 'condition'\)"):
        check_own_data(a, p, label_key="celltype")
    bad = adata.copy()
    bad.obs["cell_type"] = bad.obs["cell_type"].astype(str)
    bad.obs.iloc[5, 0] = "Platelet"
    path = h5ad(tmp_path, bad)
    with pytest.raises(DataValidationError, match=r"class\(es\) 'Platelet' \(1 cell\) with fewer than 3 cells"):
        check_own_data(path, p, label_key="cell_type")
    bad.obs["cell_type"] = bad.obs["cell_type"].astype(object)
    bad.obs.iloc[5, 0] = np.nan
    path = h5ad(tmp_path, bad, "nan_label.h5ad")
    with pytest.raises(DataValidationError, match=r"label column 'cell_type' has 1 missing value\(s\), first in cell "
                                                  r"'cell5'"):
        check_own_data(path, p, label_key="cell_type")


def test_ood_values_absent_or_column_missing(files):
    a, p, _, _ = files
    with pytest.raises(DataValidationError, match=r"held-out value\(s\) 'stimulated' \(--ood-values\) do not occur in "
                                                  r"column 'condition'; present: 'ctrl', 'stim'"):
        check_own_data(a, p, ood_key="condition", ood_values=["stimulated"])
    with pytest.raises(DataValidationError, match=r"held-out column 'donor' \(--ood-key\) is not an obs column"):
        check_own_data(a, p, ood_key="donor", ood_values=["d1"])
    with pytest.raises(DataValidationError, match="--ood-key and --ood-values go together"):
        check_own_data(a, p, ood_key="condition")
    with pytest.raises(DataValidationError, match=r"every value of column 'condition' is held out"):
        check_own_data(a, p, ood_key="condition", ood_values=["ctrl", "stim"])


def test_nothing_to_run(files):
    a, _, _, _ = files
    with pytest.raises(DataValidationError, match="nothing to run: give --prior"):
        check_own_data(a, None)


def test_bad_cards_name_the_key():
    with pytest.raises(DataValidationError, match=r"card x\.yaml: unknown key\(s\) 'labels'"):
        parse_card({"id": "x", "sources": [{"path": "a", "sha256": "0"}], "format": "h5ad", "labels": "y"}, "x.yaml")
    with pytest.raises(DataValidationError, match=r"card x\.yaml: scale 'logs' is not one of"):
        parse_card({"id": "x", "sources": [{"path": "a", "sha256": "0"}], "format": "h5ad", "scale": "logs"}, "x.yaml")
    with pytest.raises(DataValidationError, match=r"card x\.yaml: ood must be \{obs_key"):
        parse_card({"id": "x", "sources": [{"path": "a", "sha256": "0"}], "format": "h5ad", "ood": ["a"]}, "x.yaml")
    with pytest.raises(DataValidationError, match=r"id 'My Data' must be lower case"):
        parse_card({"id": "My Data", "sources": [{"path": "a", "sha256": "0"}], "format": "h5ad"}, "x.yaml")


def test_a_card_cannot_take_a_builtin_id(files, tmp_path):
    a, _, _, _ = files
    with pytest.raises(DataValidationError, match=r"dataset id 'hhep' is already registered"):
        check_own_data(a, None, label_key="cell_type", name="hhep")


def test_a_changed_file_fails_its_checksum(files, tmp_path):
    a, p, adata, _ = files
    own = check_own_data(a, p)
    adata.X[0, 0] += 1
    adata.write_h5ad(a)
    from grnbench.data import load_dataset
    from grnbench.errors import ChecksumError

    with pytest.raises(ChecksumError, match=r"mine\.h5ad"):
        load_dataset(own.dataset)


# ------------------------------------------------------------------ the command line


def test_cli_prints_one_line_exits_non_zero_and_writes_nothing(files, tmp_path, capsys):
    a, _, _, _ = files
    bad = write(tmp_path, "bad_prior.tsv", "source\ttarget\tweight\nTF0\tG0\tup\n")
    out = tmp_path / "results"
    code = main(["run", "--adata", str(a), "--prior", str(bad), "--label-key", "cell_type", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("grnbench: error: ") and "bad_prior.tsv" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_needs_out_with_adata_and_adata_with_own_flags(files, capsys):
    a, p, _, _ = files
    assert main(["run", "--adata", str(a), "--prior", str(p)]) == 1
    assert "--adata needs --out" in capsys.readouterr().err
    assert main(["run", "--prior", str(p)]) == 1
    assert "--prior needs --adata" in capsys.readouterr().err


# ------------------------------------------------------------------ GRN inference and perturbation response


def test_truth_network_is_grn_inferences_reference(files, tmp_path):
    a, p, _, _ = files
    truth = write(tmp_path, "chip.tsv", "TF\tGene\tInteraction\nTF0\tG3\t1\nTF1\tG4\t-1\nTF1\tG5\t1\n")
    own = check_own_data(a, None, truth_path=truth)
    assert own.tasks == ["grn_inference"] and own.truth == "mine_truth" and own.prior is None and own.notes == []
    from grnbench.tasks.grn_inference import prepare

    data = prepare(own.dataset)  # the card's reference, not a prior
    assert set(map(tuple, data.truth[["source", "target"]].to_numpy())) == {("TF0", "G3"), ("TF1", "G4"), ("TF1", "G5")}
    assert data.regulators == ["TF0", "TF1"]
    study = yaml.safe_load(write_study(own, tmp_path / "out").read_text())
    gi = [s for s in study["profiles"]["own"]["stages"] if s["use"] == "gi_fit"][0]
    full = yaml.safe_load(open("study.yaml"))
    assert gi["foreach"][0]["models"] == full["x-gi-observational"]  # the study's list, defined once
    assert yaml.safe_load((tmp_path / "out" / "cards" / "mine.yaml").read_text())["tasks"] == {
        "grn_inference": {"reference": "mine_truth"}}
    with pytest.raises(MissingDataError, match=r"nowhere\.tsv: truth file not found \(--truth\)"):
        check_own_data(a, None, truth_path=tmp_path / "nowhere.tsv")


def test_perturbation_with_cell_types_is_the_heldout_cell_type_split(files, tmp_path):
    a, _, _, _ = files  # obs: condition ctrl/stim, cell_type B/T
    own = check_own_data(a, None, perturbation_key="condition", control_value="ctrl", cell_type_key="cell_type")
    assert own.tasks == ["perturbation_response"] and own.splits["perturbation_response"] == ["heldout_cell_type"]
    from grnbench.tasks.perturbation_response import prepare
    from grnbench.tasks.perturbation_response.splits import make_folds

    data = prepare(own.dataset)
    folds = make_folds(data, "heldout_cell_type")
    assert [f.units for f in folds] == [["B"], ["T"]] and data.token == "stim"
    held_b = set(data.obs.index[(data.obs["cell_type"] == "B") & (data.obs["condition"] == "stimulated")])
    assert held_b and not held_b & folds[0].train_cells  # B's stimulated cells never train fold B
    assert set(folds[0].train[0].token) == {"stim"}
    stages = yaml.safe_load(write_study(own, tmp_path / "out").read_text())["profiles"]["own"]["stages"]
    pr = [s for s in stages if s["use"] == "pr_fit"][0]
    assert pr["foreach"] == [{"dataset": "mine", "split": "heldout_cell_type"}]
    assert "scgen" in pr["parameters"]["models"]


def test_several_genetic_perturbations_give_leave_one_perturbation_out(tmp_path, files):
    _, _, adata, _ = files
    ko = adata.copy()
    ko.obs["guide"] = np.array(["ctrl", "G1", "G2", "TF3"] * 15)
    path = h5ad(tmp_path, ko, "screen.h5ad")
    own = check_own_data(path, None, perturbation_key="guide", control_value="ctrl")
    assert own.splits["perturbation_response"] == ["lopo"]
    from grnbench.tasks.perturbation_response import prepare
    from grnbench.tasks.perturbation_response.splits import make_folds

    data = prepare(own.dataset, n_genes=3)
    assert {"G1", "G2", "TF3"} <= set(data.genes)  # perturbed genes are kept beside the 3 most variable
    folds = make_folds(data, "lopo")
    assert [f.units for f in folds] == [["G1"], ["G2"], ["TF3"]]
    g1 = data.genes.index("G1")
    f = folds[0]
    assert not set(data.obs.index[data.obs["perturbation_value"] == "G1"]) & f.train_cells
    ctrl = data.expression[data.obs["perturbation_value"] == "control"].to_numpy()
    np.testing.assert_allclose(f.x_test.pert[:, g1], -ctrl[:, g1])  # the held-out gene goes to 0
    assert np.count_nonzero(f.x_test.pert) == np.count_nonzero(ctrl[:, g1])
    np.testing.assert_allclose(f.truth[0, 0], data.expression[data.obs["perturbation_value"] == "G1"].mean(axis=0))
    np.testing.assert_allclose(f.truth[0, 1], ctrl.mean(axis=0))
    stages = yaml.safe_load(write_study(own, tmp_path / "out").read_text())["profiles"]["own"]["stages"]
    assert "models" not in [s for s in stages if s["use"] == "pr_fit"][0]["parameters"]  # no scGen: no tokens


def test_perturbation_options_that_go_together_and_bad_values(files, tmp_path):
    a, p, adata, _ = files
    with pytest.raises(DataValidationError, match="--perturbation-key and --control-value go together"):
        check_own_data(a, None, perturbation_key="condition")
    with pytest.raises(DataValidationError, match="--cell-type-key needs --perturbation-key"):
        check_own_data(a, p, cell_type_key="cell_type")
    with pytest.raises(DataValidationError, match=r"mine\.h5ad: --control-value 'control' does not occur in obs "
                                                  r"column 'condition'; its values: 'ctrl', 'stim'"):
        check_own_data(a, p, perturbation_key="condition", control_value="control")
    with pytest.raises(DataValidationError, match=r"--perturbation-key column 'treatment' is not an obs column"):
        check_own_data(a, p, perturbation_key="treatment", control_value="ctrl")
    # one perturbation and no cell types: the task is skipped, the others run
    own = check_own_data(a, p, perturbation_key="condition", control_value="ctrl")
    assert "perturbation_response" not in own.tasks and "target_expression" in own.tasks
    assert "needs --cell-type-key" in own.skipped["perturbation_response"]
    drugs = adata.copy()
    drugs.obs["drug"] = np.array(["dmso", "drug_a", "drug_b"] * 20)
    path = h5ad(tmp_path, drugs, "drugs.h5ad")
    with pytest.raises(DataValidationError, match=r"no task can run on these data: perturbation_response: .*'drug_a', "
                                                  r"'drug_b' of obs column 'drug' name no gene of the data"):
        check_own_data(path, None, perturbation_key="drug", control_value="dmso")


# ------------------------------------------------------------------ a task that cannot run is skipped


def test_a_five_edge_prior_skips_edge_classification_and_runs_the_rest(files, tmp_path, capsys):
    a, _, _, prior = files
    small = write(tmp_path, "p5.tsv", prior.head(5).to_csv(sep="\t", index=False))
    own = check_own_data(a, small, label_key="cell_type")
    assert own.tasks == ["target_expression", "cell_type_markers", "grn_inference"]
    assert list(own.skipped) == ["edge_classification"]
    assert own.skipped["edge_classification"].startswith("cannot make its 'reference' split: ")
    out = tmp_path / "out"
    write_study(own, out)
    assert read_summary(out)["skipped"] == own.skipped
    from grnbench.byod import intro_note

    note = intro_note(read_summary(out))
    assert "**edge classification**: cannot make its 'reference' split" in note and note.startswith("```{note}")


def test_the_cli_reports_a_skipped_task_on_stderr_and_fails_when_none_can_run(files, tmp_path, capsys, monkeypatch):
    a, _, adata, prior = files
    import grnbench.runner

    ran = []
    monkeypatch.setattr(grnbench.runner, "run_profile", lambda *args, **kw: ran.append(kw["results_dir"]))
    small = write(tmp_path, "p5.tsv", prior.head(5).to_csv(sep="\t", index=False))
    out = tmp_path / "res"
    assert main(["run", "--adata", str(a), "--prior", str(small), "--out", str(out), "--no-book"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("skipping edge_classification: cannot make its 'reference' split")
    assert ran == [out.resolve()] and (out / "own_data.json").is_file()
    drugs = adata.copy()
    drugs.obs["drug"] = np.array(["dmso", "drug_a", "drug_b"] * 20)
    out2 = tmp_path / "res2"
    code = main(["run", "--adata", str(h5ad(tmp_path, drugs, "drugs.h5ad")), "--perturbation-key", "drug",
                 "--control-value", "dmso", "--out", str(out2), "--no-book"])
    assert code == 1 and "no task can run on these data" in capsys.readouterr().err and not out2.exists()


# ------------------------------------------------------------------ inputs that are almost right


def test_counts_or_unlogged_values_declared_log1p(files, tmp_path):
    _, p, adata, _ = files
    counts = adata.copy()
    counts.X = np.round(np.expm1(counts.X) * 40)
    counts.X[0, 0] = 3000.0
    path = h5ad(tmp_path, counts, "counts.h5ad")
    with pytest.raises(DataValidationError, match=r"counts\.h5ad: the matrix is declared 'log1p' .* values reach "
                                                  r"3,000\.0.* raw counts \(all integers\): use --scale counts"):
        check_own_data(path, p)
    assert check_own_data(path, p, scale="counts").tasks  # the fix works
    tpm = adata.copy()
    tpm.X = np.expm1(tpm.X) * 37.5 + 0.25
    with pytest.raises(DataValidationError, match=r"declared 'log'.* unlogged normalised values: use --scale linear"):
        check_own_data(h5ad(tmp_path, tpm, "tpm.h5ad"), p, scale="log")


def test_ensembl_version_suffixes_name_the_fix(files, tmp_path):
    _, _, adata, prior = files
    ids = {g: f"ENSG{i:011d}" for i, g in enumerate(adata.var_names)}
    versioned = adata.copy()
    versioned.var_names = [f"{ids[g]}.{i % 7 + 1}" for i, g in enumerate(adata.var_names)]
    net = prior.assign(source=prior["source"].map(ids), target=prior["target"].map(ids))
    p = write(tmp_path, "ens.tsv", net.to_csv(sep="\t", index=False))
    with pytest.raises(DataValidationError, match=r"version suffixes \(e\.g\. 'ENSG00000000000\.1'\) and the "
                                                  r"network's do not .*str\.replace"):
        check_own_data(h5ad(tmp_path, versioned, "v.h5ad"), p)
    plain = adata.copy()
    plain.var_names = [ids[g] for g in adata.var_names]
    netv = net.assign(source=net["source"] + ".3", target=net["target"] + ".3")
    with pytest.raises(DataValidationError, match=r"the network's Ensembl ids carry version suffixes .*strip them "
                                                  r"from the network file"):
        check_own_data(h5ad(tmp_path, plain, "plain.h5ad"), write(tmp_path, "ensv.tsv", netv.to_csv(sep="\t",
                                                                                                   index=False)))


def test_mouse_symbols_against_a_human_prior_with_a_few_shared_names(files, tmp_path):
    _, p, adata, _ = files
    mouse = adata.copy()  # mouse-style names: 'Tf0', 'g0'; two targets happen to match the human prior as they are
    mouse.var_names = [g.capitalize() if g.startswith("TF") else g if g in ("G8", "G9") else g.lower()
                       for g in adata.var_names]
    with pytest.raises(DataValidationError, match=r"prior\.tsv \(--prior\): only 2 gene\(s\) of the network are genes "
                                                  r"of .*mouse\.h5ad.* differ only in case \(16 genes, e\.g\. data "
                                                  r"'Tf0' vs network 'TF0'; mouse symbols"):
        check_own_data(h5ad(tmp_path, mouse, "mouse.h5ad"), p)


def test_gene_column_missing_or_repeating_names(files, tmp_path):
    _, p, adata, _ = files
    ens = adata.copy()
    ens.var["symbol"] = list(ens.var_names[:-1]) + [ens.var_names[0]]
    ens.var_names = [f"ENSG{i:011d}" for i in range(ens.n_vars)]
    path = h5ad(tmp_path, ens, "dup.h5ad")
    with pytest.raises(DataValidationError, match=r"dup\.h5ad: gene column 'symbols' \(--gene-column\) is not a var "
                                                  r"column \(have 'symbol'\)"):
        check_own_data(path, p, gene_column="symbols")
    with pytest.raises(DataValidationError, match=r"dup\.h5ad: gene column 'symbol' repeats 1 name\(s\) \('TF0'\)"):
        check_own_data(path, p, gene_column="symbol")
    with pytest.raises(DataValidationError, match="--gene-column applies to .var, not .raw.var"):
        check_own_data(path, p, gene_column="symbol", layer="raw")


def test_quick_settings_name_real_parameters_of_every_model(files):
    # a misspelled setting would only fail inside a notebook, after earlier stages ran
    from grnbench.byod import _QUICK
    from grnbench.registry import get_model
    from grnbench.study import load_study

    templates = load_study()["templates"]
    a, p, _, _ = files
    own = check_own_data(a, p, label_key="cell_type", perturbation_key="condition", control_value="ctrl",
                         cell_type_key="cell_type")
    from grnbench.byod import _prepare

    for stage, settings in _QUICK.items():
        task = templates[stage]["task"]
        data = _prepare(task, own.dataset, own.prior) if task in own.tasks else None
        for model, params in settings.get("model_params", {}).items():
            spec = get_model(model, task)
            assert data is not None, task
            spec.build(data, **params)  # raises on an unknown parameter
