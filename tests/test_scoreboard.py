"""The cross-task scoreboard: which control the best neural model is compared with."""

import shutil
from pathlib import Path

import pandas as pd

from grnbench.report import scoreboard

PBMC = Path(__file__).resolve().parents[1] / "results" / "full" / "perturbation_response" / "pbmc68k_reduced"


def _copy(tmp_path, edit):
    part = tmp_path / "perturbation_response" / "pbmc68k_reduced"
    part.mkdir(parents=True)
    shutil.copy(PBMC / "metrics.csv", part / "metrics.csv")
    edit(pd.read_csv(PBMC / "paired.csv")).to_csv(part / "paired.csv", index=False)
    return tmp_path


def _row(board, paired_reference):
    assert list(board["task"]) == ["perturbation_response"]
    r = board.iloc[0]
    assert (r["metric"], r["model"], r["reference"]) == ("pearson_delta", "perturb_transformer", paired_reference)
    return r


def test_uses_the_control_chosen_on_validation(tmp_path):
    def choose_ridge(p):
        return p.assign(best_baseline=p["reference"] == "ridge")
    board = scoreboard(_copy(tmp_path, choose_ridge))
    r = _row(board, "ridge")
    p = pd.read_csv(PBMC / "paired.csv")
    want = p[(p["metric"] == "pearson_delta") & (p["reference"] == "ridge")].iloc[0]
    assert r["diff"] == want["diff"] and r["verdict"] == want["verdict"]


def test_without_a_validation_choice_takes_the_best_control_on_the_metric(tmp_path):
    board = scoreboard(_copy(tmp_path, lambda p: p.drop(columns="best_baseline")))
    m = pd.read_csv(PBMC / "metrics.csv")
    m = m[(m["metric"] == "pearson_delta") & (m["model"] != "perturb_transformer")]
    best_control = m.groupby("model")["value"].mean().idxmax()
    _row(board, best_control)
