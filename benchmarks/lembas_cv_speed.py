"""LEMBAS at the paper's ligand-screen protocol: updates per second before and after issue 20, in one run.

Both implementations train on the training conditions of fold 0 of the paper's 28-fold
cross-validation (``PAPER_SETTINGS``: batch 5, float64, 8,000-epoch one-cycle schedule, every
regulariser) for ``--epochs`` epochs, one thread each, after a warm-up fit for numba
compilation; the order alternates over ``--repeats``. The "before" estimator is the single-file
``lembas.py`` at git revision ``--before``, imported from git history. The projection of the
whole cross-validation is 28 folds x 8,000 epochs x 20 updates divided by the measured rate and
by ``--workers`` (one fold per Dask worker, one core each). Needs ``$GRNBENCH_DATA_DIR``.

    .venv/bin/python benchmarks/lembas_cv_speed.py --out benchmarks/results/lembas_cv_speed.csv
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
BEFORE_PATH = "src/grnbench/tasks/target_expression/lembas.py"


def load_before(rev: str):
    """Import the single-file LEMBAS module from git revision ``rev``."""
    src = subprocess.run(["git", "show", f"{rev}:{BEFORE_PATH}"], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout
    src = src.replace("from ...errors import", "from grnbench.errors import").replace(
        "from ...models.base import", "from grnbench.models.base import")
    path = Path(tempfile.mkdtemp()) / "lembas_before.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("lembas_before", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="ba3551b", help="git revision of the pre-issue-20 estimator")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/lembas_cv_speed.csv"))
    args = ap.parse_args()
    os.environ.setdefault("GRNBENCH_PROGRESS", "0")
    sys.path.insert(0, str(ROOT / "src"))
    from grnbench.results import git_sha, write_table
    from grnbench.tasks.target_expression import ligand_screen as ls
    from grnbench.tasks.target_expression.lembas import LembasRegressor

    data = ls.prepare_ligand_screen()
    test = list(data.folds.loc[data.folds["fold"] == 0, "condition"])
    train = [c for c in data.inputs.index if c not in test]
    x, y = data.inputs.loc[train], data.outputs.loc[train]
    before = load_before(args.before)
    impls = {f"before ({args.before})": before.LembasRegressor, "after": LembasRegressor}
    settings = {**ls.PAPER_SETTINGS, "progress": False, "restore_best": False}
    n_batches = -(-len(x) // settings["batch_size"])
    for cls in impls.values():  # warm-up: numba compilation
        cls(network=data.network, **{**settings, "stop_epoch": 2}).fit(x, y)
    rows = []
    for rep in range(args.repeats):
        names = list(impls) if rep % 2 == 0 else list(impls)[::-1]
        for name in names:
            est = impls[name](network=data.network, random_state=0, **{**settings, "stop_epoch": args.epochs})
            t = time.perf_counter()
            est.fit(x, y)
            seconds = time.perf_counter() - t
            rows.append({"implementation": name, "repeat": rep, "epochs": args.epochs,
                         "updates": args.epochs * n_batches, "seconds": seconds,
                         "updates_per_second": args.epochs * n_batches / seconds,
                         "final_fit_loss": float(est.history_["fit_loss"].iloc[-1])})
    runs = pd.DataFrame(rows)
    table = runs.groupby("implementation", sort=False).agg(
        epochs=("epochs", "first"), updates=("updates", "first"), repeats=("repeat", "size"),
        updates_per_second=("updates_per_second", "median"), final_fit_loss=("final_fit_loss", "first")).reset_index()
    per_fold = ls.PAPER_SETTINGS["epochs"] * n_batches
    folds = int(data.folds["fold"].nunique())
    table["projected_fold_minutes"] = per_fold / table["updates_per_second"] / 60
    table["projected_cv_hours"] = folds * per_fold / table["updates_per_second"] / args.workers / 3600
    table["workers"] = args.workers
    table["speedup"] = table["updates_per_second"] / table["updates_per_second"].iloc[0]
    table["machine"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    table["git_sha"] = git_sha()
    write_table(table, args.out)
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
