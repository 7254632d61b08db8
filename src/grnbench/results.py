"""The tidy results table: one row per measurement, written atomically.

Schema (column order fixed; it is a contract of the study)::

    task, dataset, split, model, seed, metric, value, ci_low, ci_high, n_test,
    fit_seconds, predict_seconds, params, git_sha[, k]

``k`` (optional) is the number of genes kept by a gene ranking (cell-type markers); it is
empty for tasks without it. ``split_seed`` (optional, last) is the seed of the split (every
split is drawn with several seeds; the first is the headline, the others measure the spread).

Each stage writes its part (``<results_dir>/<task>/<dataset>/metrics.csv``);
:func:`collect` concatenates all parts of a profile into ``<results_dir>/metrics.csv`` and
``metrics.parquet``. Report notebooks read only these tables and saved predictions.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataValidationError, format_names

__all__ = ["COLUMNS", "OPTIONAL_COLUMNS", "TEXT_COLUMNS", "validate_results", "write_table", "read_table", "collect", "git_sha",
           "describe_params", "headline", "split_spread", "AGGREGATE_SEED"]

COLUMNS = ("task", "dataset", "split", "model", "seed", "metric", "value", "ci_low", "ci_high", "n_test",
           "fit_seconds", "predict_seconds", "params", "git_sha")
#: Optional columns after the fixed ones (``k``: genes kept, cell-type markers; ``split_seed``).
OPTIONAL_COLUMNS = ("k", "split_seed")
_NUMERIC = ("value", "ci_low", "ci_high", "fit_seconds", "predict_seconds")
_INTEGER = ("seed", "n_test")


def validate_results(df: pd.DataFrame, name: str = "results") -> pd.DataFrame:
    """Check a results table against :data:`COLUMNS` and return it in column order.

    Raises
    ------
    grnbench.errors.DataValidationError
        On missing or extra columns, non-numeric values in numeric columns, or empty ids.
    """
    missing = [c for c in COLUMNS if c not in df.columns]
    extra = [c for c in df.columns if c not in COLUMNS + OPTIONAL_COLUMNS]
    if missing or extra:
        raise DataValidationError(
            f"{name}: results table columns differ from the schema: missing {format_names(missing) or 'none'}, "
            f"extra {format_names(extra) or 'none'}"
        )
    out = df.loc[:, list(COLUMNS) + [c for c in OPTIONAL_COLUMNS if c in df.columns]].copy()
    for col in _NUMERIC:
        conv = pd.to_numeric(out[col], errors="coerce")
        bad = conv.isna() & out[col].notna()
        if bad.any():
            raise DataValidationError(f"{name}: column {col!r} has non-numeric value(s) {out.loc[bad, col].head(3).tolist()}")
        out[col] = conv.astype(float)
    for col in _INTEGER:
        conv = pd.to_numeric(out[col], errors="coerce")
        if conv.isna().any():
            raise DataValidationError(f"{name}: column {col!r} must be an integer in every row")
        out[col] = conv.astype(np.int64)
    if "k" in out.columns:
        k = pd.to_numeric(out["k"], errors="coerce")
        if (k.notna() & ((k < 1) | (k != k.round()))).any():
            raise DataValidationError(f"{name}: column 'k' must hold positive integers (genes kept) or be empty")
        out["k"] = k.astype("Int64")
    if "split_seed" in out.columns:
        ss = pd.to_numeric(out["split_seed"], errors="coerce")
        if (ss.notna() & (ss != ss.round())).any():
            raise DataValidationError(f"{name}: column 'split_seed' must hold integers or be empty")
        out["split_seed"] = ss.astype("Int64")
    for col in ("task", "dataset", "split", "model", "metric"):
        if (out[col].astype(str).str.len() == 0).any() or out[col].isna().any():
            raise DataValidationError(f"{name}: column {col!r} has empty values")
    return out


def _atomic_write(path: Path, write) -> None:
    """Write via a temporary file in the same folder, then rename it over ``path``.

    The file gets the usual permissions (0666 minus the umask); ``mkstemp`` alone would
    leave it readable by its owner only.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_table(df: pd.DataFrame, path: str | os.PathLike, *, parquet: bool = False, float_format: str = "%.6g") -> Path:
    """Write a table as CSV (and Parquet) atomically: a reader never sees a half-written file.

    Parameters
    ----------
    df : pandas.DataFrame
        The table.
    path : path-like
        Target ``.csv`` path; the Parquet copy goes next to it with suffix ``.parquet``.
    parquet : bool
        Also write Parquet.
    float_format : str
        CSV float format (6 significant digits keep diffs readable).

    Returns
    -------
    pathlib.Path
        The CSV path.
    """
    path = Path(path)
    _atomic_write(path, lambda tmp: df.to_csv(tmp, index=False, float_format=float_format))
    if parquet:
        _atomic_write(path.with_suffix(".parquet"), lambda tmp: df.to_parquet(tmp, index=False))
    return path


#: Columns read as text whatever their values look like.
TEXT_COLUMNS = ("task", "dataset", "split", "model", "metric", "params", "git_sha", "unit", "gene", "target", "tf")


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV table written by :func:`write_table` (identifier columns :data:`TEXT_COLUMNS` as text).

    Raises
    ------
    FileNotFoundError
        If the file does not exist (message names it).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"results table {path} does not exist; run the stage that writes it first")
    # identifiers stay text: a commit such as 8661443 is all digits, and a gene or unit may look like a number
    return pd.read_csv(path, keep_default_na=True, dtype={c: str for c in TEXT_COLUMNS})


def collect(results_dir: str | os.PathLike, parts: Iterable[Path] | None = None) -> pd.DataFrame:
    """Concatenate every ``*/**/metrics.csv`` part below ``results_dir`` into one table.

    Writes ``<results_dir>/metrics.csv`` and ``metrics.parquet`` atomically and returns
    the validated table, sorted by task, dataset, split, model, seed, metric.
    """
    results_dir = Path(results_dir)
    parts = sorted(parts) if parts is not None else sorted(p for p in results_dir.glob("*/**/metrics.csv"))
    frames = [validate_results(read_table(p), name=str(p)) for p in parts]
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(COLUMNS))
    order = ["task", "dataset", "split"] + (["split_seed"] if "split_seed" in table.columns else []) + \
        ["model", "seed", "metric"] + (["k"] if "k" in table.columns else [])
    table = table.sort_values(order, kind="stable")
    table = table.reset_index(drop=True)
    write_table(table, results_dir / "metrics.csv", parquet=True)
    return table


def git_sha(root: str | os.PathLike | None = None) -> str:
    """Short commit of the code that produced a result (``-dirty`` if code is modified).

    Only code paths count as dirty (``src``, ``notebooks``, ``study.yaml``), so writing
    results does not mark later results dirty. Returns ``"unknown"`` outside git.
    """
    try:
        if root is None:
            from .paths import project_root

            root = project_root()
        cwd = str(root)
        sha = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], capture_output=True, text=True,
                             cwd=cwd, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "notebooks", "study.yaml"],
                               capture_output=True, text=True, cwd=cwd, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError, FileNotFoundError):
        return "unknown"
    return sha + ("-dirty" if dirty else "")


#: Longest list written out in full by :func:`describe_params`.
MAX_LISTED = 20


def describe_params(est) -> str:
    """JSON of an estimator's hyper-parameters and tuned values.

    Arrays are summarised by shape and lists longer than :data:`MAX_LISTED` by their length
    (regulator and target gene lists would otherwise repeat on every results row).

    Tuned values come from the fitted attributes ``best_params_`` (grid search),
    ``alpha_`` (ridge penalties: median) and ``best_epoch_`` (early stopping).
    """

    def clean(v):
        if isinstance(v, np.ndarray):
            return f"array{v.shape}"
        if isinstance(v, (np.integer, np.floating)):
            return v.item()
        if isinstance(v, (list, tuple)):
            if len(v) > MAX_LISTED:  # e.g. 1,448 target genes: the count, not a row-long gene list
                return f"list({len(v)})"
            return [clean(x) for x in v]
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        return repr(v)

    params = {k: clean(v) for k, v in est.get_params(deep=False).items()}
    if hasattr(est, "best_params_"):
        params["tuned"] = clean(est.best_params_)
    if hasattr(est, "alpha_"):
        alpha = np.asarray(est.alpha_, dtype=float)
        if np.isfinite(alpha).any():
            params["alpha_median"] = float(np.nanmedian(alpha))
    if hasattr(est, "best_epoch_"):
        params["best_epoch"] = int(est.best_epoch_)
    return json.dumps(params, sort_keys=True)


#: ``seed`` of a stochastic model's seed-averaged row in every results table.
AGGREGATE_SEED = -1


def headline(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per (dataset, split, model, metric[, k]): the seed average for stochastic models.

    With several split seeds, the headline is the first split seed's row (its CI is over that
    split's test units); :func:`split_spread` gives the spread over split seeds.

    Parameters
    ----------
    metrics : pandas.DataFrame
        Results table of one task.

    Returns
    -------
    pandas.DataFrame
        The ``seed = -1`` rows of stochastic models and the single rows of deterministic ones.
    """
    if "split_seed" in metrics.columns and metrics["split_seed"].notna().any():
        first = metrics.groupby(["dataset", "split"])["split_seed"].transform("min")
        metrics = metrics[metrics["split_seed"].isna() | (metrics["split_seed"] == first)]
    has_agg = metrics.groupby(["dataset", "split", "model"])["seed"].transform(lambda s: (s == AGGREGATE_SEED).any())
    keep = (metrics["seed"] == AGGREGATE_SEED) | ~has_agg
    return metrics[keep].reset_index(drop=True)


def split_spread(metrics: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and count over split seeds of each headline-level measurement.

    Returns
    -------
    pandas.DataFrame
        ``dataset, split, model, metric[, k], split_mean, split_sd, n_splits`` (``split_sd`` is
        NaN with one split seed).
    """
    keys = ["dataset", "split", "model", "metric"] + (["k"] if "k" in metrics.columns and metrics["k"].notna().any()
                                                       else [])
    has_agg = metrics.groupby(["dataset", "split", "model"])["seed"].transform(lambda s: (s == AGGREGATE_SEED).any())
    rows = metrics[(metrics["seed"] == AGGREGATE_SEED) | ~has_agg]
    g = rows.groupby(keys, dropna=False)["value"]
    return pd.DataFrame({"split_mean": g.mean(), "split_sd": g.std(), "n_splits": g.size()}).reset_index()
