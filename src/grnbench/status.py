"""Is each stage of a profile current? One line per stage, with what changed and the last wall time.

States (:func:`profile_status`):

``current``
    The stamp's fingerprint equals today's, every declared output exists, and no earlier stage of
    the same task (every earlier stage, for a stage without a task, such as the scoreboard) is
    anything but current.
``stale``
    Something it depends on changed since it ran: the notebook template, its parameters, a card,
    a code file (modules compared without docstrings), an input written by an earlier stage, or
    an earlier stage of its task is itself not current. The reason names them.
``partial``
    A run of the stage started and was stopped: ``k of n`` of its units are in the unit store.
``missing``
    It never finished here (no stamp).

Stamps written before per-component stamps hold one fingerprint only. For those, the commit
the stage ran at is read from its outputs' ``git_sha`` column (else from the commit that last
changed its executed notebook), and the code, notebook and parameters at that commit are
compared with today's.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import paths
from .fingerprint import (_shipped_data_files, changed_components, summarise_changes, components_fingerprint, file_hash, json_hash,
                          module_file, module_hash, stage_components, stage_modules)
from .study import Stage, load_study, profile_cards, stages

__all__ = ["StageStatus", "profile_status", "format_status", "status_markdown", "replace_marked_block"]


@dataclass
class StageStatus:
    """Status of one stage.

    Attributes
    ----------
    stage : str
    state : {"current", "stale", "partial", "missing"}
    reason : str
        What changed (stale), how many units are done (partial), or empty.
    seconds : float or None
        Wall time of its last finished run.
    commits : list of str
        Commit(s) its numbers come from (stamp, else the outputs' ``git_sha``).
    task : str or None
    """

    stage: str
    state: str
    reason: str
    seconds: float | None
    commits: list
    task: str | None = None


def _units_done(units_dir: Path, stage_id: str) -> tuple[int, int] | None:
    from .units import UnitStore, stage_plan_path

    path = stage_plan_path(units_dir, stage_id)
    if not path.is_file():
        return None
    try:
        plan = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None
    store = UnitStore(units_dir)
    units = plan.get("units", [])
    return sum(store.find(key, label) is not None for label, key in units), len(units)


# -- stamps from before per-component stamps --------------------------------------------


def _legacy_fingerprint(stage: Stage, results_dir: Path, upstream: list, cards: list, root: Path,
                        data_dir: str) -> str:
    """The fingerprint as stamps before per-component stamps computed it (to recognise a current one)."""
    import ast

    from .fingerprint import _strip_docstrings

    def hash_file(path, h):
        h.update(str(Path(path).name).encode())
        h.update(Path(path).read_bytes())

    src = root / "src"
    code = hashlib.sha256()
    for name in stage_modules(stage, root):
        path = module_file(name, src)
        code.update(name.encode())
        code.update(ast.dump(_strip_docstrings(ast.parse(path.read_text()))).encode())
        if name == "grnbench.data.cards":
            for data in _shipped_data_files(src):
                hash_file(data, code)
    h = hashlib.sha256()
    hash_file(stage.notebook, h)
    h.update(json.dumps(stage.parameters, sort_keys=True).encode())
    h.update(code.hexdigest().encode())
    h.update(data_dir.encode())
    for card in cards:
        hash_file(card, h)
    for up in upstream:
        for rel in up.outputs:
            path = results_dir / rel
            if path.is_file():
                hash_file(path, h)
    return h.hexdigest()


def _output_commits(stage: Stage, results_dir: Path) -> list[str]:
    """``git_sha`` values in a stage's CSV outputs, most frequent first."""
    counts = collections.Counter()
    for rel in stage.outputs:
        path = results_dir / rel
        if path.suffix != ".csv" or not path.is_file():
            continue
        try:
            head = pd.read_csv(path, nrows=0)
            if "git_sha" not in head.columns:
                continue
            col = pd.read_csv(path, usecols=["git_sha"], dtype={"git_sha": str})["git_sha"].astype(str)
        except (ValueError, pd.errors.ParserError):
            continue
        counts.update(col)
    return [c for c, _ in counts.most_common()]


def _git(root: Path, *args) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


class _Checkouts:
    """``src``, ``notebooks`` and ``study.yaml`` of past commits, extracted once each into a temp folder."""

    def __init__(self, root: Path):
        self.root, self.dirs = root, {}
        self.tmp = Path(tempfile.mkdtemp(prefix="grnbench-status-"))

    def get(self, commit: str) -> Path | None:
        if commit not in self.dirs:
            dest = self.tmp / commit
            dest.mkdir()
            proc = subprocess.run(["git", "archive", "--format=tar", commit, "src", "notebooks", "study.yaml"],
                                  cwd=self.root, capture_output=True)
            if proc.returncode != 0:
                self.dirs[commit] = None
            else:
                archive = dest / "a.tar"
                archive.write_bytes(proc.stdout)
                with tarfile.open(archive) as tar:
                    tar.extractall(dest, filter="data")
                archive.unlink()
                self.dirs[commit] = dest
        return self.dirs[commit]

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _legacy_reason(stage: Stage, profile: str, commit: str, old: Path, root: Path) -> list[str]:
    """What differs between the stage's code, notebook and parameters at ``commit`` and today."""
    src, old_src = root / "src", old / "src"
    out = []
    for name in stage_modules(stage, root):
        rel = module_file(name, src).relative_to(src).as_posix()
        if not (old_src / rel).is_file():
            out.append(f"code {rel} (new)")
        elif module_hash(name, old_src) != module_hash(name, src):
            out.append(f"code {rel}")
    nb_rel = stage.notebook.relative_to(root)
    if not (old / nb_rel).is_file() or file_hash(old / nb_rel) != file_hash(stage.notebook):
        out.append("notebook template")
    try:
        then = {s.id: s for s in stages(load_study(old / "study.yaml"), profile, old)}
        if stage.id not in then or json_hash(then[stage.id].parameters) != json_hash(stage.parameters):
            out.append("parameters")
    except Exception as exc:  # noqa: BLE001 - an old study file that no longer expands is itself a change
        out.append(f"parameters (study.yaml at {commit} does not expand: {type(exc).__name__})")
    return out


# -- status ------------------------------------------------------------------------------


def profile_status(profile: str, *, results_dir: str | os.PathLike | None = None, study_path=None) -> list[StageStatus]:
    """The status of every stage of a profile (see the module docstring).

    Parameters
    ----------
    profile : str
        Profile id in the study file.
    results_dir : path-like, optional
        Results folder (default ``results/<profile>``).
    study_path : path-like, optional
        Alternative study file.

    Returns
    -------
    list of StageStatus
        In stage order.

    Raises
    ------
    grnbench.errors.UnknownIdError
        For an unknown profile.
    """
    from .runner import read_stamp

    root = paths.project_root()
    study = load_study(study_path)
    plan = stages(study, profile, root)
    cards = profile_cards(study, profile)
    results_dir = Path(results_dir).resolve() if results_dir else (root / "results" / profile).resolve()
    units = paths.units_dir(results_dir)
    checkouts = _Checkouts(root)
    rows: list[StageStatus] = []
    try:
        for k, stage in enumerate(plan):
            rows.append(_one(stage, k, plan, profile, results_dir, cards, root, units, checkouts, read_stamp))
    finally:
        checkouts.close()
    by_id = {r.stage: r for r in rows}
    for k, (stage, row) in enumerate(zip(plan, rows)):
        if row.state != "current":
            continue
        earlier = [s for s in plan[:k] if (stage.task is None and s.id != "data") or
                   (stage.task is not None and s.task == stage.task)]
        bad = [s.id for s in earlier if by_id[s.id].state != "current"]
        if bad:
            row.state = "stale"
            row.reason = "earlier stage(s) of its task not current: " + ", ".join(bad)
    return rows


def _one(stage, k, plan, profile, results_dir, cards, root, units, checkouts, read_stamp) -> StageStatus:
    stamp = read_stamp(results_dir, stage)
    done = _units_done(units, stage.id)
    partial = f"{done[0]} of {done[1]} units" if done and done[0] < done[1] else ""
    if stamp is None:
        if partial:
            return StageStatus(stage.id, "partial", partial, None, [], stage.task)
        return StageStatus(stage.id, "missing", "never finished here", None, [], stage.task)
    seconds = stamp.get("seconds")
    missing = [rel for rel in stage.outputs if not (results_dir / rel).is_file()]
    if not stage.executed_path(results_dir).is_file():
        missing.insert(0, f"notebooks/{stage.output}.ipynb")
    if "components" in stamp:
        now = stage_components(stage, results_dir, plan[:k], cards, root)
        commits = [stamp["commit"]] if stamp.get("commit") else _output_commits(stage, results_dir)
        changed = [summarise_changes(changed_components(stamp["components"], now))]
        if components_fingerprint(now) == stamp.get("fingerprint") and not missing:
            return StageStatus(stage.id, "current", "", seconds, commits, stage.task)
    else:
        commits = _output_commits(stage, results_dir)
        candidates = {"", os.environ.get(paths.DATA_DIR_ENV, "")}
        if not missing and any(_legacy_fingerprint(stage, results_dir, plan[:k], cards, root, d) == stamp.get("fingerprint")
                               for d in candidates):
            return StageStatus(stage.id, "current", "", seconds, commits, stage.task)
        ref = next((c.replace("-dirty", "") for c in commits if c and c != "unknown"), None)
        how = "its outputs' git_sha"
        if ref is None:
            rel = stage.executed_path(results_dir).relative_to(root) if stage.executed_path(results_dir).is_relative_to(root) else None
            ref = _git(root, "log", "-1", "--format=%h", "--", str(rel)) if rel else None
            how = "the commit of its executed notebook"
            commits = [ref] if ref else []
        old = checkouts.get(ref) if ref else None
        if old is None:
            changed = ["the stamp predates per-component stamps and its fingerprint differs"]
        else:
            changed = _legacy_reason(stage, profile, ref, old, root)
            changed = [f"since {ref} ({how}): " + (summarise_changes(changed) if changed else
                                                   "inputs from earlier stages or cards (not recorded)")]
            if any(c.endswith("-dirty") for c in commits):
                changed.append("ran with uncommitted code (-dirty)")
    if missing:
        changed = [f"output(s) missing: {', '.join(missing)}"] + changed
    state = "partial" if partial else "stale"
    reason = "; ".join(([partial] if partial else []) + changed)
    return StageStatus(stage.id, state, reason, seconds, commits, stage.task)


def format_status(rows: list[StageStatus], max_reason: int = 160) -> str:
    """The status table as text: one line per stage, then the totals.

    Parameters
    ----------
    rows : list of StageStatus
    max_reason : int
        Characters of each reason shown (0: all).
    """
    width = max(len(r.stage) for r in rows) if rows else 5
    lines = []
    for r in rows:
        secs = "-" if r.seconds is None else _duration(r.seconds)
        reason = r.reason if not max_reason or len(r.reason) <= max_reason else r.reason[: max_reason - 3] + "..."
        lines.append(f"{r.stage:<{width}}  {r.state:<8} {secs:>9}  {reason}".rstrip())
    counts = collections.Counter(r.state for r in rows)
    total = sum(r.seconds or 0 for r in rows)
    lines.append(f"{len(rows)} stages: " + ", ".join(f"{counts[s]} {s}" for s in ("current", "stale", "partial",
                                                                                   "missing") if counts[s])
                 + f"; last measured wall time in all {_duration(total)}")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def status_markdown(rows: list[StageStatus], profile: str) -> str:
    """The status as Markdown: one row per task, then every stage in a collapsed table.

    The README's table of the full profile's measured times is this text
    (``grnbench status --profile full --write README.md``), so that it never disagrees with
    the stamps.

    Parameters
    ----------
    rows : list of StageStatus
        From :func:`profile_status`, in stage order.
    profile : str
        Profile id, named in the heading line.

    Returns
    -------
    str
        A sentence with the totals, a per-task table (stages; how many are current, stale,
        partial, missing; the sum of their last measured wall times in hours) and, inside
        ``<details>``, one row per stage (state, last wall time, the commit(s) its numbers
        come from). Stages without a task (data, scoreboard) are grouped as ``(shared)``.
    """
    states = ("current", "stale", "partial", "missing")
    counts = collections.Counter(r.state for r in rows)
    total = sum(r.seconds or 0 for r in rows)
    out = [f"`grnbench status --profile {profile}`: {len(rows)} stages, "
           + ", ".join(f"{counts[s]} {s}" for s in states if counts[s])
           + f"; last measured wall time in all {_duration(total)}.", "",
           "| task | stages | " + " | ".join(states) + " | last wall time |",
           "|---|---:|" + "---:|" * len(states) + "---:|"]
    by_task: dict[str, list[StageStatus]] = {}
    for r in rows:
        by_task.setdefault(r.task or "(shared)", []).append(r)
    for task, group in by_task.items():
        c = collections.Counter(r.state for r in group)
        secs = sum(r.seconds or 0 for r in group)
        out.append(f"| {task} | {len(group)} | " + " | ".join(str(c[s]) for s in states) + f" | {_duration(secs)} |")
    out += ["", "<details><summary>Every stage</summary>", "", "| stage | state | last wall time | commit |",
            "|---|---|---:|---|"]
    for r in rows:
        secs = "-" if r.seconds is None else _duration(r.seconds)
        commits = ", ".join(f"`{c[:10]}`" for c in dict.fromkeys(r.commits) if c) or "-"
        out.append(f"| `{r.stage}` | {r.state} | {secs} | {commits} |")
    out += ["", "</details>"]
    return "\n".join(out)


def replace_marked_block(path: str | os.PathLike, name: str, text: str) -> None:
    """Replace the text between ``<!-- begin: name -->`` and ``<!-- end: name -->`` in ``path``.

    The markers stay; the file is rewritten atomically, and left as it was when ``text`` is
    already there.

    Parameters
    ----------
    path : path-like
        A text file (e.g. ``README.md``) holding both markers once each, begin before end.
    name : str
        The block's name in the markers.
    text : str
        The new content (a blank line is kept on either side).

    Raises
    ------
    GrnbenchError
        The file is missing, or a marker is missing, repeated or out of order (the message names
        the file and the marker).
    """
    from .errors import GrnbenchError
    from .results import _atomic_write

    path = Path(path)
    if not path.is_file():
        raise GrnbenchError(f"{path}: no such file")
    old = path.read_text()
    begin, end = f"<!-- begin: {name} -->", f"<!-- end: {name} -->"
    for marker in (begin, end):
        if old.count(marker) != 1:
            raise GrnbenchError(f"{path}: the marker {marker!r} must occur exactly once "
                                f"(found {old.count(marker)})")
    i, j = old.index(begin) + len(begin), old.index(end)
    if j < i:
        raise GrnbenchError(f"{path}: {end!r} comes before {begin!r}")
    new = old[:i] + "\n\n" + text.strip("\n") + "\n\n" + old[j:]
    if new != old:
        _atomic_write(path, lambda tmp: Path(tmp).write_text(new))
