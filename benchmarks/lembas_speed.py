"""LEMBAS training speed before and after the rewrite (issue 11): a benchmark that writes a table.

The pre-rewrite estimator (``src/grnbench/models/lembas.py`` at git revision ``--old``; torch
float32 autograd through the unrolled fixed point, ARPACK from scratch every batch) is loaded
from git history and timed next to the current one (float64, compiled fixed point and adjoint,
analytic gradients, warm-started eigen-solves) on the same data and settings: the LEMBAS ligand
screen (paper settings; needs ``$GRNBENCH_DATA_DIR`` or network), the first ``--samples``
conditions, ``--updates`` minibatch updates, ``--repeats`` timed fits each (after one warm-up
fit for compilation). The old model is timed with the BLAS threads it ran with in the study
(library default) and with one BLAS thread; the new one uses one thread, as in the study.

    .venv/bin/python benchmarks/lembas_speed.py --out benchmarks/results/lembas_speed.csv
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def load_old(rev: str):
    """Import the pre-rewrite LEMBAS module from git revision ``rev``."""
    src = subprocess.run(["git", "show", f"{rev}:src/grnbench/models/lembas.py"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    src = src.replace("from ..errors import", "from grnbench.errors import").replace(
        "from .base import", "from grnbench.models.base import")
    path = Path(tempfile.mkdtemp()) / "lembas_old.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("lembas_old", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def timed(est, x, y, updates: int, repeats: int, blas_threads: int | None) -> list[float]:
    from threadpoolctl import threadpool_limits

    def budget(n_updates: int) -> int:
        # an estimator that counts epochs (the paper's protocol) gets the epochs that make n_updates
        if est.get_params().get("epochs") is None:
            est.set_params(updates=n_updates)
            return n_updates
        per_epoch = -(-len(x) // est.get_params()["batch_size"])
        epochs = max(1, n_updates // per_epoch)
        est.set_params(epochs=epochs)
        return epochs * per_epoch

    budget(max(2, updates // 10))
    est.fit(x, y)  # warm-up (numba compilation, allocator)
    updates = budget(updates)
    rates = []
    for _ in range(repeats):
        if blas_threads is None:
            t = time.perf_counter()
            est.fit(x, y)
        else:
            with threadpool_limits(blas_threads):
                t = time.perf_counter()
                est.fit(x, y)
        rates.append(updates / (time.perf_counter() - t))
    return rates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", default="3e7d496", help="git revision of the pre-rewrite estimator")
    ap.add_argument("--samples", type=int, default=100)
    ap.add_argument("--updates", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/lembas_speed.csv"))
    args = ap.parse_args()
    os.environ.setdefault("GRNBENCH_PROGRESS", "0")
    sys.path.insert(0, str(ROOT / "src"))
    from grnbench.results import git_sha, write_table
    from grnbench.tasks.target_expression import ligand_screen as ls
    from grnbench.tasks.target_expression.lembas import LembasRegressor

    data = ls.prepare_ligand_screen()
    x, y = data.inputs.iloc[:args.samples], data.outputs.iloc[:args.samples]
    old = load_old(args.old)
    settings = dict(ls.PAPER_SETTINGS)
    old_settings = {k: v for k, v in settings.items() if k in old.LembasRegressor().get_params()}
    new_settings = {k: v for k, v in settings.items() if k in LembasRegressor().get_params()}
    rows = []
    for name, est, blas in (
        (f"old ({args.old}), default BLAS threads", old.LembasRegressor(network=data.network, **old_settings), None),
        (f"old ({args.old}), 1 BLAS thread", old.LembasRegressor(network=data.network, **old_settings), 1),
        ("new, 1 thread", LembasRegressor(network=data.network, **new_settings), None),
    ):
        rates = timed(est, x, y, args.updates, args.repeats, blas)
        rows.append({"implementation": name, "samples": len(x), "updates": args.updates, "repeats": args.repeats,
                     "updates_per_second_median": statistics.median(rates), "updates_per_second_min": min(rates),
                     "updates_per_second_max": max(rates)})
    table = pd.DataFrame(rows)
    base = table["updates_per_second_median"]
    table["speedup_vs_old_default"] = base / base.iloc[0]
    table["speedup_vs_old_1_thread"] = base / base.iloc[1]
    table["machine"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    table["git_sha"] = git_sha()
    write_table(table, args.out)
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
