"""`grnbench status`: current / stale (what changed) / partial (k of n units) / missing; banners in the book."""

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grnbench.book import add_status_banners, banner_markdown
from grnbench.cli import main
from grnbench.runner import run_profile
from grnbench.errors import GrnbenchError
from grnbench.status import (StageStatus, format_status, profile_status, replace_marked_block,
                             status_markdown)
from grnbench.units import UnitResult, UnitStore, record_stage_units

from test_runner import project  # noqa: F401  (the tiny two-stage project fixture)


def _states(rows):
    return [(r.stage, r.state) for r in rows]


def test_status_after_a_run_then_after_changes(project, monkeypatch, capsys):  # noqa: F811
    monkeypatch.setenv("GRNBENCH_SCHEDULER", "inprocess")
    assert _states(profile_status("p")) == [("a", "missing"), ("b", "missing")]
    run_profile("p", echo=lambda *_: None)
    rows = profile_status("p")
    assert _states(rows) == [("a", "current"), ("b", "current")]
    assert all(r.seconds and r.seconds > 0 for r in rows)
    assert main(["status", "--profile", "p"]) == 0
    assert "2 stages: 2 current" in capsys.readouterr().out

    study = (project / "study.yaml").read_text().replace("parameters: {value: 1}", "parameters: {value: 2}", 1)
    (project / "study.yaml").write_text(study)
    a, b = profile_status("p")
    assert a.state == "stale" and a.reason == "parameters"
    assert b.state == "stale" and "earlier stage(s) of its task not current: a" in b.reason

    (project / "notebooks" / "a.ipynb").write_text((project / "notebooks" / "a.ipynb").read_text().replace(
        "out.write_text", "out.write_text "))
    assert profile_status("p")[0].reason == "notebook template; parameters"
    (project / "results/p/a.txt").unlink()
    assert profile_status("p")[0].reason.startswith("output(s) missing: a.txt")
    assert main(["status", "--profile", "p"]) == 2


def test_partial_counts_the_units_of_the_last_run(project, monkeypatch):  # noqa: F811
    monkeypatch.setenv("GRNBENCH_RUN_ID", "run-1")
    units = project / "results/p/units"
    record_stage_units(units, "a", [("t/d/m", "k" * 64), ("t/d/m", "j" * 64)])
    UnitStore(units).put("k" * 64, "t/d/m", UnitResult([], None, 1.0, 0.0, 0, "{}"))
    a = profile_status("p")[0]
    assert (a.state, a.reason) == ("partial", "1 of 2 units")
    monkeypatch.setenv("GRNBENCH_RUN_ID", "run-2")  # a new run of the stage starts a new plan
    record_stage_units(units, "a", [("t/d/m", "k" * 64)])
    assert profile_status("p")[0].state == "missing"


def test_banners_name_stale_stages_and_commits(tmp_path):
    book = tmp_path / "_book"
    (book / "notebooks" / "t").mkdir(parents=True)
    (book / "book").mkdir()
    for name in ("fit", "bench", "other"):
        nb = new_notebook(cells=[new_markdown_cell("# Title"), new_code_cell("1")])
        nbformat.write(nb, book / "notebooks" / "t" / f"{name}.ipynb")
    (book / "book" / "intro.md").write_text("# grnbench\n\nThe answer.\n")
    (book / "book" / "task_a.md").write_text("# Task A chapter\n\nProse.\n")
    rows = [StageStatus("fit_x", "stale", "since abc123: code (1 files): engine.py", 60.0, ["abc123"], "task_a"),
            StageStatus("bench_a", "current", "", 5.0, ["def456"], "task_a"),
            StageStatus("other", "current", "", 5.0, ["def456"], "task_b")]
    add_status_banners(book, rows, {"fit_x": "t/fit", "bench_a": "t/bench", "other": "t/other"})
    bench = nbformat.read(book / "notebooks" / "t" / "bench.ipynb", as_version=4)
    assert bench.cells[0].source == "# Title"
    banner = bench.cells[1].source
    assert banner.startswith("```{warning}") and "`fit_x`: **stale**" in banner and "engine.py" in banner
    assert "`abc123`" in banner and "`def456`" in banner
    other = nbformat.read(book / "notebooks" / "t" / "other.ipynb", as_version=4).cells[1].source
    assert "warning" not in other and other.startswith("*Numbers in this page come from commit(s) `def456`")
    intro = (book / "book" / "intro.md").read_text()
    assert intro.startswith("# grnbench\n\n```{warning}") and "The answer." in intro
    assert "- Task A chapter: 1 of 2 stages not current (1 stale)." in intro
    assert "- Task b: every stage current." in intro
    chapter = (book / "book" / "task_a.md").read_text()
    assert chapter.startswith("# Task A chapter\n\n```{warning}") and "`fit_x`: **stale**" in chapter


def test_format_status_lists_every_stage_and_the_total():
    rows = [StageStatus("a", "current", "", 30.0, [], None), StageStatus("bb", "partial", "3 of 7 units", 5400.0, [],
                                                                           None)]
    text = format_status(rows)
    assert text.splitlines()[0].split() == ["a", "current", "30", "s"]
    assert "3 of 7 units" in text and "1.50 h" in text
    assert text.splitlines()[-1] == "2 stages: 1 current, 1 partial; last measured wall time in all 1.51 h"
    assert banner_markdown(rows[:1], scope="x") == ""


def test_status_markdown_groups_by_task_and_lists_every_stage():
    rows = [StageStatus("data", "current", "", 20.0, ["abc1234567890"], None),
            StageStatus("fit_x", "stale", "parameters", 3600.0, ["def4567890123", "def4567890123"], "task_x"),
            StageStatus("bench_x", "partial", "1 of 4 units", None, [], "task_x"),
            StageStatus("scoreboard", "missing", "", None, [], None)]
    md = status_markdown(rows, "full").splitlines()
    assert md[0] == ("`grnbench status --profile full`: 4 stages, 1 current, 1 stale, 1 partial, 1 missing; "
                     "last measured wall time in all 1.01 h.")
    # per task: stages, current, stale, partial, missing, summed wall time; stages without a task are "(shared)"
    assert "| (shared) | 2 | 1 | 0 | 0 | 1 | 20 s |" in md
    assert "| task_x | 2 | 0 | 1 | 1 | 0 | 1.00 h |" in md
    assert md.index("| (shared) | 2 | 1 | 0 | 0 | 1 | 20 s |") < md.index("<details><summary>Every stage</summary>")
    assert "| `fit_x` | stale | 1.00 h | `def4567890` |" in md  # a commit is named once
    assert "| `bench_x` | partial | - | - |" in md and md[-1] == "</details>"


def test_replace_marked_block_rewrites_only_the_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# T\n\n<!-- begin: status full -->\nold table\n<!-- end: status full -->\n\nafter\n")
    replace_marked_block(readme, "status full", "new table")
    assert readme.read_text() == "# T\n\n<!-- begin: status full -->\n\nnew table\n\n<!-- end: status full -->\n\nafter\n"
    with pytest.raises(GrnbenchError, match=r"README.md: the marker '<!-- begin: status smoke -->' must occur"):
        replace_marked_block(readme, "status smoke", "x")
    readme.write_text("<!-- end: status full -->\n<!-- begin: status full -->\n")
    with pytest.raises(GrnbenchError, match="comes before"):
        replace_marked_block(readme, "status full", "x")
    assert readme.read_text() == "<!-- end: status full -->\n<!-- begin: status full -->\n"  # untouched
    with pytest.raises(GrnbenchError, match="no such file"):
        replace_marked_block(tmp_path / "none.md", "status full", "x")


def test_status_write_puts_the_table_into_the_file(project, monkeypatch, capsys):  # noqa: F811
    monkeypatch.setenv("GRNBENCH_SCHEDULER", "inprocess")
    run_profile("p", echo=lambda *_: None)
    readme = project / "README.md"
    readme.write_text("intro\n<!-- begin: status p -->\n<!-- end: status p -->\n")
    assert main(["status", "--profile", "p", "--write", str(readme)]) == 0
    text = readme.read_text()
    assert "2 stages, 2 current" in text and "| `a` | current |" in text and "| `b` | current |" in text
    assert capsys.readouterr().out.splitlines()[-1].startswith("2 stages: 2 current")  # the plain table printed


def test_runner_progress_bar_counts_the_stage_units(tmp_path, monkeypatch, capsys):
    import time

    from grnbench.runner import _UnitProgress

    monkeypatch.setenv("GRNBENCH_RUN_ID", "run-9")
    units = tmp_path / "units"
    record_stage_units(units, "s", [("t/d/m", "k" * 64), ("t/d/m", "j" * 64), ("t/d/m", "i" * 64)])
    UnitStore(units).put("k" * 64, "t/d/m", UnitResult([], None, 1.0, 0.0, 0, "{}"))
    progress = _UnitProgress(units, "s", every=0.05)
    progress.active = True  # as on a terminal
    import threading

    progress.thread = threading.Thread(target=progress._poll, daemon=True)
    with progress:
        time.sleep(0.3)
        UnitStore(units).put("j" * 64, "t/d/m", UnitResult([], None, 40.0, 0.0, 0, "{}"))
        time.sleep(0.3)
    err = capsys.readouterr().err
    assert "s units" in err and "2/3" in err
