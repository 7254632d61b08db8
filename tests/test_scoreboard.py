"""The cross-task scoreboard: which control the best neural model is compared with."""

import shutil
from pathlib import Path

import pandas as pd

from grnbench.report import scoreboard, scoreboard_text

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


def test_the_summary_names_the_best_neural_model_of_each_row():
    board = pd.DataFrame({"task": ["edge_classification"] * 3 + ["grn_inference"], "metric": ["auprc"] * 3 + ["epr"],
                          "model": ["genelink", "two_tower", "genelink", "catran"],
                          "verdict": ["better", "worse", "no difference", "worse"]})
    text = scoreboard_text(board).splitlines()
    assert text[0] == ("- **edge_classification** (auprc): the best neural model (`genelink` in 2, `two_tower` in 1) "
                       "beats its control in 1 of 3 dataset/split combinations, is indistinguishable in 1 and worse "
                       "in 1.")
    assert text[1].startswith("- **grn_inference** (epr): the best neural model (`catran` in 1) beats its control in 0")
