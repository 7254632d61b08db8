"""Read the edge-classification results of a profile and turn them into tables and verdicts.

The report notebook calls these functions; they read only the tables written by the fit
stages (:func:`grnbench.tasks.edge_classification.benchmark.save_benchmark`), never the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ...report import fmt_interval, load_tables
from .benchmark import AGGREGATE_SEED, CONTROLS, headline

__all__ = ["MODEL_ORDER", "EdgeResults", "load_results", "interval_table", "verdict", "seed_spread", "ablation_table",
           "timing_table", "per_tf_summary"]

TASK = "edge_classification"
#: Display order: controls first, then the seed system.
MODEL_ORDER = ["random", "degree", "pair_logreg", "pair_xgb", "two_tower", "two_tower_ensemble"]


@dataclass
class EdgeResults:
    """All tables of the task for one profile (see :func:`load_results`)."""

    metrics: pd.DataFrame
    headline: pd.DataFrame
    splits: pd.DataFrame
    paired: pd.DataFrame
    per_tf: pd.DataFrame
    ablation: pd.DataFrame
    timing: pd.DataFrame
    counts: pd.DataFrame


def load_results(results_dir: str | Path, datasets: list[str]) -> EdgeResults:
    """Load the task's tables for ``datasets`` from ``<results_dir>/edge_classification/<dataset>/``.

    Raises
    ------
    FileNotFoundError
        If a dataset's tables are missing (run its fit stage first); the message names the file.
    """
    t = load_tables(results_dir, TASK, datasets, ("metrics", "splits", "paired", "timing", "counts"),
                    ("per_tf", "ablation"))
    return EdgeResults(metrics=t["metrics"], headline=headline(t["metrics"]), splits=t["splits"], paired=t["paired"],
                       per_tf=t["per_tf"], ablation=t["ablation"], timing=t["timing"], counts=t["counts"])


def interval_table(head: pd.DataFrame, metrics=("auroc", "auprc", "auprc_ratio"), digits: int = 3) -> pd.DataFrame:
    """``value [ci_low, ci_high]`` per (dataset, split, model) and metric, controls first."""
    df = head[head["metric"].isin(metrics)].copy()
    df["cell"] = [fmt_interval(v, lo, hi, digits) for v, lo, hi in zip(df["value"], df["ci_low"], df["ci_high"])]
    wide = df.pivot_table(index=["dataset", "split", "model"], columns="metric", values="cell", aggfunc="first")
    wide = wide.reindex(columns=list(metrics))
    wide = wide.reindex(sorted(wide.index, key=lambda i: (i[0], i[1], MODEL_ORDER.index(i[2])
                                                          if i[2] in MODEL_ORDER else 99)))
    wide.columns.name = None
    return wide


def verdict(res: EdgeResults, split: str, metric: str = "auroc") -> str:
    """Plain-language verdict for one split: does the two-tower beat ``degree`` and ``pair_xgb``, by how much?

    One line per dataset with the paired bootstrap difference (95% CI over test pairs) of the
    seed-averaged two-tower and of the ensemble against each control. "Beats" only when the CI
    excludes zero.
    """
    p = res.paired[(res.paired["split"] == split) & (res.paired["metric"] == metric)
                   & res.paired["reference"].isin(CONTROLS)]
    if p.empty:
        return f"No `{split}` split in this run."
    lines, tally = [], {"better": 0, "no difference": 0, "worse": 0}
    for ds, sub in p.groupby("dataset", sort=False):
        parts = []
        for r in sub.itertuples():
            parts.append(f"`{r.model}` vs `{r.reference}` {fmt_interval(r.diff, r.ci_low, r.ci_high, signed=True)} "
                         f"({r.verdict})")
            tally[r.verdict] += 1
        head = res.headline[(res.headline["dataset"] == ds) & (res.headline["split"] == split)
                            & (res.headline["metric"] == metric)].set_index("model")["value"]
        best = head.idxmax() if len(head) else "n/a"
        lines.append(f"- **{ds}** (best: `{best}`, {metric} {head.max():.3f}) — " + "; ".join(parts) + ".")
    n = sum(tally.values())
    summary = (f"{metric} differences over {n} comparisons: the two-tower rows are better in {tally['better']}, "
               f"indistinguishable in {tally['no difference']} and worse in {tally['worse']}.")
    return summary + "\n\n" + "\n".join(lines)


def seed_spread(res: EdgeResults, metrics=("auroc", "auprc_ratio", "f1")) -> pd.DataFrame:
    """Two-tower seed robustness: mean and sd over seeds of each metric, per dataset and split."""
    m = res.metrics[(res.metrics["model"] == "two_tower") & (res.metrics["seed"] != AGGREGATE_SEED)
                    & res.metrics["metric"].isin(metrics)]
    out = m.groupby(["dataset", "split", "metric"])["value"].agg(["mean", "std", "count"]).rename(
        columns={"std": "sd", "count": "seeds"})
    return out.reset_index()


def ablation_table(res: EdgeResults) -> pd.DataFrame:
    """AUROC and AUPRC ratio (mean ± sd over seeds) of the two-tower with embeddings only, expression only, both."""
    if res.ablation.empty:
        return pd.DataFrame()
    agg = res.ablation.groupby(["dataset", "split", "inputs"], sort=False)[["auroc", "auprc_ratio"]].agg(["mean", "std"])
    out = pd.DataFrame(index=agg.index)
    for m in ("auroc", "auprc_ratio"):
        out[m] = [f"{a:.3f} ± {b:.3f}" for a, b in zip(agg[(m, "mean")], agg[(m, "std")].fillna(0))]
    return out


def timing_table(res: EdgeResults) -> pd.DataFrame:
    """Mean fit seconds and seconds per 1,000 scored pairs per model (2 CPU cores)."""
    t = res.timing.groupby(["dataset", "model"])[["train_pairs", "fit_seconds", "seconds_per_1000_pairs"]].mean()
    t = t.reset_index()
    t["order"] = t["model"].map({m: i for i, m in enumerate(MODEL_ORDER)})
    return t.sort_values(["dataset", "order"]).drop(columns="order").set_index(["dataset", "model"])


def per_tf_summary(res: EdgeResults) -> pd.DataFrame:
    """Median and interquartile range of the per-TF test AUROC (TFs with both classes; first seed)."""
    if res.per_tf.empty:
        return pd.DataFrame()
    g = res.per_tf.groupby(["dataset", "split", "model"])["auroc"]
    out = pd.DataFrame({"tfs": g.size(), "median": g.median(), "q25": g.quantile(0.25), "q75": g.quantile(0.75)})
    return out.reindex(sorted(out.index, key=lambda i: (i[0], i[1], MODEL_ORDER.index(i[2])
                                                        if i[2] in MODEL_ORDER else 99)))
