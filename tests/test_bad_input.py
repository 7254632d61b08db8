"""Bad input gets a grnbench error that names the file, column, gene or id at fault."""

import numpy as np
import pandas as pd
import pytest

from conftest import make_adata
from grnbench.data.validation import validate_expression, validate_prior
from grnbench.errors import DataValidationError, GrnbenchError, UnknownIdError
from grnbench.registry import get_dataset, get_metric, get_model
from grnbench.results import COLUMNS, validate_results
from grnbench.tasks.target_expression import build_task_data, make_split

PRIOR = pd.DataFrame({"source": ["A", "A", "B"], "target": ["X", "Y", "X"], "weight": [1.0, -1.0, 1.0]})


def test_all_errors_are_grnbench_errors():
    assert issubclass(DataValidationError, GrnbenchError) and issubclass(DataValidationError, ValueError)


def test_prior_missing_column():
    with pytest.raises(DataValidationError, match=r"prior p\.csv: missing column\(s\) 'weight'"):
        validate_prior(PRIOR.drop(columns="weight"), "p.csv")


def test_prior_extra_column():
    with pytest.raises(DataValidationError, match=r"unexpected column\(s\) 'PMID'"):
        validate_prior(PRIOR.assign(PMID="1"), "p.csv")


def test_prior_non_numeric_weight():
    with pytest.raises(DataValidationError, match=r"'weight' has 1 non-numeric value\(s\), e\.g\. \['up'\]"):
        validate_prior(PRIOR.assign(weight=["1", "up", "-1"]), "p.csv")


def test_prior_zero_weight_names_the_edge():
    with pytest.raises(DataValidationError, match=r"zero for 1 edge\(s\) \('A->Y'\)"):
        validate_prior(PRIOR.assign(weight=[1.0, 0.0, 1.0]), "p.csv")


def test_prior_missing_weight():
    with pytest.raises(DataValidationError, match="missing value"):
        validate_prior(PRIOR.assign(weight=[1.0, np.nan, 1.0]), "p.csv")


def test_prior_duplicate_edges():
    with pytest.raises(DataValidationError, match=r"duplicated \(source, target\) pair\(s\): 'A->X'"):
        validate_prior(pd.concat([PRIOR, PRIOR.iloc[[0]]]), "p.csv")


def test_prior_empty_gene_name():
    with pytest.raises(DataValidationError, match=r"column 'target' has 1 empty gene name"):
        validate_prior(PRIOR.assign(target=["X", "", "Y"]), "p.csv")


def test_expression_duplicate_genes():
    with pytest.raises(DataValidationError, match=r"expr\.csv: duplicated gene name\(s\) 'G1'"):
        validate_expression(np.ones((3, 3)), ["G1", "G2", "G1"], "expr.csv")


def test_expression_nan_and_inf_name_the_genes():
    x = np.ones((3, 3))
    x[1, 2] = np.nan
    with pytest.raises(DataValidationError, match=r"NaN or infinite values in gene\(s\) 'G3'"):
        validate_expression(x, ["G1", "G2", "G3"], "expr.csv")
    x[1, 2] = np.inf
    with pytest.raises(DataValidationError, match="'G3'"):
        validate_expression(x, ["G1", "G2", "G3"], "expr.csv")


def test_expression_negative_values_in_log_scale():
    x = np.ones((3, 2))
    x[2, 0] = -0.5
    with pytest.raises(DataValidationError, match=r"negative values in a log-scale matrix for gene\(s\) 'G1' \(first at cell 'c2'\)"):
        validate_expression(x, ["G1", "G2"], "expr.csv", cells=["c0", "c1", "c2"])
    validate_expression(x, ["G1", "G2"], "scaled.csv", log_scale=False)  # centred data are allowed when declared


def test_expression_shape_mismatch():
    with pytest.raises(DataValidationError, match="3 gene columns but 2 gene names"):
        validate_expression(np.ones((2, 3)), ["G1", "G2"], "expr.csv")


def test_no_tf_of_the_prior_in_the_data():
    adata, _ = make_adata()
    prior = pd.DataFrame({"source": ["Foxa2", "Hnf4a"], "target": ["G1", "G2"], "weight": [1.0, 1.0]})
    with pytest.raises(DataValidationError, match=r"tiny: no TF \(source\) of prior 'mouse' is among the 14 genes"):
        build_task_data(adata, prior, dataset="tiny", prior_id="mouse")


def test_no_target_with_a_prior_parent():
    adata, _ = make_adata()
    prior = pd.DataFrame({"source": ["TF0", "TF1"], "target": ["TF1", "ELSEWHERE"], "weight": [1.0, 1.0]})
    with pytest.raises(DataValidationError, match="no non-TF gene has a prior parent"):
        build_task_data(adata, prior, dataset="tiny", prior_id="tf_only")


def test_ood_split_errors_name_column_and_values():
    obs = pd.DataFrame({"stage": ["de", "de", "mh1", "ipsc"]})
    with pytest.raises(DataValidationError, match=r"obs column 'cell_type' for the ood split is missing"):
        make_split(obs, "ood", dataset="x", ood={"obs_key": "cell_type", "test": ["B"]})
    with pytest.raises(DataValidationError, match=r"held-out stage value\(s\) 'mh9' not found; present: 'de', 'ipsc', 'mh1'"):
        make_split(obs, "ood", dataset="x", ood={"obs_key": "stage", "test": ["mh9"]})
    with pytest.raises(UnknownIdError, match="unknown split id 'leaky'"):
        make_split(obs, "leaky")
    with pytest.raises(UnknownIdError, match="no held-out group declared for dataset 'x'"):
        make_split(obs, "ood", dataset="x")


def test_unknown_ids_list_the_registered_ones():
    with pytest.raises(UnknownIdError, match="unknown model id 'lembaz' for task 'target_expression'; registered: .*mlr"):
        get_model("lembaz", "target_expression")
    with pytest.raises(UnknownIdError, match="unknown dataset id 'hhep2'.*hhep"):
        get_dataset("hhep2")
    with pytest.raises(UnknownIdError, match="unknown metric id 'r2'"):
        get_metric("r2", "target_expression")


def _row(**kw):
    row = dict(task="t", dataset="d", split="random", model="m", seed=0, metric="r2_flat", value=0.5, ci_low=0.4,
               ci_high=0.6, n_test=10, fit_seconds=1.0, predict_seconds=0.1, params="{}", git_sha="abc")
    row.update(kw)
    return row


def test_results_schema_violations():
    ok = pd.DataFrame([_row()])
    assert list(validate_results(ok).columns) == list(COLUMNS)
    with pytest.raises(DataValidationError, match=r"missing 'git_sha', extra 'comment'"):
        validate_results(ok.drop(columns="git_sha").assign(comment="x"), "metrics.csv")
    with pytest.raises(DataValidationError, match=r"metrics.csv: column 'value' has non-numeric value\(s\) \['high'\]"):
        validate_results(pd.DataFrame([_row(value="high")]), "metrics.csv")
    with pytest.raises(DataValidationError, match="column 'seed' must be an integer"):
        validate_results(pd.DataFrame([_row(seed=None)]), "metrics.csv")
