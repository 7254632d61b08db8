"""Registered expression datasets, each loaded as :class:`anndata.AnnData`.

Conventions of every loader's output:

* ``.X`` — float32 log-scale expression (cells x genes), the model input; its scale is
  described in ``.uns['scale']``.
* ``.var_names`` — unique gene symbols (upper case for human).
* ``.obs`` — ``cell_type`` and/or ``condition`` / ``stage`` where the data have them.
* ``.uns['provenance']`` — dataset id, source files (public URL, sha256), citation, licence.
"""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import DataValidationError, format_names
from ..registry import get_dataset, register_dataset
from .sources import PackageFile, RemoteFile, github_raw
from .validation import validate_expression

__all__ = ["load_dataset", "PBMC68K_REDUCED", "HHEP_SPECIFIC_1000", "KANG_VALID", "HHEP_STAGES", "LEMBAS_LIGAND_SCREEN",
           "YAN_RDA", "YAN_STAGES"]

PBMC68K_REDUCED = PackageFile(
    package="scanpy",
    member="datasets/10x_pbmc68k_reduced.h5ad",
    sha256="e71d41e737c941559b7c57c9243bdb3d2c889c2adfdf00e3422ac6b46783676f",
    url="https://pypi.org/project/scanpy/1.11.5/",
)

_BRIDGE = ("haohaostats/bridge-grn", "27d21d94f6f96f5d2a8a7b41d392cb12410e46ea")

HHEP_SPECIFIC_1000 = RemoteFile(
    relpath="beeline_genelink/benchmark/Specific Dataset/hHEP/TFs+1000/BL--ExpressionData.csv.gz",
    url=github_raw(*_BRIDGE, "data/benchmark_datasets/Specific Dataset/hHEP/TFs+1000/BL--ExpressionData.csv.gz"),
    sha256="ec480368ad49253b04343ff3a8ffed1745f8267158ceff707a9c8a80715dd674",
)

KANG_VALID = RemoteFile(
    relpath="kang2018_ifnb_pbmc_scgen/valid.h5ad",
    url=github_raw("theislab/scgen", "dd7e178f9b42b9dfef9eb18d0da4b8e3caea4cf7", "data/valid.h5ad"),
    sha256="83f89f5356a4c01f65bbcee225eb45d8d8b13b6c962724431a26c1bf568ff09e",
)

_LEMBAS = ("Lauffenburger-Lab/LEMBAS", "2034125daa67aab2e89440d9c0a5c2edc9c06e04")


def _lembas_file(name: str, sha: str) -> RemoteFile:
    return RemoteFile(relpath=f"lembas/model_data/{name}", url=github_raw(*_LEMBAS, f"Model/data/{name}"), sha256=sha)


LEMBAS_LIGAND_SCREEN = {
    "model": _lembas_file("ligandScreen-Model.tsv", "a645a8bfe535d335f5d99f83bbeae0e89a55f3254a1ddce0c62c8a03b16fdf90"),
    "annotation": _lembas_file("ligandScreen-Annotation.tsv",
                               "e5c53431f2c86235b5e9f9f9c42891106c51165eaa08120118000b8dc45e1b53"),
    "ligands": _lembas_file("ligandScreen-Ligands.tsv", "6834bd125db6a54223b6dc94b2f1f281fa7fc2194bfb667762a481c0125bb5c9"),
    "tfs": _lembas_file("ligandScreen-TFs.tsv", "9a13b5bea6ea26a3f536efac25f9809a9a58293a1fd4b91b6bffbcbc08128153"),
}

YAN_RDA = RemoteFile(
    relpath="scrna_yan2013_human_embryo/yan.rda",
    url=github_raw("hemberg-lab/SC3", "5f5161b1aea7dacaad14eb2433b568bbfbd85b8a", "data/yan.rda"),
    sha256="04dbe1de78f59e157da8c438295d07b7c8694effe2e3adffa12c18fcd69c0a26",
)

#: Yan 2013 developmental stages, in order.
YAN_STAGES = ("zygote", "2cell", "4cell", "8cell", "16cell", "blast")

#: hHEP differentiation stages (cell-name suffixes), in developmental order.
HHEP_STAGES = ("ipsc", "de", "he1", "he2", "ih1", "mh1", "mh2")


def _read_old_h5ad(path) -> ad.AnnData:
    """Read an h5ad written by an old anndata (2018-2019 layout) without format warnings.

    anndata converts the old layout on read; its OldFormatWarning/FutureWarning messages say
    so and are not actionable for these pinned, checksummed files.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", ad.OldFormatWarning)
        return ad.read_h5ad(path)


def load_dataset(id: str, **kwargs) -> ad.AnnData:
    """Load a registered dataset.

    Parameters
    ----------
    id : str
        Dataset id (``pbmc68k_reduced``, ``hhep``, ``kang_ifnb``).
    **kwargs
        Passed to the dataset's loader.

    Returns
    -------
    anndata.AnnData
        Cells x genes, log-scale ``.X`` (see ``.uns['scale']``), provenance in ``.uns``.

    Raises
    ------
    grnbench.errors.UnknownIdError
        For an unregistered id.
    grnbench.errors.MissingDataError, grnbench.errors.ChecksumError
        If a source file is missing or fails its sha256 check.
    grnbench.errors.DataValidationError
        If the matrix has duplicated genes, NaN/Inf or negative log values.
    """
    spec = get_dataset(id)
    adata = spec.loader(**kwargs)
    validate_expression(adata.X, adata.var_names, name=id, log_scale=True, cells=adata.obs_names)
    adata.uns["provenance"] = {
        "dataset": id,
        "sources": [s.describe() for s in spec.sources],
        "citation": spec.citation,
        "licence": spec.licence,
    }
    return adata


@register_dataset(
    "pbmc68k_reduced",
    description="10x PBMC 68k subset shipped with scanpy: 700 cells x 765 highly variable genes, 10 FACS labels",
    species="human",
    embedded=True,
    sources=(PBMC68K_REDUCED,),
    citation="Zheng GXY et al. Nat Commun 8:14049 (2017), doi:10.1038/ncomms14049; scanpy (Wolf et al. 2018, doi:10.1186/s13059-017-1382-0)",
    licence="BSD-3-Clause (scanpy); 10x Genomics public dataset",
)
def _load_pbmc68k_reduced() -> ad.AnnData:
    raw = _read_old_h5ad(PBMC68K_REDUCED.fetch())
    if raw.raw is None:
        raise DataValidationError(f"{PBMC68K_REDUCED.relpath}: no .raw layer with log-normalised values")
    x = raw.raw.X
    x = (x.toarray() if sp.issparse(x) else np.asarray(x)).astype(np.float32)
    obs = raw.obs[["bulk_labels", "louvain", "n_counts", "phase"]].copy()
    obs["cell_type"] = obs["bulk_labels"].astype(str).astype("category")
    adata = ad.AnnData(X=x, obs=obs, var=pd.DataFrame(index=pd.Index(raw.raw.var_names.astype(str), name="gene")))
    adata.uns["scale"] = "log1p of library-size-normalised counts (scanpy pbmc68k_reduced .raw; max 6.5)"
    return adata


@register_dataset(
    "hhep",
    description="BEELINE hHEP: human iPSC-to-hepatocyte differentiation, 425 cells x 1,448 genes (TFs+1000, Specific-ChIP folder)",
    species="human",
    sources=(HHEP_SPECIFIC_1000,),
    citation="Camp JG et al. Nature 546:533 (2017), doi:10.1038/nature22796 (GSE81252); BEELINE: Pratapa A et al. Nat Methods 17:147 (2020), doi:10.1038/s41592-019-0690-6; GENELink: Chen G, Liu Z-P. Bioinformatics 38:4522 (2022)",
    licence="MIT (haohaostats/bridge-grn, GENELink)",
)
def _load_hhep() -> ad.AnnData:
    path = HHEP_SPECIFIC_1000.fetch()
    df = pd.read_csv(path, index_col=0)
    stages = pd.Series([c.rsplit("_", 1)[-1] for c in df.columns], index=df.columns)
    unknown = sorted(set(stages) - set(HHEP_STAGES))
    if unknown:
        raise DataValidationError(
            f"{path}: cell names must end in a stage suffix {HHEP_STAGES}; unknown suffix(es) {format_names(unknown)}"
        )
    validate_expression(df.to_numpy().T, df.index, name=str(path), log_scale=True, cells=df.columns)
    obs = pd.DataFrame({"stage": pd.Categorical(stages, categories=HHEP_STAGES, ordered=True)},
                       index=pd.Index(df.columns.astype(str), name="cell"))
    adata = ad.AnnData(X=df.to_numpy(dtype=np.float32).T, obs=obs,
                       var=pd.DataFrame(index=pd.Index(df.index.astype(str), name="gene")))
    adata.uns["scale"] = "log-transformed normalised expression as processed by BEELINE (values 0-18.4)"
    return adata


@register_dataset(
    "kang_ifnb",
    description="Kang 2018 PBMCs, control vs IFN-beta (6 h), scGen validation subset: 1,975 cells x 6,998 genes, 7 cell types",
    species="human",
    sources=(KANG_VALID,),
    citation="Kang HM et al. Nat Biotechnol 36:89 (2018), doi:10.1038/nbt.4042 (GSE96583); scGen: Lotfollahi M et al. Nat Methods 16:715 (2019), doi:10.1038/s41592-019-0494-8",
    licence="GPL-3.0 (theislab/scgen HEAD; no licence file at the pinned commit)",
)
def _load_kang_ifnb() -> ad.AnnData:
    path = KANG_VALID.fetch()
    raw = _read_old_h5ad(path)
    for col in ("condition", "cell_type"):
        if col not in raw.obs:
            raise DataValidationError(f"{path}: obs column {col!r} is missing (have {list(raw.obs.columns)})")
    x = raw.X.astype(np.float32)
    x = sp.csr_matrix(x) if sp.issparse(x) else x
    obs = raw.obs[["condition", "cell_type", "n_counts", "n_genes"]].copy()
    adata = ad.AnnData(X=x, obs=obs, var=pd.DataFrame(index=pd.Index(raw.var_names.astype(str), name="gene")))
    adata.uns["scale"] = "log1p of library-size-normalised counts (scGen preprocessing; max 6.8)"
    return adata


@register_dataset(
    "lembas_ligand_screen",
    description="LEMBAS ligand screen: 103 macrophage conditions (59 ligands +/- LPS) x 60 ligand inputs -> 74 TF "
                "activities, with the signed OmniPath signalling network (6,597 edges, UniProt ids)",
    species="human",
    sources=tuple(LEMBAS_LIGAND_SCREEN.values()),
    citation="Nilsson A et al. Nat Commun 13:3069 (2022), doi:10.1038/s41467-022-30684-y (GSE202515)",
    licence="MIT (Lauffenburger-Lab/LEMBAS)",
)
def _load_lembas_ligand_screen() -> ad.AnnData:
    from .priors import _signed

    files = {k: src.fetch() for k, src in LEMBAS_LIGAND_SCREEN.items()}
    net = pd.read_csv(files["model"], sep="\t")
    missing = {"source", "target", "stimulation", "inhibition"} - set(net.columns)
    if missing:
        raise DataValidationError(f"{files['model']}: missing column(s) {format_names(sorted(missing))}")
    network = _signed(net, net["stimulation"] == 1, net["inhibition"] == 1)
    ligands = pd.read_csv(files["ligands"], sep="\t", index_col=0)
    tfs = pd.read_csv(files["tfs"], sep="\t", index_col=0)
    if not ligands.index.equals(tfs.index):
        raise DataValidationError(f"{files['ligands']} and {files['tfs']} list different conditions")
    annotation = pd.read_csv(files["annotation"], sep="\t").drop_duplicates("code").set_index("code")["name"]
    x = np.hstack([ligands.to_numpy(dtype=np.float32), tfs.to_numpy(dtype=np.float32)])
    var = pd.DataFrame({"role": ["input"] * ligands.shape[1] + ["output"] * tfs.shape[1]},
                       index=pd.Index([*ligands.columns.astype(str), *tfs.columns.astype(str)], name="code"))
    var["symbol"] = [str(annotation.get(c, c)) for c in var.index]
    obs = pd.DataFrame({"lps": [c.endswith("_LPS") for c in ligands.index]},
                       index=pd.Index(ligands.index.astype(str), name="condition"))
    adata = ad.AnnData(X=x, obs=obs, var=var)
    adata.uns["network"] = network
    adata.uns["scale"] = ("inputs: ligand present 0/1; outputs: TF activities scaled to [0, 1] by the LEMBAS "
                          "authors (DoRothEA/VIPER on the GSE202515 RNA-seq)")
    return adata


@register_dataset(
    "yan2013_embryo",
    description="Yan 2013 human preimplantation embryos: 90 cells x 20,214 genes, 6 stages (zygote to blastocyst)",
    species="human",
    sources=(YAN_RDA,),
    citation="Yan L et al. Nat Struct Mol Biol 20:1131 (2013), doi:10.1038/nsmb.2660; SC3 (Kiselev et al. 2017)",
    licence="GPL-3 (hemberg-lab/SC3)",
)
def _load_yan2013_embryo() -> ad.AnnData:
    import pyreadr

    path = YAN_RDA.fetch()
    frames = pyreadr.read_r(str(path))
    for name in ("yan", "ann"):
        if name not in frames:
            raise DataValidationError(f"{path}: no R object {name!r} (found {list(frames)})")
    rpkm, ann = frames["yan"], frames["ann"]
    if "cell_type1" not in ann.columns:
        raise DataValidationError(f"{path}: object 'ann' lacks column 'cell_type1'")
    if list(ann.index) != list(rpkm.columns):
        raise DataValidationError(f"{path}: cells of 'ann' and 'yan' differ")
    x = np.log1p(rpkm.to_numpy(dtype=np.float64).T).astype(np.float32)
    obs = pd.DataFrame({"cell_type": pd.Categorical(ann["cell_type1"].astype(str), categories=YAN_STAGES, ordered=True)},
                       index=pd.Index(ann.index.astype(str), name="cell"))
    adata = ad.AnnData(X=x, obs=obs, var=pd.DataFrame(index=pd.Index(rpkm.index.astype(str), name="gene")))
    adata.uns["scale"] = "log1p(RPKM) (Yan 2013 RPKM as shipped by SC3)"
    return adata
