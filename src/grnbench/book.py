"""The Jupyter Book of a profile: staged sources, a pruned table of contents, banners on stale numbers.

:func:`build_book` copies the project's ``_config.yml``, ``_toc.yml`` and ``book/`` pages and the
profile's executed notebooks into ``<results_dir>/_book/`` and builds it. Before the build, every
executed notebook gets a line naming the commit(s) its numbers come from, and a visible warning
banner when it, or an earlier stage of its task, is not current (:mod:`grnbench.status`); the
intro page gets one when any stage is not current. The banners are written at build time, so
they describe the results as they are when the book is built.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from . import paths
from .errors import StageFailedError

__all__ = ["build_book", "add_status_banners", "banner_markdown"]


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
               study_path=None, echo=print) -> Path:
    """Assemble and build the Jupyter Book of a profile's executed notebooks.

    The book source is staged in ``<results_dir>/_book/``: the project's ``_config.yml``,
    ``_toc.yml`` (without the parts this run has no notebooks for), ``book/`` pages and the benchmark tables
    (``benchmarks/results/``, for the speed page), plus the
    executed notebooks under ``notebooks/``. The notebooks are not re-executed
    (``execute_notebooks: 'off'``). Status banners are added to the staged copies
    (:func:`add_status_banners`), and for your own data a note on the intro lists the tasks that
    ran and those skipped, with why (:func:`grnbench.byod.intro_note`).

    Parameters
    ----------
    profile : str
        Profile id (its stages decide the banners).
    results_root, results_dir : path-like
        Results folder (default ``<results_root>/<profile>``).
    strict : bool
        Build with ``-W -n`` (warnings are errors).
    study_path : path-like, optional
        Alternative study file (your own data's ``study.yaml``).
    echo : callable
        Progress printer.

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
    if (root / "benchmarks" / "results").is_dir():  # the speed page's tables
        shutil.copytree(root / "benchmarks" / "results", stage_dir / "benchmarks" / "results")
    shutil.copytree(executed, stage_dir / "notebooks")
    shutil.copy2(root / "_config.yml", stage_dir / "_config.yml")
    from .status import profile_status

    add_status_banners(stage_dir, profile_status(profile, results_dir=results_dir, study_path=study_path),
                       _stage_outputs(profile, study_path))
    from .byod import intro_note, read_summary

    summary = read_summary(results_dir)  # your own data: the tasks run and skipped, and why
    intro = stage_dir / "book" / "intro.md"
    if summary is not None and intro.is_file():
        intro.write_text(_insert_after_title(intro.read_text(), intro_note(summary)))
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


def _stage_outputs(profile: str, study_path) -> dict:
    from .study import load_study, stages

    return {s.id: s.output for s in stages(load_study(study_path), profile)}


def _short_reason(reason: str, max_files: int = 3) -> str:
    """A status reason for a banner: file names as code, long code lists cut to their first files."""
    import re

    def rank(f: str) -> int:  # the files most likely to move numbers first
        return next((i for i, key in enumerate(("tasks/", "engine.py", "metrics/", "models/")) if key in f), 4)

    def code(m):
        files = sorted((f.strip() for f in m.group(2).split(",")), key=rank)
        shown = ", ".join(f"`{f}`" for f in files[:max_files])
        more = f" and {int(m.group(1)) - max_files} more" if int(m.group(1)) > max_files else ""
        return f"{m.group(1)} code file(s): {shown}{more}"

    reason = re.sub(r"code \((\d+) files\): ([^;]*)", code, reason)
    reason = re.sub(r"inputs \((\d+) files\): ([^;]*)", lambda m: code(m).replace("code file(s)", "input file(s)"),
                    reason)
    reason = re.sub(r"since ([0-9a-f]{7,}(?:-dirty)?)", r"since `\1`", reason)
    return re.sub(r"(?<![\w`])card ([^;,]+)", r"card `\1`", reason)


def _commit_line(rows: list, scope: str) -> str:
    commits = sorted({c for r in rows for c in r.commits if c})
    if not commits:
        return ""
    shown = ", ".join(f"`{c}`" for c in commits[:8]) + (f" and {len(commits) - 8} more" if len(commits) > 8 else "")
    return f"Numbers in {scope} come from commit(s) {shown}."


def banner_markdown(stage_rows: list, *, scope: str, by_task: bool = False, titles: dict | None = None) -> str:
    """Markdown of the status note of one page: commits, and a warning if any stage is not current.

    Parameters
    ----------
    stage_rows : list of grnbench.status.StageStatus
        The stages the page's numbers come from.
    scope : str
        What the page shows, for the sentences ("this page", "this book").
    by_task : bool
        Summarise the stages that are not current per task (the intro) instead of one line each.
    titles : dict, optional
        ``task id -> chapter title`` for the per-task summary.

    Returns
    -------
    str
        A MyST ``{warning}`` block that names the stages that are not current and what changed
        (``grnbench status`` has the full list), followed by the commits; or, when every stage is
        current, one italic line with the commits; empty without stages.
    """
    note = _commit_line(stage_rows, scope)
    bad = [r for r in stage_rows if r.state != "current"]
    if not bad:
        return f"*{note} Every stage they come from is current.*" if note else ""
    lines = ["```{warning}", f"**Not current.** {len(bad)} of the {len(stage_rows)} stages behind {scope} are not "
             f"current at this commit: some numbers here come from code, inputs or parameters that have changed "
             f"since they were computed (`grnbench status` lists every stage and what changed).", ""]
    if by_task:
        groups: dict = {}
        for r in stage_rows:
            groups.setdefault(r.task or "scoreboard", []).append(r)
        for task, rows in groups.items():
            title = (titles or {}).get(task) or task.replace("_", " ").capitalize()
            stale = [r for r in rows if r.state != "current"]
            if not stale:
                lines.append(f"- {title}: every stage current.")
                continue
            states = ", ".join(f"{sum(r.state == s for r in stale)} {s}" for s in ("stale", "partial", "missing")
                               if any(r.state == s for r in stale))
            lines.append(f"- {title}: {len(stale)} of {len(rows)} stages not current ({states}).")
    else:
        for r in bad[:12]:
            lines.append(f"- `{r.stage}`: **{r.state}**, {_short_reason(r.reason)}")
        if len(bad) > 12:
            lines.append(f"- and {len(bad) - 12} more")
    if note:
        lines += ["", note]
    lines.append("```")
    return "\n".join(lines)


def _insert_after_title(text: str, banner: str) -> str:
    head, _, rest = text.partition("\n")
    return head + "\n\n" + banner + "\n" + rest if head.startswith("# ") else banner + "\n\n" + text


def add_status_banners(book_dir: Path, rows: list, outputs: dict) -> None:
    """Insert status notes into the staged executed notebooks, chapter pages and intro of a book.

    Parameters
    ----------
    book_dir : pathlib.Path
        The staged book source (``<results_dir>/_book``).
    rows : list of grnbench.status.StageStatus
        :func:`grnbench.status.profile_status` of the profile, in stage order.
    outputs : dict
        ``stage id -> output`` (the executed notebook's path under ``notebooks/``, no suffix).

    Notes
    -----
    A notebook's numbers come from its own stage and the earlier stages of its task (a stage
    without a task, such as the scoreboard, from every earlier stage except the data summary);
    a chapter page ``book/<task>.md`` from every stage of its task; the intro from every stage.
    The note goes after the page's title.
    """
    import nbformat

    for k, row in enumerate(rows):
        path = book_dir / "notebooks" / f"{outputs[row.stage]}.ipynb"
        if not path.is_file():
            continue
        earlier = [r for r in rows[:k] if (row.task is None and r.stage != "data") or
                   (row.task is not None and r.task == row.task)]
        text = banner_markdown(earlier + [row], scope="this page")
        if not text:
            continue
        nb = nbformat.read(path, as_version=4)
        at = 1 if nb.cells and nb.cells[0].cell_type == "markdown" else 0
        nb.cells.insert(at, nbformat.v4.new_markdown_cell(text, metadata={"tags": ["status-banner"]}))
        if (nb.nbformat, nb.nbformat_minor) < (4, 5):  # cell ids exist from nbformat 4.5 on
            nb.cells[at].pop("id", None)
        nbformat.write(nb, path)
    titles = {}
    for task in dict.fromkeys(r.task for r in rows if r.task):
        page = book_dir / "book" / f"{task}.md"
        if not page.is_file():
            continue
        source = page.read_text()
        if source.startswith("# "):
            titles[task] = source.partition("\n")[0][2:].strip()
        text = banner_markdown([r for r in rows if r.task == task], scope="this chapter")
        if text:
            page.write_text(_insert_after_title(source, text))
    intro = book_dir / "book" / "intro.md"
    text = banner_markdown([r for r in rows if r.stage != "data"], scope="this book", by_task=True, titles=titles)
    if intro.is_file() and text:
        intro.write_text(_insert_after_title(intro.read_text(), text))
