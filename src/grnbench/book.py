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
    ``_toc.yml`` (without the parts this run has no notebooks for) and ``book/`` pages, plus the
    executed notebooks under ``notebooks/``. The notebooks are not re-executed
    (``execute_notebooks: 'off'``). Status banners are added to the staged copies
    (:func:`add_status_banners`).

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
    shutil.copytree(executed, stage_dir / "notebooks")
    shutil.copy2(root / "_config.yml", stage_dir / "_config.yml")
    from .status import profile_status

    add_status_banners(stage_dir, profile_status(profile, results_dir=results_dir, study_path=study_path),
                       _stage_outputs(profile, study_path))
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


def banner_markdown(stage_rows: list, *, scope: str) -> str:
    """Markdown of the status note of one page: commits, and a warning if any stage is not current.

    Parameters
    ----------
    stage_rows : list of grnbench.status.StageStatus
        The stages the page's numbers come from.
    scope : str
        What the page shows, for the sentence ("this chapter", "the answer below").

    Returns
    -------
    str
        A MyST ``{warning}`` block listing every stage that is not current and why, followed by
        the commits; or, when all are current, one italic line with the commits.
    """
    commits = sorted({c for r in stage_rows for c in r.commits if c})
    shown = ", ".join(f"`{c}`" for c in commits[:8]) + (f" and {len(commits) - 8} more" if len(commits) > 8 else "")
    note = f"Numbers in {scope} come from commit(s) {shown}." if commits else ""
    bad = [r for r in stage_rows if r.state != "current"]
    if not bad:
        return f"*{note} Every stage they come from is current.*" if note else ""
    lines = [f"```{{warning}}", f"**Not current.** {len(bad)} of the {len(stage_rows)} stage(s) behind {scope} "
             f"are not current at this commit, so some numbers below come from code, inputs or parameters "
             f"that have changed since (`grnbench status` lists them):", ""]
    for r in bad[:12]:
        reason = r.reason if len(r.reason) <= 220 else r.reason[:217] + "..."
        lines.append(f"- `{r.stage}`: **{r.state}** ({reason})")
    if len(bad) > 12:
        lines.append(f"- and {len(bad) - 12} more")
    if note:
        lines += ["", note]
    lines.append("```")
    return "\n".join(lines)


def add_status_banners(book_dir: Path, rows: list, outputs: dict) -> None:
    """Insert status notes into the staged executed notebooks and the intro page of a book.

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
    without a task, such as the scoreboard, from every earlier stage except the data summary).
    The note goes after the notebook's first (title) cell.
    """
    import nbformat

    order = [r.stage for r in rows]
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
    intro = book_dir / "book" / "intro.md"
    if intro.is_file() and order:
        text = banner_markdown([r for r in rows if r.stage != "data"], scope="this book")
        src = intro.read_text()
        head, _, rest = src.partition("\n")
        intro.write_text(head + "\n\n" + text + "\n" + rest if head.startswith("# ") else text + "\n\n" + src)
