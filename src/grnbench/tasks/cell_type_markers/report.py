"""Read the cell-type-marker results of a profile and turn them into tables and verdicts.

The report notebook calls these functions; they read only the tables written by the fit
stages (:func:`grnbench.engine.save`), never the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ...registry import display_order, get_model
from ...report import best_neural_block, fmt_interval, load_tables
from ...results import AGGREGATE_SEED, headline

__all__ = ["MarkerResults", "load_results", "k_table", "verdict", "marker_table", "fit_time_table", "top_genes"]

TASK = "cell_type_markers"


@dataclass
class MarkerResults:
    """All tables of the task for one profile (see :func:`load_results`)."""

    metrics: pd.DataFrame
    headline: pd.DataFrame
    masking: pd.DataFrame
    markers: pd.DataFrame
    selected: pd.DataFrame
    dotplot: pd.DataFrame
    paired: pd.DataFrame
    counts: pd.DataFrame
    learning_curves: pd.DataFrame | None = None
    tuning: pd.DataFrame | None = None

    @property
    def models(self) -> list[str]:
        """Models present, in the registry's display order (chance control first)."""
        return display_order(TASK, self.metrics["model"])


def load_results(results_dir: str | Path, datasets: list[str]) -> MarkerResults:
    """Load the task's tables for ``datasets`` from ``<results_dir>/cell_type_markers/<dataset>/``.

    Raises
    ------
    FileNotFoundError
        If a dataset's tables are missing (run its fit stage first); the message names the file.
    """
    t = load_tables(results_dir, TASK, datasets, ("metrics", "markers", "selected", "paired", "counts"),
                    ("masking", "dotplot", "learning_curves", "tuning"))
    return MarkerResults(metrics=t["metrics"], headline=headline(t["metrics"]), masking=t["masking"],
                         markers=t["markers"], selected=t["selected"], dotplot=t["dotplot"], paired=t["paired"],
                         counts=t["counts"], learning_curves=t["learning_curves"], tuning=t["tuning"])


def k_table(res: MarkerResults, metric: str = "accuracy", ks=(8, 16, 32, 64), digits: int = 3) -> pd.DataFrame:
    """``value [ci_low, ci_high]`` per (dataset, split, model) for a few k, plus all candidate genes.

    Parameters
    ----------
    res : MarkerResults
    metric : str
        Metric id.
    ks : tuple of int
        Numbers of kept genes to show; the largest k of each split (all candidates) is added as ``all``.
    """
    head = res.headline[res.headline["metric"] == metric].copy()
    k_all = head.groupby(["dataset", "split"])["k"].transform("max")
    head["k_label"] = [("all" if k == ka else str(int(k))) for k, ka in zip(head["k"], k_all)]
    head = head[head["k_label"].isin([str(k) for k in ks] + ["all"])]
    head["cell"] = [fmt_interval(v, lo, hi, digits) for v, lo, hi in zip(head["value"], head["ci_low"], head["ci_high"])]
    wide = head.pivot_table(index=["dataset", "split", "model"], columns="k_label", values="cell", aggfunc="first")
    wide = wide.reindex(columns=[c for c in [str(k) for k in ks] + ["all"] if c in wide.columns])
    order = res.models
    wide = wide.reindex(sorted(wide.index, key=lambda i: (i[0], i[1], order.index(i[2]))))
    wide.columns.name = f"{metric} at k"
    return wide


def verdict(res: MarkerResults, split: str, metric: str = "accuracy") -> str:
    """Plain-language verdict for one split: the non-control rankings against the best control ranking and chance.

    Opens with the best neural ranking (seed or published) against the best control at the smallest
    k (:func:`grnbench.report.best_neural_block`); then one sentence per dataset: the paired
    bootstrap difference (95% CI over test cells) at each small k, and a count of wins, ties and
    losses. A ranking beats another only when the CI
    of the paired difference excludes zero.
    """
    p = res.paired[(res.paired["split"] == split) & (res.paired["metric"] == metric)]
    if p.empty:
        return f"No `{split}` split in this run."
    lines, tally = [], {"better": 0, "no difference": 0, "worse": 0}
    for ds, sub in p.groupby("dataset", sort=False):
        chance = [get_model(r, TASK).chance for r in sub["reference"]]
        vs_ref, vs_rand = sub[[not c for c in chance]], sub[chance]
        parts = [f"k={int(r.k)} vs `{r.reference}`: {fmt_interval(r.diff, r.ci_low, r.ci_high, signed=True)} "
                 f"({r.verdict})" for r in vs_ref.itertuples()]
        for r in vs_ref.itertuples():
            tally[r.verdict] += 1
        rand = ", ".join(f"k={int(r.k)} {r.diff:+.3f} ({r.verdict})" for r in vs_rand.itertuples())
        models = ", ".join(f"`{m}`" for m in dict.fromkeys(sub["model"]))
        lines.append(f"- **{ds}** — {metric} of {models} minus the best control ranking at that k: "
                     + "; ".join(parts) + (f". Against random genes: {rand}." if rand else "."))
    n = sum(tally.values())
    ks = ", ".join(str(int(k)) for k in sorted(set(p["k"])))
    names = " and ".join(f"`{m}`" for m in dict.fromkeys(p["model"]))
    summary = (f"Over {n} comparisons (datasets × k ∈ {{{ks}}}), the ranking of {names} is better in "
               f"{tally['better']}, indistinguishable in {tally['no difference']} and worse in {tally['worse']}.")
    block = best_neural_block(TASK, res.headline, res.paired, split=split)
    return (block + "\n\n" if block else "") + summary + "\n\n" + "\n".join(lines)


def marker_table(res: MarkerResults) -> pd.DataFrame:
    """Known PBMC markers among each ranking's top k genes (mean over seeds), ``found / present``.

    Datasets whose candidate genes contain none of the markers (e.g. the embryo data) are left out.
    """
    m = res.markers[res.markers["markers_present"] > 0]
    if m.empty:
        return pd.DataFrame()
    agg = m.groupby(["dataset", "split", "model", "k"], sort=False).agg(
        found=("markers_found", "mean"), present=("markers_present", "first")).reset_index()
    agg["cell"] = [f"{f:.1f} / {p}" if f % 1 else f"{int(f)} / {p}" for f, p in zip(agg["found"], agg["present"])]
    wide = agg.pivot_table(index=["dataset", "split", "model"], columns="k", values="cell", aggfunc="first")
    wide.columns = [f"top {k}" for k in wide.columns]
    order = res.models
    return wide.reindex(sorted(wide.index, key=lambda i: (i[0], i[1], order.index(i[2]))))


def fit_time_table(res: MarkerResults) -> pd.DataFrame:
    """Fit time of each ranking (seconds, 2 CPU cores; mean over seeds) and of the downstream classifier at the largest k."""
    rows = res.metrics[(res.metrics["seed"] != AGGREGATE_SEED) & (res.metrics["metric"] == "accuracy")]
    fit = rows.drop_duplicates(["dataset", "split", "model", "seed"]).groupby(["dataset", "split", "model"])[
        "fit_seconds"].mean()
    k_max = rows.groupby(["dataset", "split"])["k"].transform("max")
    clf = rows[rows["k"] == k_max].groupby(["dataset", "split", "model"])["predict_seconds"].mean()
    out = pd.DataFrame({"ranking_fit_s": fit, "classifier_all_genes_s": clf}).reset_index()
    return out.pivot_table(index="model", columns=["dataset", "split"], values="ranking_fit_s").reindex(
        [m for m in res.models if m in set(out["model"])])


def top_genes(res: MarkerResults, n: int = 10, seed: int = 0) -> pd.DataFrame:
    """Each ranking's top ``n`` genes (one seed) as comma-separated text per (dataset, split, model)."""
    sel = res.selected[(res.selected["seed"] == seed) & (res.selected["rank"] <= n)]
    out = sel.groupby(["dataset", "split", "model"], sort=False)["gene"].agg(", ".join).rename(f"top {n}")
    order = res.models
    return out.to_frame().reindex(sorted(out.index, key=lambda i: (i[0], i[1], order.index(i[2]))))
