"""The BEELINE-derived supervised GRN benchmark in GENELink format (edge classification).

Dataset ids are ``<cell>_<500|1000>_<specific|nonspecific|string|lofgof>`` (lower case, e.g.
``mesc_500_specific``): BEELINE scRNA-seq of one cell type (TFs + the 500 or 1,000 most variable
genes) with one ground-truth network (cell-type-specific ChIP-seq, non-specific ChIP-seq,
STRING, or loss/gain-of-function for mESC). Pratapa et al. 2020, doi:10.1038/s41592-019-0690-6;
GENELink (Chen & Liu 2022, doi:10.1093/bioinformatics/btac559).

Files (each checked against the sha256 in ``beeline_genelink_files.tsv``):

* ``BL--ExpressionData.csv.gz`` — genes x cells, log-transformed (bridge-grn's gzip copies);
* ``Target.csv`` (gene, row index), ``TF.csv`` (TF, row index), ``Label.csv`` (positive
  TF -> target edges as row indices) — GENELink;
* reference splits: GENELink's demo splits (Specific ChIP, hESC/mESC) and bridge-grn's
  ``sample1`` splits (Specific, Non-Specific, STRING), ``TF, Target, Label`` as row indices.

Only ids whose expression exists are registered (:func:`edge_dataset_ids`). The LOF/GOF folders
ship no expression; their gene set equals that of the same cell type and size, so the
expression of the Specific folder is used, matched by gene name.
"""

from __future__ import annotations

from importlib.resources import files

import anndata as ad
import numpy as np
import pandas as pd

from ..errors import DataValidationError, UnknownIdError, format_names
from ..registry import register_dataset
from .sources import RemoteFile

__all__ = ["CELLS", "TRUTHS", "edge_dataset_ids", "beeline_file", "load_beeline", "parse_edge_id"]

#: Cell-type id -> folder name.
CELLS = {"hesc": "hESC", "hhep": "hHEP", "mdc": "mDC", "mesc": "mESC", "mhsc-e": "mHSC-E", "mhsc-gm": "mHSC-GM",
         "mhsc-l": "mHSC-L"}
#: Ground-truth id -> (benchmark folder, split folder or None).
TRUTHS = {"specific": ("Specific Dataset", "Specific"), "nonspecific": ("Non-Specific Dataset", "Non-Specific"),
          "string": ("STRING Dataset", "STRING"), "lofgof": ("Lofgof Dataset", None)}
ROOT = "beeline_genelink"


def _table() -> pd.DataFrame:
    path = files("grnbench.data") / "beeline_genelink_files.tsv"
    with path.open() as fh:
        return pd.read_csv(fh, sep="\t").set_index("relpath")


_FILES = _table()


def beeline_file(relpath: str) -> RemoteFile:
    """The checked :class:`RemoteFile` of a benchmark file (path relative to the mirror root).

    Raises
    ------
    grnbench.errors.UnknownIdError
        If the file is not in the shipped table.
    """
    if relpath not in _FILES.index:
        raise UnknownIdError(f"{relpath}: not a file of the BEELINE/GENELink table (beeline_genelink_files.tsv)")
    row = _FILES.loc[relpath]
    return RemoteFile(relpath=relpath, url=row["url"], sha256=row["sha256"])


def parse_edge_id(id: str) -> tuple[str, str, str]:
    """``mesc_500_specific`` -> ``("mesc", "500", "specific")``.

    Raises
    ------
    grnbench.errors.UnknownIdError
        If a part is unknown.
    """
    parts = id.split("_")
    if len(parts) != 3 or parts[0] not in CELLS or parts[1] not in ("500", "1000") or parts[2] not in TRUTHS:
        raise UnknownIdError(f"{id!r} is not an edge dataset id <cell>_<500|1000>_<truth>; cells: {', '.join(CELLS)}; "
                             f"truths: {', '.join(TRUTHS)}")
    return parts[0], parts[1], parts[2]


def _folder(cell: str, size: str, truth: str) -> str:
    return f"{ROOT}/benchmark/{TRUTHS[truth][0]}/{CELLS[cell]}/TFs+{size}"


def _expression_path(cell: str, size: str, truth: str) -> str | None:
    for t in (truth, "specific") if truth == "lofgof" else (truth,):
        path = f"{_folder(cell, size, t)}/BL--ExpressionData.csv.gz"
        if path in _FILES.index:
            return path
    return None


def _reference_paths(cell: str, size: str, truth: str) -> dict[str, str] | None:
    split_folder = TRUTHS[truth][1]
    if split_folder is None:
        return None
    demo = {p: f"{ROOT}/demo_splits_specific/{CELLS[cell]} {size}/{f}_set.csv"
            for p, f in (("train", "Train"), ("val", "Validation"), ("test", "Test"))}
    if truth == "specific" and all(v in _FILES.index for v in demo.values()):
        return demo
    bridge = {p: f"{ROOT}/splits_bridge_grn_sample1/{split_folder}/{CELLS[cell]} {size}/{f}_set.csv.gz"
              for p, f in (("train", "Train"), ("val", "Validation"), ("test", "Test"))}
    return bridge if all(v in _FILES.index for v in bridge.values()) else None


def edge_dataset_ids() -> list[str]:
    """Every edge dataset id whose expression, labels and gene tables are available."""
    out = []
    for cell in CELLS:
        for size in ("500", "1000"):
            for truth in TRUTHS:
                folder = _folder(cell, size, truth)
                if _expression_path(cell, size, truth) and f"{folder}/Label.csv" in _FILES.index:
                    out.append(f"{cell}_{size}_{truth}")
    return out


def _sources(id: str) -> tuple[RemoteFile, ...]:
    cell, size, truth = parse_edge_id(id)
    folder = _folder(cell, size, truth)
    paths = [_expression_path(cell, size, truth)] + [f"{folder}/{n}.csv" for n in ("Target", "TF", "Label")]
    paths += list((_reference_paths(cell, size, truth) or {}).values())
    return tuple(beeline_file(p) for p in paths)


def _index_table(path, name_col: str) -> pd.Series:
    df = pd.read_csv(path, index_col=0)
    for col in (name_col, "index"):
        if col not in df.columns:
            raise DataValidationError(f"{path}: column {col!r} is missing (have {list(df.columns)})")
    return pd.Series(df[name_col].astype(str).str.upper().to_numpy(), index=df["index"].astype(int).to_numpy())


def _pairs_from_indices(path, df: pd.DataFrame, genes_by_index: pd.Series) -> pd.DataFrame:
    """Map ``TF``/``Target`` row indices to gene names; out-of-range indices name the file."""
    for col in ("TF", "Target"):
        if col not in df.columns:
            raise DataValidationError(f"{path}: column {col!r} is missing (have {list(df.columns)})")
        bad = ~df[col].isin(genes_by_index.index)
        if bad.any():
            raise DataValidationError(
                f"{path}: {int(bad.sum())} {col} row index(es) (e.g. {int(df.loc[bad, col].iloc[0])}) are not rows of "
                f"the folder's Target.csv ({len(genes_by_index)} genes) — a file from another folder?")
    out = pd.DataFrame({"tf": genes_by_index.loc[df["TF"]].to_numpy(), "target": genes_by_index.loc[df["Target"]].to_numpy()})
    if "Label" in df.columns:
        out["label"] = df["Label"].astype(int).to_numpy()
    return out


def load_beeline(id: str) -> ad.AnnData:
    """Load one edge dataset.

    Returns
    -------
    anndata.AnnData
        Cells x genes, BEELINE's log-transformed expression; ``var['is_tf']``;
        ``uns['edges']`` — positive TF -> target pairs (DataFrame ``tf, target``);
        ``uns['reference_split']`` — the shipped split (``tf, target, label, part``) if one exists.

    Raises
    ------
    grnbench.errors.DataValidationError
        If label or split indices fall outside the folder's gene table (a file from another
        folder), or a gene of the labels is absent from the expression matrix.
    """
    cell, size, truth = parse_edge_id(id)
    folder = _folder(cell, size, truth)
    expr_path = beeline_file(_expression_path(cell, size, truth)).fetch()
    expr = pd.read_csv(expr_path, index_col=0)
    expr.index = expr.index.astype(str).str.upper()
    genes_path = beeline_file(f"{folder}/Target.csv").fetch()
    genes = _index_table(genes_path, "Gene")
    tfs = _index_table(beeline_file(f"{folder}/TF.csv").fetch(), "TF")
    missing = sorted(set(genes) - set(expr.index))
    if missing:
        raise DataValidationError(f"{genes_path}: gene(s) {format_names(missing)} are not in {expr_path.name}")
    label_path = beeline_file(f"{folder}/Label.csv").fetch()
    edges = _pairs_from_indices(label_path, pd.read_csv(label_path, index_col=0), genes)
    edges = edges[edges["tf"] != edges["target"]].drop_duplicates().reset_index(drop=True)
    order = list(dict.fromkeys(genes.sort_index()))
    x = expr.loc[order].to_numpy(dtype=np.float32).T
    var = pd.DataFrame({"is_tf": [g in set(tfs) | set(edges["tf"]) for g in order]}, index=pd.Index(order, name="gene"))
    adata = ad.AnnData(X=x, obs=pd.DataFrame(index=pd.Index(expr.columns.astype(str), name="cell")), var=var)
    adata.uns["edges"] = edges
    ref = _reference_paths(cell, size, truth)
    if ref:
        parts = []
        for part, rel in ref.items():
            path = beeline_file(rel).fetch()
            pairs = _pairs_from_indices(path, pd.read_csv(path, index_col=0), genes)
            parts.append(pairs.assign(part=part))
        adata.uns["reference_split"] = pd.concat(parts, ignore_index=True)
    adata.uns["scale"] = "BEELINE log-transformed normalised expression"
    return adata


def _register_all() -> None:
    for id in edge_dataset_ids():
        cell, size, truth = parse_edge_id(id)
        register_dataset(
            id,
            description=f"BEELINE {CELLS[cell]} TFs+{size}, {TRUTHS[truth][0].replace(' Dataset', '')} ground truth "
                        "(GENELink format)" + ("; expression of the Specific folder" if truth == "lofgof" else ""),
            organism="human" if cell in ("hesc", "hhep") else "mouse",
            gene_ids="symbol (upper case)",
            format="beeline_genelink",
            scale="log",
            scale_note="BEELINE log-transformed normalised expression",
            sources=_sources(id),
            citation="Pratapa A et al. Nat Methods 17:147 (2020), doi:10.1038/s41592-019-0690-6; GENELink (Chen G, "
                     "Liu Z-P. Bioinformatics 38:4522 (2022), doi:10.1093/bioinformatics/btac559); bridge-grn copies",
            licence="MIT (GENELink README; bridge-grn LICENSE)",
        )(lambda id=id: load_beeline(id))


_register_all()
