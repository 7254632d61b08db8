"""Read the GRN-inference results of a profile and turn them into tables and verdicts.

The report notebook calls these functions; they read only the tables written by the fit and
scaling stages, never the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ...registry import display_order
from ...report import best_neural_block, fmt_interval, load_tables
from ...results import headline

__all__ = ["GRNResults", "load_results", "family", "FAMILIES", "family_table", "verdict", "comparisons", "timing_table",
           "top_edges_preview", "precision_curve"]

TASK = "grn_inference"

#: Dataset family -> what it is (the book's verdict is per family).
FAMILIES = {
    "beeline": "BEELINE scRNA-seq (TF -> gene candidates)",
    "boolode": "BoolODE synthetic and curated networks (all ordered pairs)",
    "dream4": "DREAM4 in silico (knockouts, knockdowns, multifactorial)",
    "sachs": "Sachs 2005 protein signalling",
    "prior": "scRNA-seq scored against a prior network",
}


def family(dataset: str) -> str:
    """Family of a dataset id (:data:`FAMILIES`)."""
    if dataset.startswith("boolode_"):
        return "boolode"
    if dataset.startswith("dream4_"):
        return "dream4"
    if dataset.startswith("sachs"):
        return "sachs"
    if dataset.rsplit("_", 1)[-1] in ("specific", "nonspecific", "string", "lofgof"):
        return "beeline"
    return "prior"


@dataclass
class GRNResults:
    """All tables of the task for one profile (see :func:`load_results`)."""

    metrics: pd.DataFrame
    headline: pd.DataFrame
    paired: pd.DataFrame
    fits: pd.DataFrame
    counts: pd.DataFrame
    top_edges: pd.DataFrame
    ablation: pd.DataFrame
    learning_curves: pd.DataFrame | None = None

    @property
    def models(self) -> list[str]:
        """Models present, in the registry's display order (controls first)."""
        return display_order(TASK, self.metrics["model"])


def load_results(results_dir: str | Path, datasets: list[str]) -> GRNResults:
    """Load the task's tables for ``datasets`` from ``<results_dir>/grn_inference/<dataset>/``.

    Raises
    ------
    FileNotFoundError
        If a dataset's tables are missing (run its fit stage first); the message names the file.
    """
    t = load_tables(results_dir, TASK, datasets, ("metrics", "paired", "fits", "counts"),
                    ("top_edges", "ablation", "learning_curves"))
    return GRNResults(metrics=t["metrics"], headline=headline(t["metrics"]), paired=t["paired"], fits=t["fits"],
                      counts=t["counts"], top_edges=t["top_edges"], ablation=t["ablation"],
                      learning_curves=t["learning_curves"])


def family_table(res: GRNResults, metric: str) -> pd.DataFrame:
    """Median over the datasets of each family of a model's headline ``metric``, and the dataset count.

    Returns
    -------
    pandas.DataFrame
        Index: model (display order); columns: one per family present (``<family> (n)``).
    """
    h = res.headline[res.headline["metric"] == metric].assign(family=lambda d: d["dataset"].map(family))
    wide = h.pivot_table(index="model", columns="family", values="value", aggfunc="median")
    n = h.groupby("family")["dataset"].nunique()
    wide.columns = [f"{c} ({n[c]})" for c in wide.columns]
    return wide.reindex([m for m in res.models if m in wide.index])


def verdict(res: GRNResults, fam: str, metric: str = "auprc_ratio") -> str:
    """Plain-language verdict for one family: does CaTran beat correlation and GENIE3, and does the
    interventional loss help?

    Opens with the best neural model (seed or published, e.g. ``regdiffusion``) against the best
    control per dataset (:func:`grnbench.report.best_neural_block`); then counts, over the family's
    datasets, the paired-bootstrap verdicts (95% CI over target genes) of the seed-averaged
    ``catran`` against ``pearson`` and ``genie3`` and of ``catran_interventional`` against
    ``catran``, with the median difference.
    """
    p = res.paired[(res.paired["metric"] == metric) & (res.paired["dataset"].map(family) == fam)]
    if p.empty:
        return f"No {FAMILIES.get(fam, fam)} dataset in this run."
    parts = []
    for model, ref in (("catran", "pearson"), ("catran", "genie3"), ("catran", "spearman"),
                       ("catran_interventional", "catran")):
        q = p[(p["model"] == model) & (p["reference"] == ref)]
        if q.empty:
            continue
        c = q["verdict"].value_counts()
        parts.append(f"`{model}` vs `{ref}`: better on {c.get('better', 0)}, indistinguishable on "
                     f"{c.get('no difference', 0)}, worse on {c.get('worse', 0)} of {len(q)} dataset(s) "
                     f"(median difference {q['diff'].median():+.3f})")
    head = res.headline[(res.headline["metric"] == metric) & (res.headline["dataset"].map(family) == fam)]
    best = head.groupby("model")["value"].median().sort_values(ascending=False)
    lead = f"Best median {metric}: `{best.index[0]}` ({best.iloc[0]:.3f})." if len(best) else ""
    text = f"{lead} " + "; ".join(parts) + "." if parts else lead
    in_fam = res.paired["dataset"].map(family) == fam
    block = best_neural_block(TASK, res.headline[res.headline["dataset"].map(family) == fam], res.paired[in_fam])
    return (block + "\n\n" if block else "") + text


def comparisons(res: GRNResults, metric: str = "auprc_ratio") -> pd.DataFrame:
    """Paired rows of ``metric`` as ``difference [CI] (verdict)`` per dataset and comparison."""
    p = res.paired[res.paired["metric"] == metric].copy()
    p["cell"] = [f"{fmt_interval(d, lo, hi, signed=True)} ({v})"
                 for d, lo, hi, v in zip(p["diff"], p["ci_low"], p["ci_high"], p["verdict"])]
    p["comparison"] = p["model"] + " - " + p["reference"]
    return p.pivot_table(index="dataset", columns="comparison", values="cell", aggfunc="first")


def timing_table(res: GRNResults) -> pd.DataFrame:
    """Mean fit seconds per model and dataset (cells and genes from the counts table)."""
    t = res.fits.groupby(["dataset", "model"])["fit_seconds"].mean().unstack("model")
    t = t.reindex(columns=[m for m in res.models if m in t.columns])
    c = res.counts.set_index("dataset")[["cells", "genes"]]
    return c.join(t).round(2)


def top_edges_preview(res: GRNResults, dataset: str, n: int = 10) -> pd.DataFrame:
    """The ``n`` best edges of each model on ``dataset`` with their truth (first seed)."""
    t = res.top_edges[(res.top_edges["dataset"] == dataset) & (res.top_edges["rank"] <= n)]
    return t.pivot_table(index="rank", columns="model", values="in_truth", aggfunc="first")


def precision_curve(res: GRNResults, dataset: str, ks=(10, 50, 100, 500, 1000)) -> pd.DataFrame:
    """Share of true edges among the top k exported edges, per model (first seed)."""
    t = res.top_edges[res.top_edges["dataset"] == dataset]
    rows = {}
    for model, g in t.groupby("model"):
        g = g.sort_values("rank")
        rows[model] = {k: float(g["in_truth"].to_numpy()[:k].mean()) if len(g) >= k else np.nan for k in ks}
    out = pd.DataFrame(rows).T
    return out.reindex([m for m in res.models if m in out.index])
