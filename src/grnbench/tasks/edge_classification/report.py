"""Read the edge-classification results of a profile and turn them into tables and verdicts.

The report notebook calls these functions; they read only the tables written by the fit
stages (:func:`grnbench.engine.save`), never the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ...registry import display_order, get_model
from ...report import best_neural_block, fmt_interval, interval_table, load_tables, seed_spread
from ...results import headline

__all__ = ["EdgeResults", "load_results", "interval_table", "verdict", "seed_spread", "ablation_table",
           "timing_table", "per_tf_summary"]

TASK = "edge_classification"


@dataclass
class EdgeResults:
    """All tables of the task for one profile (see :func:`load_results`)."""

    metrics: pd.DataFrame
    headline: pd.DataFrame
    splits: pd.DataFrame
    paired: pd.DataFrame
    per_tf: pd.DataFrame
    ablation: pd.DataFrame
    fits: pd.DataFrame
    counts: pd.DataFrame
    learning_curves: pd.DataFrame | None = None

    @property
    def models(self) -> list[str]:
        """Models present, in the registry's display order (controls first)."""
        return display_order(TASK, self.metrics["model"])


def load_results(results_dir: str | Path, datasets: list[str]) -> EdgeResults:
    """Load the task's tables for ``datasets`` from ``<results_dir>/edge_classification/<dataset>/``.

    Raises
    ------
    FileNotFoundError
        If a dataset's tables are missing (run its fit stage first); the message names the file.
    """
    t = load_tables(results_dir, TASK, datasets, ("metrics", "splits", "paired", "fits", "counts"),
                    ("per_tf", "ablation", "learning_curves"))
    return EdgeResults(metrics=t["metrics"], headline=headline(t["metrics"]), splits=t["splits"], paired=t["paired"],
                       per_tf=t["per_tf"], ablation=t["ablation"], fits=t["fits"], counts=t["counts"],
                       learning_curves=t["learning_curves"])


def verdict(res: EdgeResults, split: str, metric: str = "auroc") -> str:
    """Plain-language verdict for one split: do the non-control models beat the controls, by how much?

    Opens with the best neural model (seed or published) against the best control per dataset
    (:func:`grnbench.report.best_neural_block`), then one line per dataset with the paired bootstrap
    difference (95% CI over test pairs) of every seed-averaged neural model (two-tower, its
    ensemble, GENELink) against each control it was compared with (the best control and the
    controls its registry entry names). "Beats" only when the CI excludes zero.
    """
    p = res.paired[(res.paired["split"] == split) & (res.paired["metric"] == metric)
                   & np.array([get_model(r, TASK).is_baseline for r in res.paired["reference"]], dtype=bool)]
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
    summary = (f"{metric} differences over {n} comparisons of the neural models (seed and published) with "
               f"controls: better in {tally['better']}, indistinguishable in {tally['no difference']} and worse in "
               f"{tally['worse']}.")
    block = best_neural_block(TASK, res.headline, res.paired, split=split)
    return (block + "\n\n" if block else "") + summary + "\n\n" + "\n".join(lines)


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
    """Mean training pairs, fit seconds and seconds per 1,000 scored pairs per model (2 CPU cores)."""
    f = res.fits.assign(train_pairs=res.fits["n_train"],
                        seconds_per_1000_pairs=1000 * res.fits["predict_seconds"] / res.fits["n_test"])
    t = f.groupby(["dataset", "model"])[["train_pairs", "fit_seconds", "seconds_per_1000_pairs"]].mean().reset_index()
    rank = {m: i for i, m in enumerate(res.models)}
    t["order"] = t["model"].map(rank)
    return t.sort_values(["dataset", "order"]).drop(columns="order").set_index(["dataset", "model"])


def per_tf_summary(res: EdgeResults) -> pd.DataFrame:
    """Median and interquartile range of the per-TF test AUROC (TFs with both classes; first seed)."""
    if res.per_tf.empty:
        return pd.DataFrame()
    g = res.per_tf.groupby(["dataset", "split", "model"])["auroc"]
    out = pd.DataFrame({"tfs": g.size(), "median": g.median(), "q25": g.quantile(0.25), "q75": g.quantile(0.75)})
    rank = {m: i for i, m in enumerate(res.models)}
    return out.reindex(sorted(out.index, key=lambda i: (i[0], i[1], rank.get(i[2], len(rank)))))
