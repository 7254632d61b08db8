"""Tables for the data page: sources and licences, dataset contents, prior statistics."""

from __future__ import annotations

import pandas as pd

from ..registry import get_dataset
from .datasets import load_dataset
from .priors import get_prior, load_prior, prior_summary

__all__ = ["sources_table", "sources_markdown", "dataset_table", "prior_table"]


def sources_table(datasets: list[str], priors: list[str]) -> pd.DataFrame:
    """One row per source file: id, kind, file, public URL, sha256, licence, citation."""
    rows = []
    for kind, ids, getter in (("dataset", datasets, get_dataset), ("prior", priors, get_prior)):
        for id_ in ids:
            spec = getter(id_)
            for src in spec.sources:
                rec = src.describe()
                rows.append({"id": id_, "kind": kind, "embedded": spec.embedded, "file": rec["file"],
                             "url": rec["url"], "sha256": rec["sha256"], "licence": spec.licence,
                             "citation": spec.citation})
    return pd.DataFrame(rows)


def sources_markdown(sources: pd.DataFrame) -> str:
    """Markdown table of :func:`sources_table` for the book (linked file, sha256 prefix, licence)."""
    lines = ["| id | file (public source) | sha256 | licence |", "|---|---|---|---|"]
    for r in sources.itertuples(index=False):
        name = r.file.split("/")[-1] if "/" in r.file else r.file
        lines.append(f"| `{r.id}` | [{name}]({r.url}) | `{r.sha256[:16]}…` | {r.licence} |")
    lines.append("")
    lines += [f"- `{r.id}`: {r.citation}" for r in sources.drop_duplicates("id").itertuples(index=False)]
    return "\n".join(lines)


def dataset_table(datasets: list[str]) -> pd.DataFrame:
    """Cells, genes, value range, scale and annotations of each dataset after loading."""
    rows = []
    for ds in datasets:
        adata = load_dataset(ds)
        x = adata.X
        vmax = float(x.max())
        annotations = {c: int(adata.obs[c].nunique()) for c in ("cell_type", "condition", "stage", "perturbation")
                       if c in adata.obs}
        rows.append({"dataset": ds, "cells": adata.n_obs, "genes": adata.n_vars, "max_value": round(vmax, 2),
                     "scale": adata.uns["scale"],
                     "annotations": ", ".join(f"{k} ({v})" for k, v in annotations.items()),
                     "description": get_dataset(ds).description})
    return pd.DataFrame(rows)


def prior_table(priors: list[str], datasets: list[str] = ()) -> pd.DataFrame:
    """Prior statistics overall and restricted to each dataset's genes.

    Datasets whose identifiers do not occur in a prior at all (e.g. the UniProt ids of the
    LEMBAS ligand screen) get no row for that prior.

    Returns
    -------
    pandas.DataFrame
        One row per (prior, scope) where scope is ``all`` or a dataset id; columns from
        :func:`grnbench.data.priors.prior_summary`.
    """
    genes = {ds: set(load_dataset(ds).var_names) for ds in datasets}
    rows = []
    for p in priors:
        df = load_prior(p)
        rows.append({"prior": p, "scope": "all", **prior_summary(df)})
        names = set(df["source"]) | set(df["target"])
        for ds, g in genes.items():
            if names & g:
                rows.append({"prior": p, "scope": ds, **prior_summary(df, g)})
    return pd.DataFrame(rows)
