"""Target expression at the LEMBAS-RNN benchmark's scale: time and peak memory per model and target count.

Simulates data of the seed's shape once (:func:`grnbench.data.simulate.simulate_seed_scale`:
15,935 samples, 1,197 TFs, 16,100 targets, 1,153,904 signed prior edges; cached as ``.h5ad`` +
prior under ``<cache>/seed_scale/``), keeps the ``--targets`` most variable targets (as
``max_targets`` does in the study), and runs each model through the study's engine
(:func:`grnbench.engine.run`: the ``random`` split, one seed, the study's Dask client) in its own
subprocess. With ``--target-chunk`` (default 1,000, the seed's XGBRF batch) a per-target model's
fit fans out as one unit per chunk of targets (the target-expression option ``target_chunk``),
stored under ``<cache>/seed_scale/units`` so that a stopped run resumes where it stopped; a
row with an empty ``target_chunk`` ran as one unit. ``fit_seconds`` sums the parts' fits (and so
exceeds the wall time when parts run side by side). The parent samples the resident memory of that subprocess and all its children (the
Dask workers) every 0.5 s: ``peak_rss_gb`` is the largest sum seen. ``fit_seconds`` and
``predict_seconds`` are the engine's own per-fit timings; ``wall_seconds`` includes loading the
data and starting the workers. ``load_before`` is the machine's 1-minute load average when the
run started (other work on the machine slows a run down). One row per (model, targets) is
written to ``--out`` as soon as it finishes, so a stopped run keeps its rows; rows already in
``--out`` are skipped unless ``--force``.

    .venv/bin/python benchmarks/seed_scale.py --targets 1000 4000 16100 --models mean mlr ridge
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["mean", "mlr", "ridge", "ridge_parents", "xgbrf_seed", "xgbrf", "lembas"]
COLUMNS = ["model", "n_targets", "n_samples", "n_tfs", "n_edges", "target_chunk", "status", "forecast", "fit_seconds",
           "predict_seconds", "wall_seconds", "peak_rss_gb", "r2_flat", "load_before", "cores", "git_sha"]
# the LEMBAS-RNN benchmark's README: "XGBRF (trains 16,100 targets in batches of 1,000 - expect ~20-60 min on a
# multi-core machine)"
SEED_XGBRF = {"label": "seed README: XGBRF, 20-60 min\non a multi-core machine", "n_targets": 16100,
              "low": 20 * 60.0, "high": 60 * 60.0}
FULL = 16100


def _cache(seed: int) -> Path:
    from grnbench import paths

    return paths.cache_dir() / "seed_scale" / f"seed{seed}"


def simulate_cached(seed: int) -> tuple[Path, Path]:
    """The simulated ``.h5ad`` and prior TSV of ``seed`` (written on first use, atomically)."""
    from grnbench.data.simulate import simulate_seed_scale

    folder = _cache(seed)
    h5, tsv = folder / "expression.h5ad", folder / "prior.tsv.gz"
    if not (h5.is_file() and tsv.is_file()):
        folder.mkdir(parents=True, exist_ok=True)
        sim = simulate_seed_scale(seed=seed)
        tmp = folder / ".tmp-expression.h5ad"
        sim.adata.write_h5ad(tmp)
        tmp.replace(h5)
        tmp = folder / ".tmp-prior.tsv.gz"
        sim.prior.to_csv(tmp, sep="\t", index=False, compression="gzip")
        tmp.replace(tsv)
    return h5, tsv


def feedback_edges(prior, n_edges: int, seed: int):
    """``prior`` with ``n_edges`` added TF -> TF edges, so that a network model has cycles.

    The simulated prior is bipartite (TF -> target), so LEMBAS's steady state is reached in a
    few steps and its recurrence is never exercised; the seed's prior (curated TF -> gene
    databases) has TF -> TF edges and feedback loops. Each added edge's source is drawn in
    proportion to the TF's out-degree in ``prior`` (the heavy tail of regulators is kept), its
    target uniformly among the other TFs, its sign +1 with the prior's share of activating
    edges; duplicates and self-loops are dropped and redrawn. Only the prior changes: the
    expression is not regenerated, so these edges time the recurrence and are not truth.

    Parameters
    ----------
    prior : pandas.DataFrame
        ``source, target, weight`` (weight = sign), the simulator's prior.
    n_edges : int
        TF -> TF edges to add (0 returns ``prior`` unchanged).
    seed : int
        Seed of the draw.

    Returns
    -------
    pandas.DataFrame
        ``prior`` followed by the new edges (same columns).
    """
    import numpy as np
    import pandas as pd

    if n_edges <= 0:
        return prior
    rng = np.random.default_rng(seed)
    tfs = np.array(sorted(set(prior["source"])))
    deg = prior["source"].value_counts().reindex(tfs).to_numpy(dtype=float)
    p_act = float((prior["weight"] > 0).mean())
    seen = set(zip(prior["source"], prior["target"]))
    src, dst = [], []
    while len(src) < n_edges:
        k = n_edges - len(src)
        s = rng.choice(len(tfs), size=k, p=deg / deg.sum())
        t = rng.integers(0, len(tfs), size=k)
        for a, b in zip(tfs[s], tfs[t]):
            if a != b and (a, b) not in seen:
                seen.add((a, b))
                src.append(a)
                dst.append(b)
    sign = np.where(rng.random(len(src)) < p_act, 1.0, -1.0)
    return pd.concat([prior, pd.DataFrame({"source": src, "target": dst, "weight": sign})], ignore_index=True)


def load_data(n_targets: int, seed: int, n_feedback: int = 0):
    """The task data of the ``n_targets`` most variable simulated targets (all 1,197 TFs as inputs).

    ``n_feedback`` TF -> TF edges are added to the prior first (:func:`feedback_edges`, drawn
    with ``seed``).
    """
    import anndata as ad
    import pandas as pd

    from grnbench.tasks.target_expression.datasets import build_task_data

    h5, tsv = simulate_cached(seed)
    adata = ad.read_h5ad(h5)
    prior = feedback_edges(pd.read_csv(tsv, sep="\t"), n_feedback, seed)
    return build_task_data(adata, prior, dataset="seed_scale_sim", prior_id="seed_scale_sim", max_targets=n_targets)


def run_one(model: str, n_targets: int, seed: int, target_chunk: int | None) -> dict:
    """Fit and score one model on the ``n_targets`` most variable simulated targets (in this process)."""
    from grnbench import engine
    from grnbench.tasks import get_task
    from grnbench.units import UnitStore

    data = load_data(n_targets, seed)
    out = engine.run(get_task("target_expression"), data, models=[model], splits=["random"], seeds=[0],
                     n_boot=100, target_chunk=target_chunk, units=UnitStore(_cache(seed).parent / "units"))
    fits = out.fits
    m = out.metrics
    r2 = m.loc[(m["metric"] == "r2_flat") & (m["model"] == model), "value"]
    return {"fit_seconds": float(fits["fit_seconds"].sum()),
            "predict_seconds": float(m["predict_seconds"].dropna().iloc[0]) if "predict_seconds" in m else None,
            "r2_flat": float(r2.iloc[0]) if len(r2) else None, "n_targets": len(data.targets),
            "n_tfs": len(data.tfs), "n_edges": int(len(data.edges)), "n_samples": int(data.adata.n_obs)}


def lembas_probe(data, n_updates: int = 5) -> dict:
    """Time ``n_updates`` training updates of the study's ``lembas`` on the whole network of ``data``.

    The estimator is built exactly as the registry's ``lembas`` (steady state: up to 150 steps,
    tol 1e-6, batches of 64 samples, warm starts) on the task data ``data`` (here: the
    ``n_targets`` most variable simulated targets, :func:`load_data`) and every prior edge among
    the modelled genes; all samples are training samples, so the trainer
    holds its per-sample state arrays at full size (their memory counts). The updates run through
    the estimator's own :class:`~grnbench.tasks.target_expression.lembas.trainer.Trainer` (the
    public ``fit`` always runs whole epochs: 249 updates here), each on a fresh random batch, so
    every fixed point starts cold (the paper starts every fixed point from zero; the study's
    ``warm_start`` only helps from the second epoch on). ``fit_forecast_seconds`` is the median
    update time times the updates of the study's schedule (``ceil(800 / batches per epoch)``
    whole epochs). A network without cycles (the simulated prior is bipartite, TF -> target;
    ``--feedback-edges`` adds TF -> TF edges, :func:`feedback_edges`) reaches its fixed point
    exactly in a few steps, so ``seconds_per_step`` times one forward pass of all ``max_steps``
    iterations, and ``fit_forecast_recurrent_seconds`` is the schedule's time if every fixed
    point and adjoint ran all of them (a recurrent network converging slowly).
    ``spectral_radius`` is the trainer's estimate after the last update: the spectral radius of
    the network's Jacobian at one batch sample's steady state (weights times the activation's
    slope), which sets how fast the fixed-point iteration converges (0 without cycles).
    """
    import math
    import statistics

    from threadpoolctl import threadpool_limits

    from grnbench.registry import get_model
    from grnbench.tasks.target_expression.lembas.trainer import Trainer
    from grnbench.models.base import seed_everything

    est = get_model("lembas", "target_expression").build(data)
    est.set_params(random_state=0)
    X, Y = data.X(), data.Y()
    t0 = time.perf_counter()
    with threadpool_limits(limits=est.n_threads):
        x, y = est._record_genes(X, Y)
        (est.nodes_, est.src_, est.dst_, est.sign_, est.in_idx_,
         est.out_idx_) = est._structure(list(X.columns), list(Y.columns))
        est._structure_cache = None
        est._scales(x, y)
        xs, ys = (x - est.x_min_) / est.x_span_, (y - est.y_min_) / est.y_span_
        rng = seed_everything(0)
        est._init_params(rng)  # includes the ARPACK spectral radius of the initial weights
        trainer = Trainer(est, xs, ys, rng)
        setup = time.perf_counter() - t0
        times, rhos = [], []
        for _ in range(n_updates):
            idx = rng.choice(len(xs), size=est.batch_size, replace=False)
            t1 = time.perf_counter()
            _, rho = trainer.update(idx, est.lr)
            times.append(time.perf_counter() - t1)
            rhos.append(rho)
        idx = rng.choice(len(xs), size=est.batch_size, replace=False)
        t1 = time.perf_counter()
        _, _, steps, residual = trainer._steady(xs[idx])
        forward = time.perf_counter() - t1
        # a recurrent network iterates up to max_steps: time all of them (tolerance below zero never stops early)
        tol, est.tol = est.tol, -1.0
        t1 = time.perf_counter()
        _, _, full_steps, _ = trainer._steady(xs[idx])
        per_step = (time.perf_counter() - t1) / full_steps
        est.tol = tol
    n_batches = math.ceil(len(xs) / est.batch_size)
    schedule = max(1, math.ceil(est.updates / n_batches)) * n_batches
    per_update = statistics.median(times)
    return {"n_targets": len(data.targets), "n_tfs": len(data.tfs), "n_samples": len(xs),
            "n_nodes": len(est.nodes_), "n_edges": int(len(est.src_)), "batch_size": int(est.batch_size),
            "setup_seconds": setup, "updates_timed": n_updates, "seconds_per_update": per_update,
            "seconds_per_update_max": max(times), "forward_seconds": forward, "forward_steps": int(steps),
            "max_residual": float(residual.max()), "tol": float(est.tol), "spectral_radius": float(rhos[-1] or 0.0),
            "schedule_updates": int(schedule), "fit_forecast_seconds": per_update * schedule,
            "seconds_per_step": per_step, "max_steps": int(est.max_steps),
            # every fixed point and adjoint running all max_steps (a network with cycles that converges slowly)
            "fit_forecast_recurrent_seconds": (per_update + 2 * (est.max_steps - steps) * per_step) * schedule}


def shap_at_scale(data, models: list[str], n_explain: int = 1000, n_background: int = 100) -> list[dict]:
    """SHAP of ``models`` for the two targets of ``data`` with the most prior parents.

    The seed explains ALB and AFP, which exist only in real data; here the two targets with
    the most parents stand in. :func:`grnbench.tasks.target_expression.explain.explain_models`
    refits each per-target model on the gene alone (as the study does) and explains
    ``n_explain`` test cells of the ``random`` split against ``n_background`` training cells.
    ``top10_parent_fraction`` is the share of true parents (the simulator's prior is its
    truth) among the ten TFs with the largest mean |SHAP|.
    """
    import numpy as np

    from grnbench.tasks.target_expression.explain import explain_models

    order = np.argsort(-data.parents.sum(axis=0), kind="stable")[:2]
    genes = tuple(data.targets[i] for i in order)
    out = explain_models(data, models, genes, n_explain=n_explain, n_background=n_background)
    rows = out.summary.assign(n_targets=len(data.targets), n_tfs=len(data.tfs))
    return rows.to_dict("records")


def with_forecasts(table, lembas=None):
    """``table`` with a forecast row for every model that could not run at 16,100 targets.

    * ``lembas``: one row per target count of the LEMBAS probe (``lembas``, the rows of
      ``seed_scale_lembas.csv``; where the probe ran with added TF -> TF edges, the run with
      the most of them, whose fixed points iterate as a recurrent network's do): the median
      measured update time times the study's schedule; its peak memory is measured (the probe
      holds the trainer's full-size state arrays). No forecast where ``table`` has a measured
      ``lembas`` fit of that many targets.
    * a per-target model with ``ok`` rows below 16,100 targets but none at 16,100: its largest
      run scaled linearly (its targets are fitted independently, in units of 1,000), peak
      memory unknown.

    Forecast rows have ``forecast`` True and a ``status`` saying how they were made; rows
    measured in full keep ``forecast`` False. Earlier forecast rows are replaced.
    """
    import pandas as pd

    from grnbench.registry import get_model

    table = table.reindex(columns=COLUMNS)
    table = table[~table["forecast"].eq(True)].copy()
    table["forecast"] = False
    rows = []
    if lembas is not None and len(lembas):
        lem = lembas[lembas["status"] == "ok"].assign(
            feedback_edges=lembas.get("feedback_edges", pd.Series(0, index=lembas.index)).fillna(0).astype(int))
        lem = lem.sort_values(["n_targets", "feedback_edges"]).groupby("n_targets").tail(1)
        fitted = table.loc[(table["model"] == "lembas") & (table["status"] == "ok"), "n_targets"]
        lem = lem[~lem["n_targets"].isin(set(fitted))]  # a measured fit needs no forecast
        for r in lem.itertuples():
            cyc = f", {r.feedback_edges:,} TF -> TF edges" if r.feedback_edges else ""
            rows.append({"model": "lembas", "n_targets": r.n_targets, "n_samples": r.n_samples, "n_tfs": r.n_tfs,
                         "n_edges": r.n_edges, "status": f"forecast: {r.schedule_updates} updates x "
                         f"{r.seconds_per_update:.2f} s (median of {r.updates_timed} timed{cyc})",
                         "forecast": True, "fit_seconds": r.fit_forecast_seconds, "peak_rss_gb": r.peak_rss_gb,
                         "wall_seconds": r.wall_seconds, "load_before": r.load_before, "cores": r.cores,
                         "git_sha": r.git_sha})
    ok = table[table["status"] == "ok"]
    for model, g in ok.groupby("model", sort=False):
        if (g["n_targets"] == FULL).any() or not get_model(model, "target_expression").per_target:
            continue
        big = g.sort_values("n_targets").iloc[-1]
        rows.append({"model": model, "n_targets": FULL, "n_samples": big["n_samples"], "n_tfs": big["n_tfs"],
                     "status": f"forecast: linear from {int(big['n_targets']):,} targets",
                     "forecast": True, "fit_seconds": big["fit_seconds"] * FULL / big["n_targets"],
                     "load_before": big["load_before"], "cores": big["cores"], "git_sha": big["git_sha"]})
    if rows:
        table = pd.concat([table, pd.DataFrame(rows).reindex(columns=COLUMNS)], ignore_index=True)
    return table.sort_values(["n_targets", "model"], kind="stable").reset_index(drop=True)


def book_table(table):
    """The book's compact view: model, targets, fit minutes, predict seconds, peak GiB, r2_flat, how."""
    import numpy as np
    import pandas as pd

    t = table[table["status"].eq("ok") | table["forecast"].eq(True)]
    return pd.DataFrame({
        "model": t["model"], "targets": t["n_targets"].astype(int),
        "fit_min": (t["fit_seconds"] / 60).round(2),
        "predict_s": t["predict_seconds"].round(1),
        "peak_GiB": t["peak_rss_gb"].round(1),
        "r2_flat": t["r2_flat"].round(3),
        "how": np.where(t["forecast"].eq(True), t["status"].str.replace("forecast: ", "forecast, "),
                        "measured"),
    }).reset_index(drop=True)


def report(out_dir: Path) -> None:
    """Add forecast rows to ``seed_scale.csv``; write the book's compact tables and ``seed_scale.png``.

    The compact tables are ``seed_scale_book.csv`` (:func:`book_table`), and, where the probes
    have run, ``seed_scale_lembas_book.csv`` and ``seed_scale_shap_book.csv``.
    """
    import pandas as pd

    from grnbench.plotting import save_figure, scale_growth
    from grnbench.results import write_table

    table = pd.read_csv(out_dir / "seed_scale.csv")
    lem = out_dir / "seed_scale_lembas.csv"
    table = with_forecasts(table, pd.read_csv(lem) if lem.is_file() else None)
    write_table(table, out_dir / "seed_scale.csv")
    write_table(book_table(table), out_dir / "seed_scale_book.csv")
    if lem.is_file():
        lt = pd.read_csv(lem)
        lt = lt[lt["status"] == "ok"]
        fb = lt.get("feedback_edges", pd.Series(0, index=lt.index)).fillna(0).astype(int)
        write_table(pd.DataFrame({
            "targets": lt["n_targets"], "tf_tf_edges": fb, "nodes": lt["n_nodes"], "edges": lt["n_edges"],
            "s_per_update": lt["seconds_per_update"].round(2), "forward_steps": lt["forward_steps"],
            "s_per_step": lt["seconds_per_step"].round(4),
            "max_residual": lt["max_residual"].map(lambda v: f"{v:.1e}"), "spectral_radius": lt["spectral_radius"].round(3),
            "schedule_updates": lt["schedule_updates"], "fit_forecast_h": (lt["fit_forecast_seconds"] / 3600).round(2),
            "fit_forecast_150_steps_h": (lt["fit_forecast_recurrent_seconds"] / 3600).round(1),
            "peak_GiB": lt["peak_rss_gb"].round(1)}), out_dir / "seed_scale_lembas_book.csv")
    shp = out_dir / "seed_scale_shap.csv"
    if shp.is_file():
        st = pd.read_csv(shp)
        st = st[st["status"] == "ok"]
        write_table(pd.DataFrame({
            "model": st["model"], "gene": st["gene"], "targets": st["n_targets"], "parents": st["n_parents"],
            "fit_s": st["fit_seconds"].round(1), "explain_s": st["explain_seconds"].round(1),
            "explained": st["n_explained"], "additivity_error": st["additivity_error"].map(lambda v: f"{v:.1e}"),
            "top10_parent_fraction": st["top10_parent_fraction"].round(2), "peak_GiB": st["peak_rss_gb"].round(1)}),
            out_dir / "seed_scale_shap_book.csv")
    save_figure(scale_growth(table, reference=SEED_XGBRF), out_dir / "seed_scale.png")


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def _subprocess(args: list[str], timeout: float) -> dict:
    """Run this script with ``args`` in a subprocess; sample its process tree's memory every 0.5 s.

    Returns ``status``, ``wall_seconds``, ``peak_rss_gb``, ``load_before`` and ``result`` (the
    JSON of the subprocess's last output line, or None when it failed).
    """
    cmd = [sys.executable, __file__, *args]
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    peak = [0]

    def sample():
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss(proc.pid))
            time.sleep(0.5)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
        status = "ok" if proc.returncode == 0 else f"failed (exit {proc.returncode}): {stderr.strip()[-300:]}"
    except subprocess.TimeoutExpired:
        subprocess.run(["pkill", "-P", str(proc.pid)], check=False)
        proc.kill()
        stdout, _ = proc.communicate()
        status = f"timeout after {timeout:.0f} s"
    th.join(timeout=2)
    result = json.loads(stdout.strip().splitlines()[-1]) if status == "ok" else None
    return {"status": status, "wall_seconds": time.perf_counter() - t0, "peak_rss_gb": peak[0] / 2**30,
            "load_before": load, "result": result}


def measure(model: str, n_targets: int, seed: int, timeout: float, target_chunk: int | None) -> dict:
    """Run :func:`run_one` in a subprocess; sample its process tree's memory."""
    run = _subprocess(["--one", model, str(n_targets), "--seed", str(seed), "--target-chunk", str(target_chunk or 0)],
                      timeout)
    row = {"model": model, "n_targets": n_targets, "target_chunk": target_chunk, "status": run["status"],
           "wall_seconds": run["wall_seconds"], "peak_rss_gb": run["peak_rss_gb"], "load_before": run["load_before"]}
    if run["result"]:
        row.update(run["result"])
    return row


def _probe_rows(kind: str, n_targets: int, seed: int, timeout: float, extra: list[str]) -> list[dict]:
    """Rows of a LEMBAS or SHAP probe (run in a subprocess), with its memory and provenance."""
    from grnbench.results import git_sha

    run = _subprocess(["--probe", kind, str(n_targets), "--seed", str(seed), *extra], timeout)
    results = run["result"] if run["result"] is not None else [{"n_targets": n_targets}]
    results = results if isinstance(results, list) else [results]
    common = {"status": run["status"], "wall_seconds": run["wall_seconds"], "peak_rss_gb": run["peak_rss_gb"],
              "load_before": run["load_before"], "cores": os.cpu_count(), "git_sha": git_sha()}
    return [{"n_targets": n_targets, **r, **common} for r in results]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", type=int, nargs="+", default=[1000, 4000, 16100])
    ap.add_argument("--models", nargs="+", default=MODELS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--target-chunk", type=int, default=1000, help="targets per unit of a per-target model (0: one unit)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per (model, targets) run")
    ap.add_argument("--force", action="store_true", help="re-run rows already in --out")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/seed_scale.csv"))
    ap.add_argument("--lembas-probe", action="store_true",
                    help="time LEMBAS updates on the whole network instead (writes seed_scale_lembas.csv)")
    ap.add_argument("--updates", type=int, default=5, help="updates timed by --lembas-probe")
    ap.add_argument("--feedback-edges", type=int, default=0,
                    help="--lembas-probe: add this many TF -> TF edges to the prior (cycles; see feedback_edges)")
    ap.add_argument("--shap", action="store_true",
                    help="SHAP of --models on the two targets with the most parents (writes seed_scale_shap.csv)")
    ap.add_argument("--report", action="store_true",
                    help="only add forecast rows and write seed_scale_book.csv and seed_scale.png from the tables")
    ap.add_argument("--one", nargs=2, metavar=("MODEL", "TARGETS"), help=argparse.SUPPRESS)
    ap.add_argument("--probe", nargs=2, metavar=("KIND", "TARGETS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    os.environ.setdefault("GRNBENCH_PROGRESS", "0")
    sys.path.insert(0, str(ROOT / "src"))
    if args.one:
        print(json.dumps(run_one(args.one[0], int(args.one[1]), args.seed, args.target_chunk or None)))
        return
    if args.probe:
        kind, n = args.probe[0], int(args.probe[1])
        data = load_data(n, args.seed, args.feedback_edges if kind == "lembas" else 0)
        res = lembas_probe(data, args.updates) if kind == "lembas" else shap_at_scale(data, args.models)
        if kind == "lembas":
            res["feedback_edges"] = args.feedback_edges
        print(json.dumps(res, default=float))
        return
    import pandas as pd

    from grnbench.results import git_sha, write_table

    if args.report:
        report(Path(args.out).parent)
        print(f"wrote {Path(args.out).parent}/seed_scale_book.csv and seed_scale.png")
        return
    simulate_cached(args.seed)
    if args.lembas_probe or args.shap:
        kind = "lembas" if args.lembas_probe else "shap"
        out = ROOT / f"benchmarks/results/seed_scale_{kind}.csv"
        table = pd.read_csv(out) if out.is_file() else pd.DataFrame()
        fb = args.feedback_edges if kind == "lembas" else 0
        if kind == "lembas" and len(table):
            table["feedback_edges"] = table.get("feedback_edges", pd.Series(0, index=table.index)).fillna(0).astype(int)
        for n in args.targets:
            same = (table["n_targets"] == n) & (table["feedback_edges"] == fb if kind == "lembas" else True) \
                if len(table) else None
            if same is not None and not args.force and (same & (table["status"] == "ok")).any():
                continue
            rows = _probe_rows(kind, n, args.seed, args.timeout,
                               ["--updates", str(args.updates), "--feedback-edges", str(fb)] if kind == "lembas"
                               else ["--models", *args.models])
            print(f"{kind} {n:>6} targets: {rows[0]['status'][:60]}, peak {rows[0]['peak_rss_gb']:.2f} GB", flush=True)
            if kind == "lembas":
                rows = [{**r, "feedback_edges": fb} for r in rows]
            keep = table[~same] if same is not None else table
            table = pd.concat([keep, pd.DataFrame(rows)], ignore_index=True) if len(keep) else pd.DataFrame(rows)
            write_table(table, out)
        print(f"wrote {out}")
        return
    out = Path(args.out)
    table = pd.read_csv(out).reindex(columns=COLUMNS) if out.is_file() else pd.DataFrame(columns=COLUMNS)
    for n in args.targets:
        for model in args.models:
            done = (table["model"] == model) & (table["n_targets"] == n) & (table["status"] == "ok")
            if done.any() and not args.force:
                continue
            row = measure(model, n, args.seed, args.timeout, args.target_chunk or None)
            row.update(cores=os.cpu_count(), git_sha=git_sha())
            print(f"{model:>13} {n:>6} targets: {row['status'][:60]}, fit {row.get('fit_seconds', float('nan')):.1f} s, "
                  f"peak {row['peak_rss_gb']:.2f} GB", flush=True)
            keep = table[~((table["model"] == model) & (table["n_targets"] == n))]
            new = pd.DataFrame([row]).reindex(columns=COLUMNS)
            table = pd.concat([keep, new], ignore_index=True) if len(keep) else new
            write_table(table, out)
    print(f"wrote {out} ({platform.processor() or platform.machine()})")


if __name__ == "__main__":
    main()
