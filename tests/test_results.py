"""The results table: atomic writes and collection of parts."""

import json
import os

import pandas as pd
import pytest

from grnbench.results import COLUMNS, collect, describe_params, write_table
from grnbench.models import ParentRidge


def _part(model, value):
    return pd.DataFrame([dict(task="target_expression", dataset="d", split="random", model=model, seed=0,
                              metric="r2_flat", value=value, ci_low=value - 0.1, ci_high=value + 0.1, n_test=5,
                              fit_seconds=0.1, predict_seconds=0.01, params="{}", git_sha="x")])


def test_collect_concatenates_parts_sorted(tmp_path):
    write_table(_part("ridge", 0.4), tmp_path / "target_expression" / "b" / "metrics.csv")
    write_table(_part("mean", 0.0), tmp_path / "target_expression" / "a" / "metrics.csv")
    table = collect(tmp_path)
    assert list(table.columns) == list(COLUMNS)
    assert list(table["model"]) == ["mean", "ridge"]
    assert (tmp_path / "metrics.parquet").is_file()
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "metrics.parquet"), table)


def test_an_all_digit_commit_stays_text_through_collect_and_parquet(tmp_path):
    # commit 8661443 is all digits: read as a number it broke the parquet write of every benchmark stage
    write_table(_part("ridge", 0.4).assign(git_sha="8661443"), tmp_path / "target_expression" / "b" / "metrics.csv")
    write_table(_part("mean", 0.0).assign(git_sha="0ba6d64"), tmp_path / "target_expression" / "a" / "metrics.csv")
    table = collect(tmp_path)
    assert list(table["git_sha"]) == ["0ba6d64", "8661443"]
    assert pd.read_parquet(tmp_path / "metrics.parquet")["git_sha"].tolist() == ["0ba6d64", "8661443"]


def test_failed_write_leaves_the_old_table_and_no_temp_file(tmp_path):
    path = write_table(_part("mean", 0.0), tmp_path / "metrics.csv")
    before = path.read_text()

    class Boom(pd.DataFrame):
        def to_csv(self, *a, **k):
            with open(a[0], "w") as fh:
                fh.write("half")
            raise OSError("disk full")

    with pytest.raises(OSError):
        write_table(Boom(_part("ridge", 1.0)), path)
    assert path.read_text() == before
    assert os.listdir(tmp_path) == ["metrics.csv"]


def test_describe_params_summarises_arrays_and_tuned_values():
    import numpy as np

    est = ParentRidge(parents=np.ones((3, 2), bool)).fit(np.random.default_rng(0).normal(size=(20, 3)),
                                                          np.random.default_rng(1).normal(size=(20, 2)))
    text = describe_params(est)
    assert '"parents": "array(3, 2)"' in text and "alpha_median" in text


def test_describe_params_counts_long_gene_lists_and_keeps_short_ones():
    from grnbench.tasks.grn_inference.estimators import CorrelationScorer

    genes = [f"G{i}" for i in range(1448)]
    params = json.loads(describe_params(CorrelationScorer(regulators=genes[:3], targets=genes)))
    assert params["targets"] == "list(1448)"
    assert params["regulators"] == ["G0", "G1", "G2"]


def test_written_tables_get_normal_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        path = write_table(_part("mean", 0.0), tmp_path / "metrics.csv")
    finally:
        os.umask(umask)
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)
