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


def _head(rows):
    """Headline rows of edge classification (auroc, higher is better): (dataset, model, value, lo, hi)."""
    return pd.DataFrame([{"task": "edge_classification", "dataset": d, "split": "reference", "model": m, "seed": 0,
                          "metric": "auroc", "value": v, "ci_low": lo, "ci_high": hi} for d, m, v, lo, hi in rows])


def test_leaderboard_ranks_by_mean_rank_and_counts_ties_with_the_best():
    from grnbench.report import leaderboard

    head = _head([
        ("a", "two_tower", 0.80, 0.75, 0.85), ("a", "degree", 0.78, 0.74, 0.82), ("a", "random", 0.50, 0.45, 0.55),
        ("b", "two_tower", 0.60, 0.58, 0.62), ("b", "degree", 0.70, 0.68, 0.72), ("b", "random", 0.50, 0.48, 0.52),
        ("c", "two_tower", 0.90, 0.88, 0.92), ("c", "degree", 0.90, 0.80, 0.95), ("c", "random", 0.40, 0.30, 0.60),
    ])
    board = leaderboard("edge_classification", head).set_index("model")
    # ranks by hand: a: 1, 2, 3; b: 2, 1, 3; c: 1.5, 1.5, 3 (equal values share the mean rank)
    assert board.loc["two_tower", "mean_rank"] == (1 + 2 + 1.5) / 3
    assert board.loc["degree", "mean_rank"] == (2 + 1 + 1.5) / 3
    assert board.loc["random", "mean_rank"] == 3
    # tied with the best: a: degree's CI overlaps; b: two_tower's [0.58, 0.62] misses [0.68, 0.72]; c: both
    assert board.loc["two_tower", "n_tied_best"] == 3 - 1 and board.loc["degree", "n_tied_best"] == 3
    assert board.loc["random", "n_tied_best"] == 0
    assert list(board.sort_values("rank").index) == ["degree", "two_tower", "random"]  # equal mean rank 1.5: more ties
    assert dict(board["role"]) == {"two_tower": "neural", "degree": "control", "random": "chance"}
    assert board["n_settings"].tolist() == [3, 3, 3]


def test_metric_spread_counts_settings_where_best_and_worst_cis_are_disjoint():
    from grnbench.report import metric_spread

    head = _head([
        ("a", "two_tower", 0.80, 0.75, 0.85), ("a", "degree", 0.70, 0.66, 0.74), ("a", "random", 0.50, 0.45, 0.55),
        ("b", "two_tower", 0.60, 0.55, 0.65), ("b", "degree", 0.62, 0.57, 0.67), ("b", "random", 0.10, 0.05, 0.15),
    ])
    spread = metric_spread("edge_classification", head).set_index("metric")
    # chance controls are left out: a: 0.80 vs 0.70, disjoint CIs; b: 0.62 vs 0.60, overlapping
    assert spread.loc["auroc", "n_settings"] == 2 and spread.loc["auroc", "separating"] == 1
    assert abs(spread.loc["auroc", "median_range"] - (0.10 + 0.02) / 2) < 1e-12
    assert spread.loc["auroc", "share_separating"] == 0.5


def test_scoreboard_panels_give_each_task_its_own_scale():
    from grnbench.plotting import scoreboard_panels

    board = pd.DataFrame([
        {"task": "grn_inference", "dataset": "d", "split": "all", "metric": "auprc_ratio", "model": "catran",
         "reference": "genie3", "diff": -30.0, "ci_low": -35.0, "ci_high": -25.0, "verdict": "worse"},
        {"task": "edge_classification", "dataset": "e", "split": "reference", "metric": "auroc", "model": "two_tower",
         "reference": "degree", "diff": 0.02, "ci_low": 0.01, "ci_high": 0.03, "verdict": "better"},
    ])
    fig = scoreboard_panels(board)
    main_axes = [ax for ax in fig.axes if ax.get_title(loc="left")]
    assert [ax.get_title(loc="left").split(" —")[0] for ax in main_axes] == ["GRN inference", "edge classification"]
    lo, hi = main_axes[1].get_xlim()
    assert -0.5 < lo and hi < 0.5  # not stretched by the other task's -30


def test_noise_ceilings_join_the_ceiling_with_the_best_model_and_say_why_where_none(tmp_path):
    from grnbench.report import NO_CEILING, noise_ceilings

    def head(ds, split, values):
        return pd.DataFrame([{"dataset": ds, "split": split, "split_seed": 0, "model": m, "seed": 0,
                              "metric": "pearson_delta", "value": v, "ci_low": v - 0.1, "ci_high": v + 0.1}
                             for m, v in values.items()])

    kang = tmp_path / "perturbation_response" / "kang"
    kang.mkdir(parents=True)
    head("kang", "heldout_cell_type", {"ridge": 0.6, "scgen": 0.5}).to_csv(kang / "metrics.csv", index=False)
    pd.DataFrame({"dataset": "kang", "split": "heldout_cell_type", "unit": ["A", "B"], "n_perturbed": 10,
                  "n_control": 12, "split_half_r": [0.5, 0.7], "split_half_sd": 0.01,
                  "ceiling": [0.7, 0.9]}).to_csv(kang / "ceilings.csv", index=False)
    d4 = tmp_path / "perturbation_response" / "d4"
    d4.mkdir()
    head("d4", "loko", {"ridge": 0.2, "no_change": 0.0}).to_csv(d4 / "metrics.csv", index=False)
    c = noise_ceilings(tmp_path).set_index("dataset")
    assert c.loc["kang", "units"] == 2 and c.loc["kang", "ceiling"] == 0.8  # mean over units
    assert c.loc["kang", "best_model"] == "ridge" and abs(c.loc["kang", "share_of_ceiling"] - 0.6 / 0.8) < 1e-12
    assert c.loc["d4", "units"] == 0 and pd.isna(c.loc["d4", "ceiling"])
    assert c.loc["d4", "note"] == NO_CEILING["perturbation_response"] and c.loc["d4", "best_model"] == "ridge"


def test_ceiling_text_names_the_share_of_the_ceiling_or_says_there_is_none():
    from grnbench.report import CEILING_SUMMARY_COLUMNS, ceiling_text

    rows = pd.DataFrame([["perturbation_response", "kang", "heldout_cell_type", "pearson_delta", 7, 0.9, 0.8, "ridge",
                          0.6, 0.75, "split-half ceiling"],
                         ["target_expression", "hhep", "random", "r2_flat", 0, None, None, "ridge", 0.4, None, "none"]],
                        columns=list(CEILING_SUMMARY_COLUMNS))
    assert ceiling_text(rows).splitlines() == [
        "- **perturbation response**, `kang` (heldout_cell_type): ceiling 0.800 on pearson_delta (split-half r 0.900, "
        "7 held-out units); the best model, `ridge`, reaches 0.600, 75% of it.",
        "", "Without a ceiling:", "", "- **target expression** (1 dataset(s)): none."]
    assert ceiling_text(rows.iloc[1:]).startswith("No dataset and split of this profile has a noise ceiling")
