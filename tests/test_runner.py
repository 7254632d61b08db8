"""The papermill runner: order, resume (skip up-to-date stages), failures named by notebook and cell."""

import json
import textwrap

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grnbench.errors import StageFailedError, UnknownIdError
from grnbench.runner import run_profile


def _notebook(path, params, body):
    cell = new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[new_markdown_cell("# Stage {{name}}"), cell, new_code_cell(body)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "notebooks").mkdir()
    _notebook(tmp_path / "notebooks" / "a.ipynb", 'results_dir = "results/x"\nname = "a"\nvalue = 1',
              "from pathlib import Path\nout = Path(results_dir) / 'a.txt'\nout.parent.mkdir(parents=True, exist_ok=True)\n"
              "out.write_text(str(value))")
    _notebook(tmp_path / "notebooks" / "b.ipynb", 'results_dir = "results/x"\nname = "b"',
              "from pathlib import Path\nv = (Path(results_dir) / 'a.txt').read_text()\n"
              "(Path(results_dir) / 'b.txt').write_text(v + '+b')")
    _notebook(tmp_path / "notebooks" / "fail.ipynb", 'results_dir = "results/x"\nname = "f"',
              "x = 1\nraise ValueError('gene FOO is missing')")
    study = textwrap.dedent("""
        profiles:
          p:
            stages:
              - {id: a, notebook: notebooks/a.ipynb, output: a, parameters: {value: 1}, outputs: [a.txt]}
              - {id: b, notebook: notebooks/b.ipynb, output: b, outputs: [b.txt]}
          broken:
            stages:
              - {id: a, notebook: notebooks/a.ipynb, output: a, outputs: [a.txt]}
              - {id: f, notebook: notebooks/fail.ipynb, output: sub/fail}
    """)
    (tmp_path / "study.yaml").write_text(study)
    monkeypatch.setenv("GRNBENCH_ROOT", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _statuses(report):
    return [(r["stage"], r["status"]) for r in report.rows]


def test_runs_in_order_then_resumes(project):
    first = run_profile("p", echo=lambda *_: None)
    assert _statuses(first) == [("a", "ran"), ("b", "ran")]
    assert (project / "results/p/b.txt").read_text() == "1+b"
    nb = nbformat.read(project / "results/p/notebooks/a.ipynb", as_version=4)
    assert nb.cells[0].source == "# Stage a"  # {{name}} rendered from the parameters
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    second = run_profile("p", echo=lambda *_: None)
    assert _statuses(second) == [("a", "skipped"), ("b", "skipped")]


def test_changed_parameters_rerun_the_stage_and_its_dependants(project):
    run_profile("p", echo=lambda *_: None)
    study = (project / "study.yaml").read_text().replace("parameters: {value: 1}", "parameters: {value: 2}", 1)
    (project / "study.yaml").write_text(study)
    report = run_profile("p", echo=lambda *_: None)
    assert _statuses(report) == [("a", "ran"), ("b", "ran")]  # b's input a.txt changed
    assert (project / "results/p/b.txt").read_text() == "2+b"


def test_missing_output_makes_a_stage_incomplete(project):
    run_profile("p", echo=lambda *_: None)
    (project / "results/p/b.txt").unlink()
    assert _statuses(run_profile("p", echo=lambda *_: None)) == [("a", "skipped"), ("b", "ran")]


def test_failing_notebook_stops_the_run_and_names_notebook_and_cell(project):
    with pytest.raises(StageFailedError) as err:
        run_profile("broken", echo=lambda *_: None)
    msg = str(err.value)
    assert "stage 'f' failed" in msg and "results/broken/notebooks/sub/fail.ipynb" in msg
    assert "cell" in msg and "ValueError: gene FOO is missing" in msg
    assert not (project / "results/broken/.stamps/f.json").exists()
    stamp = json.loads((project / "results/broken/.stamps/a.json").read_text())
    assert "fingerprint" in stamp


def test_unknown_profile_and_stage(project):
    with pytest.raises(UnknownIdError, match="unknown profile 'nope'; study.yaml defines: p, broken"):
        run_profile("nope", echo=lambda *_: None)
    with pytest.raises(UnknownIdError, match="unknown stage id"):
        run_profile("p", only=["zzz"], echo=lambda *_: None)
