"""Execute a study profile: ordered papermill stages, resumable, on one Dask cluster per run.

Every stage is executed with papermill into ``<results_dir>/notebooks/<output>.ipynb`` with its
parameters plus ``results_dir``. A stage is skipped when its stamp
(``<results_dir>/.stamps/<stage>.json``) records the same fingerprint as now and all its declared
outputs exist. The fingerprint (:func:`grnbench.fingerprint.stage_components`) covers the
notebook template, the parameters, the cards in use, the contents of the outputs of the earlier
stages of its task (of all earlier stages for a stage without a task), and the code the stage
depends on (the closure of the static import graph of its notebook and task, each module hashed
without docstrings and comments). The stamp keeps each
component's hash, the commit and the wall time, so :mod:`grnbench.status` can say *what*
changed. A failing stage stops the run with the notebook's path and the cell.

Inside a stage, fits are units (:mod:`grnbench.units`): the runner exports the unit store
(``$GRNBENCH_UNITS = <results_dir>/units``), the stage id (``$GRNBENCH_STAGE``) and the Dask
scheduler (``$GRNBENCH_SCHEDULER``) to the papermill kernels. Without a scheduler given, it starts
one ``LocalCluster`` for the whole run (:func:`grnbench.compute.local_cluster`). A stage stopped
midway and run again fits only the units it had not finished.

Study expansion and id checks live in :mod:`grnbench.study`; the book in :mod:`grnbench.book`.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import paths
from .book import build_book
from .engine import STAGE_ENV
from .errors import DataValidationError, StageFailedError, UnknownIdError, format_names
from .fingerprint import components_fingerprint, stage_components
from .results import _atomic_write, git_sha
from .study import Stage, load_study, profile_cards, stages, validate_ids, validate_parameters

__all__ = ["Stage", "load_study", "stages", "validate_ids", "run_profile", "build_book", "export_notebooks",
           "RunReport", "stamp_path", "read_stamp", "STAGE_ENV"]



def stamp_path(results_dir: Path, stage: Stage) -> Path:
    """The stamp file of a stage: ``<results_dir>/.stamps/<stage id>.json``."""
    return paths.stamps_dir(results_dir) / f"{stage.id}.json"


def read_stamp(results_dir: Path, stage: Stage) -> dict | None:
    """A stage's stamp (``fingerprint``, ``seconds``, ``commit``, ``components``), or None."""
    path = stamp_path(results_dir, stage)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return None


def _stage_commit(stage: Stage, components: dict) -> str:
    """The commit a stage ran at, ``-dirty`` only if a file it depends on differs from that commit."""
    import subprocess

    root = paths.project_root()
    sha = git_sha(root).replace("-dirty", "")
    files = [str(stage.notebook), "study.yaml"] + [f"src/{f}" for f in components.get("code", {})]
    try:
        changed = subprocess.run(["git", "status", "--porcelain", "--", *files], cwd=root, capture_output=True,
                                 text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return sha
    return sha + ("-dirty" if changed else "")


def _write_stamp(results_dir: Path, stage: Stage, components: dict, seconds: float) -> None:
    path = stamp_path(results_dir, stage)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = {"fingerprint": components_fingerprint(components), "seconds": round(seconds, 1),
             "commit": _stage_commit(stage, components),
             "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "components": components}
    _atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(stamp, indent=1, sort_keys=True)))


def is_complete(stage: Stage, results_dir: Path, fingerprint: str) -> bool:
    """True if the stage's stamp matches ``fingerprint`` and all its outputs exist."""
    stamp = read_stamp(results_dir, stage)
    if stamp is None or not stage.executed_path(results_dir).is_file():
        return False
    return stamp.get("fingerprint") == fingerprint and all((results_dir / rel).is_file() for rel in stage.outputs)


@dataclass
class RunReport:
    """What :func:`run_profile` did: per stage ``ran`` or ``skipped`` and seconds."""

    profile: str
    results_dir: Path
    rows: list[dict] = field(default_factory=list)


def _execute(stage: Stage, results_dir: Path, root: Path) -> None:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    out = stage.executed_path(results_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    params = dict(stage.parameters)
    params.setdefault("results_dir", os.path.relpath(results_dir, root))
    os.environ["GRNBENCH_PROGRESS"] = "0"  # the kernel inherits it: no progress bars in saved outputs
    # torch picks CPU kernels by instruction set (AVX2, AVX-512); their float results differ in the last bits, which
    # early stopping can turn into visible differences. One kernel set makes executed notebooks (and nbval) identical
    # across x86 machines.
    os.environ.setdefault("ATEN_CPU_CAPABILITY", "default")
    try:
        pm.execute_notebook(str(stage.notebook), str(out), parameters=params, kernel_name="python3",
                            cwd=str(root), progress_bar=False, log_output=False)
    except PapermillExecutionError as exc:
        raise StageFailedError(
            f"stage {stage.id!r} failed: notebook {out} (template {stage.notebook.relative_to(root)}), "
            f"cell {exc.cell_index} (execution count {exc.exec_count}): {exc.ename}: {exc.evalue}"
        ) from None
    defaults = {}
    for name, info in pm.inspect_notebook(str(stage.notebook)).items():
        try:
            defaults[name] = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError):
            continue
    render_markdown(out, {**defaults, **params})


def render_markdown(path: Path, params: dict) -> None:
    """Replace ``{{name}}`` in the markdown cells of an executed notebook by parameter values.

    ``params`` are the notebook's effective parameters (defaults updated by the stage's).
    Lets one template give each executed copy its own title (e.g. "Fits on `hhep`").
    """
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for key, value in params.items():
                cell.source = cell.source.replace("{{" + key + "}}", str(value))
    nbformat.write(nb, path)


def _use_cards(cards: list[Path]) -> None:
    """Register a profile's cards here and export them to the papermill kernels (``$GRNBENCH_CARDS``)."""
    from .data.cards import CARDS_ENV, register_card_file

    missing = [str(c) for c in cards if not c.is_file()]
    if missing:
        raise DataValidationError(f"study cards not found: {format_names(missing)}")
    known = [p for p in os.environ.get(CARDS_ENV, "").split(os.pathsep) if p]
    os.environ[CARDS_ENV] = os.pathsep.join(dict.fromkeys(known + [str(c) for c in cards]))
    for card in cards:
        register_card_file(card, replace=True)


def run_profile(profile: str, *, force: bool = False, only: list[str] | None = None,
                results_root: str | os.PathLike = "results", results_dir: str | os.PathLike | None = None,
                study_path=None, scheduler: str | None = None, echo=print) -> RunReport:
    """Execute the stages of ``profile`` in order, skipping up-to-date ones.

    Parameters
    ----------
    profile : str
        Profile id in the study file (``embedded``, ``full``, ``smoke``, ``smoke_real``).
    force : bool
        Re-run every stage.
    only : list of str, optional
        Run only these stage ids (others are neither run nor checked).
    results_root : path-like
        Folder holding ``<profile>/`` results (relative to the project root).
    results_dir : path-like, optional
        Results folder of this run (default ``<results_root>/<profile>``).
    study_path : path-like, optional
        Alternative study file.
    scheduler : str, optional
        Dask scheduler of the run's units: a ``tcp://HOST:PORT`` address, ``"inprocess"``, or
        ``"local"`` (default, unless ``$GRNBENCH_SCHEDULER`` says otherwise): one LocalCluster
        for the whole run.
    echo : callable
        Progress printer.

    Returns
    -------
    RunReport

    Raises
    ------
    grnbench.errors.StageFailedError
        When a notebook fails (message: stage, executed notebook path, cell, error).
    grnbench.errors.UnknownIdError
        For an unknown profile, stage id in ``only``, or an unknown id in a stage's parameters.
    """
    root = paths.project_root()
    study = load_study(study_path)
    plan = stages(study, profile, root)
    cards = profile_cards(study, profile)
    _use_cards(cards)
    validate_ids(plan)
    validate_parameters(plan)
    if only:
        unknown = sorted(set(only) - {s.id for s in plan})
        if unknown:
            raise UnknownIdError(f"unknown stage id(s) {unknown}; profile {profile!r} has: {[s.id for s in plan]}")
    results_dir = Path(results_dir).resolve() if results_dir else (root / results_root / profile).resolve()
    report = RunReport(profile=profile, results_dir=results_dir)
    with _run_environment(results_dir, scheduler):
        for k, stage in enumerate(plan):
            if only and stage.id not in only:
                continue
            _run_stage(stage, k, plan, results_dir, cards, root, force, report, echo)
    return report


def _run_stage(stage, k, plan, results_dir, cards, root, force, report, echo) -> None:
    components = stage_components(stage, results_dir, plan[:k], cards, root)
    fp = components_fingerprint(components)
    label = f"[{k + 1}/{len(plan)}] {stage.id}"
    if not force and is_complete(stage, results_dir, fp):
        echo(f"{label}: up to date, skipped")
        report.rows.append({"stage": stage.id, "status": "skipped", "seconds": 0.0})
        return
    echo(f"{label}: running {stage.notebook.relative_to(root)} -> {stage.executed_path(results_dir)}")
    t0 = time.perf_counter()
    os.environ[STAGE_ENV] = stage.id  # the kernel's engine lists the stage's units under this run
    os.environ["GRNBENCH_RUN_ID"] = f"{stage.id}@{time.time():.0f}"
    with _UnitProgress(paths.units_dir(results_dir), stage.id):
        _execute(stage, results_dir, root)
    seconds = time.perf_counter() - t0
    missing = [rel for rel in stage.outputs if not (results_dir / rel).is_file()]
    if missing:
        raise StageFailedError(f"stage {stage.id!r} finished but did not write {missing} under {results_dir}")
    _write_stamp(results_dir, stage, components, seconds)
    echo(f"{label}: done in {seconds:.1f} s")
    report.rows.append({"stage": stage.id, "status": "ran", "seconds": seconds})


class _UnitProgress:
    """A progress bar over a stage's units while its notebook runs (only when stderr is a terminal).

    The kernel's engine lists the stage's units in the store (:func:`grnbench.units.record_stage_units`)
    before fitting; a thread counts how many of them are stored, every two seconds.
    """

    def __init__(self, units_dir: Path, stage_id: str, every: float = 2.0):
        import sys
        import threading

        from .models.base import show_progress

        self.units_dir, self.stage_id, self.every = units_dir, stage_id, every
        self.active = sys.stderr.isatty() and show_progress(None)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True) if self.active else None

    def _poll(self) -> None:
        from tqdm.auto import tqdm

        from .units import UnitStore, stage_plan_path

        bar, store, run = None, UnitStore(self.units_dir), os.environ.get("GRNBENCH_RUN_ID")
        path = stage_plan_path(self.units_dir, self.stage_id)
        while not self.stop.wait(self.every):
            try:
                plan = json.loads(path.read_text()) if path.is_file() else {}
            except (OSError, json.JSONDecodeError):
                continue
            if plan.get("run") != run or not plan.get("units"):
                continue
            units = plan["units"]
            if bar is None:
                bar = tqdm(total=len(units), desc=f"{self.stage_id} units", unit="unit", leave=False)
            bar.total = len(units)
            bar.n = sum(store.find(key, label) is not None for label, key in units)
            bar.refresh()
        if bar is not None:
            bar.close()

    def __enter__(self):
        if self.thread is not None:
            self.thread.start()
        return self

    def __exit__(self, *exc):
        if self.thread is not None:
            self.stop.set()
            self.thread.join()
        return False


class _run_environment:
    """Export the unit store and the scheduler to the kernels; start (and stop) one LocalCluster per run."""

    def __init__(self, results_dir: Path, scheduler: str | None):
        self.results_dir, self.scheduler = results_dir, scheduler
        self.saved: dict = {}
        self.started = False

    def __enter__(self):
        from . import compute
        from .engine import UNITS_ENV

        setting = self.scheduler or os.environ.get(compute.SCHEDULER_ENV) or "local"
        env = {UNITS_ENV: str(paths.units_dir(self.results_dir))}
        if setting == "local":
            client = compute.local_cluster()
            self.started = True
            env[compute.SCHEDULER_ENV] = client.scheduler.address
        else:
            env[compute.SCHEDULER_ENV] = setting
        for key, value in env.items():
            self.saved[key] = os.environ.get(key)
            os.environ[key] = value
        return self

    def __exit__(self, *exc):
        from . import compute

        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if self.started:
            compute.close_local_cluster()
        return False


def export_notebooks(profile: str, dest: str | os.PathLike, *, results_root: str | os.PathLike = "results",
                     study_path=None) -> list[Path]:
    """Copy a profile's executed notebooks to ``dest`` as ``NN_<output>.ipynb`` in stage order.

    Used to refresh the nbval notebooks (``tests/notebooks/``): pytest collects files in name
    order, so the numbering makes nbval re-execute the stages in the order they depend on.

    Returns
    -------
    list of pathlib.Path
        The written notebooks.

    Raises
    ------
    grnbench.errors.StageFailedError
        If a stage's executed notebook is missing.
    """
    root = paths.project_root()
    results_dir = (root / results_root / profile).resolve()
    dest = Path(dest)
    plan = stages(load_study(study_path), profile, root)
    for stage in plan:  # every notebook first: a missing one leaves the old exports in place
        src = stage.executed_path(results_dir)
        if not src.is_file():
            raise StageFailedError(f"stage {stage.id!r} has no executed notebook at {src}; run the profile first")
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("*.ipynb"):
        old.unlink()
    written = []
    for k, stage in enumerate(plan):
        target = dest / f"{k:02d}_{stage.output.replace('/', '__')}.ipynb"
        shutil.copy2(stage.executed_path(results_dir), target)
        written.append(target)
    return written


