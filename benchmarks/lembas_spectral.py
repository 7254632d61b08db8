"""LEMBAS's spectral-radius eigen-solves at the paper's protocol: accuracy and time by ARPACK ``ncv``.

Trains LEMBAS on the training conditions of fold 0 of the ligand-screen cross-validation
(``PAPER_SETTINGS``, one thread) for ``--epochs`` epochs of the 8,000-epoch schedule, records the
matrices ``diag(f'(z*)) W`` of the spectral regulariser's calls in the last ``--record`` epochs,
then solves them again with :class:`SpectralTracker` (warm-started per training sample, as in
training) for each ``ncv`` and compares the spectral radius with the dense solver
(``numpy.linalg.eigvals``) on every 4th matrix. Writes one row per ``ncv``: seconds per call
(right and left eigenvectors), dense fallbacks, and how many radii are more than 1e-4 off.
Needs ``$GRNBENCH_DATA_DIR``.

    .venv/bin/python benchmarks/lembas_spectral.py --out benchmarks/results/lembas_spectral.csv
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=1400)
    ap.add_argument("--record", type=int, default=20)
    ap.add_argument("--ncv", type=int, nargs="+", default=[12, 20, 40])
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/lembas_spectral.csv"))
    args = ap.parse_args()
    os.environ.setdefault("GRNBENCH_PROGRESS", "0")
    sys.path.insert(0, str(ROOT / "src"))
    from threadpoolctl import threadpool_limits

    from grnbench.results import git_sha, write_table
    from grnbench.tasks.target_expression import ligand_screen as ls
    from grnbench.tasks.target_expression.lembas import LembasRegressor
    from grnbench.tasks.target_expression.lembas import trainer as trainer_module
    from grnbench.tasks.target_expression.lembas.numerics import SpectralTracker, _sparse

    data = ls.prepare_ligand_screen()
    test = list(data.folds.loc[data.folds["fold"] == 0, "condition"])
    train = [c for c in data.inputs.index if c not in test]
    x, y = data.inputs.loc[train], data.outputs.loc[train]
    n_batches = -(-len(x) // ls.PAPER_SETTINGS["batch_size"])
    first_recorded = (args.epochs - args.record) * n_batches
    calls, count = [], [0]
    original = trainer_module.spectral_radius_gradient

    def recording(w, src, dst, n, scale, tracker=None, key=None):
        count[0] += 1
        if count[0] > first_recorded:
            calls.append((np.array(w), np.array(scale), key))
        return original(w, src, dst, n, scale, tracker=tracker, key=key)

    trainer_module.spectral_radius_gradient = recording
    est = LembasRegressor(network=data.network, random_state=0,
                          **{**ls.PAPER_SETTINGS, "progress": False, "restore_best": False, "stop_epoch": args.epochs})
    est.fit(x, y)
    trainer_module.spectral_radius_gradient = original
    src, dst, n = est.src_, est.dst_, len(est.nodes_)
    rows = []
    with threadpool_limits(limits=1):
        checked = list(range(0, len(calls), 4))
        truth = {i: float(np.abs(np.linalg.eigvals(_sparse(calls[i][0], src, dst, n, calls[i][1]).toarray())).max())
                 for i in checked}
        for ncv in args.ncv:
            tracker, radii = SpectralTracker(n, ncv=ncv), {}
            t = time.perf_counter()
            for i, (w, scale, key) in enumerate(calls):
                radii[i] = tracker(w, src, dst, scale, key=key)[0]
            seconds = (time.perf_counter() - t) / len(calls)
            err = np.array([abs(radii[i] - truth[i]) for i in checked])
            rows.append({"ncv": ncv, "epoch": args.epochs, "matrices": len(calls), "checked": len(checked),
                         "n_nodes": n, "n_edges": len(src), "median_rho": float(np.median(list(truth.values()))),
                         "seconds_per_call": round(seconds, 5), "dense_fallbacks": tracker.fallbacks,
                         "n_off_by_1e-4": int((err > 1e-4).sum()), "max_abs_error": float(err.max()),
                         "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "git_sha": git_sha()})
    table = pd.DataFrame(rows)
    write_table(table, Path(args.out))
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
