"""Units on Dask: identical tables in process, on a LocalCluster and on a real `dask scheduler` +
`dask worker` cluster; a stage killed with SIGKILL resumes with only its missing units; unit keys
cover data, split, model code, parameters and seed, and nothing about scheduling or reports."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from grnbench import engine
from grnbench.fingerprint import module_closure
from grnbench.registry import get_model, model_ids
from grnbench.tasks import TASKS, get_task
from grnbench.units import KEEP_SECONDS, NOT_IN_KEY, UnitResult, UnitStore

#: Columns measured when a unit runs (seconds) or naming the commit: never equal between two runs.
MEASURED = ["fit_seconds", "predict_seconds", "git_sha"]

# A stage as a script: GRN inference on pbmc68k with a neural model (CaTran), GENIE3 (arboreto's
# per-target regressions fan out from inside a unit) and correlation controls; then cell-type
# markers (SelectorMLP with a tuning grid, SVM, L1 logistic regression, random rankings).
STAGE = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from grnbench import engine
    from grnbench.notebook import setup
    from grnbench.tasks import get_task
    from grnbench.tasks.cell_type_markers import prepare as prepare_ctm
    from grnbench.tasks.grn_inference import prepare as prepare_gi

    def main(out, scheduler, units):
        setup()
        gi = engine.run(get_task("grn_inference"), prepare_gi("pbmc68k_reduced", max_targets=12),
                        models=["catran", "genie3", "pearson", "random"], seeds=[0, 1], n_boot=50,
                        model_params={"catran": {"epochs": 2}}, scheduler=scheduler, units=units)
        engine.save(gi, Path(out) / "gi")
        ctm = engine.run(get_task("cell_type_markers"), prepare_ctm("pbmc68k_reduced"),
                         models=["selector_mlp", "linear_svm", "logreg_l1", "random"], splits=["capped"], seeds=[0, 1],
                         model_seeds={"random": [0, 1]}, n_boot=50, random_orders=1, ks=(4, 16),
                         model_params={"selector_mlp": {"param_grid": {"l1": [0.003, 0.03], "hidden": [[32]]},
                                                        "max_epochs": 30}},
                         scheduler=scheduler, units=units)
        engine.save(ctm, Path(out) / "ctm")

    if __name__ == "__main__":
        main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != "-" else None)
""")


def _env():
    env = dict(os.environ, GRNBENCH_PROGRESS="0", ATEN_CPU_CAPABILITY="default")
    env.pop("GRNBENCH_UNITS", None)
    env.pop("GRNBENCH_SCHEDULER", None)
    return env


@pytest.fixture(scope="module")
def stage_script(tmp_path_factory):
    path = tmp_path_factory.mktemp("stage") / "stage.py"
    path.write_text(STAGE)
    return path


def _run_stage(script, out, scheduler, units=None, **kw):
    return subprocess.run([sys.executable, str(script), str(out), scheduler, str(units) if units else "-"],
                          env=_env(), capture_output=True, text=True, **kw)


def _tables(out: Path) -> dict:
    """Every table a stage wrote, without the measured columns."""
    tables = {}
    for path in sorted(out.rglob("*.csv")):
        df = pd.read_csv(path)
        tables[str(path.relative_to(out))] = df.drop(columns=[c for c in MEASURED if c in df.columns])
    return tables


def _assert_same(a: dict, b: dict):
    assert sorted(a) == sorted(b)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)


@pytest.fixture(scope="module")
def reference(stage_script, tmp_path_factory):
    """The stage run in process, with no unit store: the reference tables."""
    out = tmp_path_factory.mktemp("inprocess")
    proc = _run_stage(stage_script, out, "inprocess", timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return _tables(out)


def _unit_files(units: Path) -> dict:
    """Finished unit files of a store (kept and local folders) -> modification time."""
    folders = (units, units.with_name(units.name + "-local"))
    return {p: p.stat().st_mtime_ns for f in folders if f.exists() for p in f.rglob("*.pkl.gz")
            if not p.name.startswith(".tmp-")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_local_cluster_gives_the_in_process_tables(stage_script, reference, tmp_path):
    proc = _run_stage(stage_script, tmp_path, "local", timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    _assert_same(_tables(tmp_path), reference)


def test_dask_scheduler_and_two_workers_give_the_in_process_tables(stage_script, reference, tmp_path):
    dask = Path(sys.executable).with_name("dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = _env()
    env.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    procs = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--dashboard-address", ":0"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)]
    try:
        time.sleep(3)
        for i in range(2):
            procs.append(subprocess.Popen([str(dask), "worker", address, "--nthreads", "1", "--name", f"w{i}",
                                           "--dashboard-address", ":0"], env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        from dask.distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
            assert len(client.scheduler_info()["workers"]) == 2
        proc = _run_stage(stage_script, tmp_path, address, timeout=900)
        assert proc.returncode == 0, proc.stderr[-3000:]
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
    _assert_same(_tables(tmp_path), reference)


def test_sigkill_mid_stage_then_resume_fits_only_missing_units(stage_script, reference, tmp_path):
    units = tmp_path / "units"
    first = subprocess.Popen([sys.executable, str(stage_script), str(tmp_path / "killed"), "inprocess", str(units)],
                             env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 600
    while len(_unit_files(units)) < 3 and time.time() < deadline and first.poll() is None:
        time.sleep(0.2)
    assert first.poll() is None, "the stage finished before it could be killed"
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert not (tmp_path / "killed" / "ctm" / "metrics.csv").exists()
    done = _unit_files(units)
    assert 3 <= len(done)
    for p in done:  # every stored unit is whole
        folder = units if p.is_relative_to(units) else units.with_name(units.name + "-local")
        assert UnitStore(units).get(p.name.split(".")[0], str(p.parent.relative_to(folder))) is not None

    proc = _run_stage(stage_script, tmp_path / "resumed", "inprocess", units, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    after = _unit_files(units)
    assert all(after[p] == m for p, m in done.items())  # finished units were reused, not refitted
    assert len(after) > len(done)
    _assert_same(_tables(tmp_path / "resumed"), reference)

    # a third run finds every unit and fits nothing
    snapshot = dict(after)
    proc = _run_stage(stage_script, tmp_path / "again", "inprocess", units, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert _unit_files(units) == snapshot
    _assert_same(_tables(tmp_path / "again"), reference)


def test_store_keeps_slow_units_and_puts_fast_ones_in_the_local_folder(tmp_path):
    store = UnitStore(tmp_path / "units")
    fast = UnitResult([], None, KEEP_SECONDS / 10, 0.0, 0, "{}")
    slow = UnitResult([], None, KEEP_SECONDS * 2, 0.0, 1, "{}")
    assert store.put("a" * 64, "t/d/m", fast).is_relative_to(tmp_path / "units-local")
    assert store.put("b" * 64, "t/d/m", slow).is_relative_to(tmp_path / "units")
    assert store.get("a" * 64, "t/d/m").seed == 0 and store.get("b" * 64, "t/d/m").seed == 1
    assert store.get("c" * 64, "t/d/m") is None
    (tmp_path / "units" / "t/d/m" / ("b" * 32 + ".pkl.gz")).write_bytes(b"not a gzip")
    assert store.get("b" * 64, "t/d/m") is None  # a damaged file counts as not finished


# -- keys ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ctm_jobs():
    from grnbench.tasks.cell_type_markers import prepare

    task, data = get_task("cell_type_markers"), prepare("pbmc68k_reduced")

    def jobs(**kw):
        args = dict(models=["linear_svm", "random"], splits=["capped"], seeds=(0,), split_seeds=(0,),
                    model_params={}, model_seeds={}, ablation_seeds=())
        args.update(kw)
        ctx = engine.Context(task=task, data=data, options=dict(task.options), split_seed=args["split_seeds"][0],
                             seeds=tuple(args["seeds"]))
        plans = engine._plans(task, ctx, args["splits"], args["split_seeds"])
        specs = [get_model(m, task.id) for m in args["models"]]
        return {(j.model, j.seed): j.key for j in engine._jobs(task, data, ctx.options, specs, plans,
                                                                args["model_params"], args["model_seeds"],
                                                                tuple(args["seeds"]), args["ablation_seeds"])}
    return jobs


def test_unit_keys_follow_data_split_params_and_seed_only(ctm_jobs, monkeypatch):
    base = ctm_jobs()
    assert ctm_jobs() == base  # same inputs, same keys
    assert ctm_jobs(split_seeds=(1,)) != base  # another split draw
    changed = ctm_jobs(model_params={"linear_svm": {"C": 0.5}})
    assert changed[("linear_svm", None)] != base[("linear_svm", None)]
    assert changed[("random", 0)] == base[("random", 0)]  # other models keep theirs
    assert ctm_jobs(seeds=(1,))[("random", 1)] != base[("random", 0)]
    # scheduling parameters and the scheduler setting do not enter the key
    monkeypatch.setenv("GRNBENCH_SCHEDULER", "tcp://example:8786")
    assert ctm_jobs() == base


def test_unit_keys_change_with_model_code_not_with_docstrings_or_reports(ctm_jobs, tmp_path, monkeypatch):
    import grnbench.fingerprint as fp

    base = ctm_jobs()
    src = tmp_path / "src"
    shutil.copytree(fp.src_root() / "grnbench", src / "grnbench")
    monkeypatch.setattr(fp, "src_root", lambda: src)
    monkeypatch.setattr(engine, "_CODE_CACHE", {})
    est = src / "grnbench" / "tasks" / "cell_type_markers" / "estimators.py"
    # prose only: a docstring and a comment
    est.write_text(est.read_text().replace('"""', '"""Edited prose. ', 1) + "\n# a comment\n")
    (src / "grnbench" / "plotting.py").write_text((src / "grnbench" / "plotting.py").read_text() + "\nX = 1\n")
    (src / "grnbench" / "tasks" / "cell_type_markers" / "report.py").write_text(
        (src / "grnbench" / "tasks" / "cell_type_markers" / "report.py").read_text() + "\nX = 1\n")
    (src / "grnbench" / "engine.py").write_text((src / "grnbench" / "engine.py").read_text() + "\nX = 1\n")
    assert ctm_jobs() == base
    # a new model declared, and another model's estimator edited: these units keep their keys
    decl = src / "grnbench" / "tasks" / "cell_type_markers" / "models.py"
    decl.write_text(decl.read_text() + "\n\n@register_model('new_model', task=TASK, is_baseline=True, stochastic=False,"
                                       " reference='r', description='d')\ndef new_model(data):\n    return None\n")
    other = src / "grnbench" / "tasks" / "cell_type_markers" / "persist.py"
    other.write_text(other.read_text() + "\nX = 1\n")
    monkeypatch.setattr(engine, "_CODE_CACHE", {})
    assert ctm_jobs() == base
    # model code: every unit of that task's models changes
    est.write_text(est.read_text() + "\nX = 1\n")
    monkeypatch.setattr(engine, "_CODE_CACHE", {})
    assert all(a != b for a, b in zip(ctm_jobs().values(), base.values()))


def test_plan_units_lists_the_units_run_stores(tmp_path):
    from grnbench.tasks.cell_type_markers import prepare

    task, data = get_task("cell_type_markers"), prepare("pbmc68k_reduced")
    kw = dict(models=["wilcoxon_markers", "random"], splits=["capped"], seeds=(0,), model_seeds={"random": [0, 1]},
              n_boot=10)
    planned = engine.plan_units(task, data, **kw)
    assert [label for label, _ in planned] == ["cell_type_markers/pbmc68k_reduced/wilcoxon_markers"] + \
        ["cell_type_markers/pbmc68k_reduced/random"] * 2
    assert not (tmp_path / "units").exists()  # planning fits and stores nothing
    engine.run(task, data, units=tmp_path / "units", scheduler="inprocess", **kw)
    stored = {p.name.split(".")[0] for p in (tmp_path / "units-local").rglob("*.pkl.gz")}
    stored |= {p.name.split(".")[0] for p in (tmp_path / "units").rglob("*.pkl.gz")}
    assert stored == {key[:32] for _, key in planned}


@pytest.mark.parametrize("task_id", sorted(TASKS))
def test_no_unit_key_covers_scheduling_or_report_code(task_id):
    task = get_task(task_id)
    for model in model_ids(task_id):
        spec = get_model(model, task_id)
        mods = module_closure({type(task).__module__, spec.build.__module__}, exclude=NOT_IN_KEY)
        assert not [m for m in mods if m in NOT_IN_KEY or m.endswith(".report")], (model, mods)


def test_readme_slurm_setup_makes_single_thread_workers_of_the_venv():
    """The README's dask-jobqueue set-up renders a SLURM job that starts one single-thread worker."""
    import re

    from dask_jobqueue import SLURMCluster

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = re.search(r"```python\n# cluster.py.*?```", readme, re.S).group(0)
    assert 'SLURMCluster(cores=1, processes=1' in block and "ATEN_CPU_CAPABILITY=default" in block
    cluster = SLURMCluster(cores=1, processes=1, memory="8GiB", walltime="02:00:00",
                           job_script_prologue=["source .venv/bin/activate", "export OMP_NUM_THREADS=1",
                                                "export ATEN_CPU_CAPABILITY=default"])
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "#SBATCH --cpus-per-task=1" in script and "--nthreads 1" in script
    assert "export ATEN_CPU_CAPABILITY=default" in script


def _square_unit(x, *, offset, log):
    (Path(log) / f"{x}-{time.time_ns()}").touch()  # one file per call that really ran
    return x * x + offset


def test_run_units_stores_each_call_and_reuses_it(tmp_path):
    log = tmp_path / "log"
    log.mkdir()
    kw = {"label": "t/d/square", "units": tmp_path / "units", "scheduler": "inprocess"}
    assert engine.run_units(_square_unit, [1, 2, 3], shared={"offset": 1, "log": str(log)}, **kw) == [2, 5, 10]
    assert len(list(log.iterdir())) == 3
    assert engine.run_units(_square_unit, [3, 2, 4], shared={"offset": 1, "log": str(log)}, **kw) == [10, 5, 17]
    assert len(list(log.iterdir())) == 4  # 2 and 3 came from the store
    assert engine.run_units(_square_unit, [2], shared={"offset": 2, "log": str(log)}, **kw) == [6]
    assert len(list(log.iterdir())) == 5  # the shared arguments are part of the key
    assert engine.run_units(_square_unit, [5, 5], shared={"offset": 0, "log": str(log)}, units=None,
                            label="t/d/square", scheduler="inprocess") == [25, 25]
