"""The papermill runner: order, resume (skip up-to-date stages), failures named by notebook and cell."""

import json
import textwrap

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grnbench.errors import StageFailedError, UnknownIdError
from grnbench.runner import export_notebooks, run_profile


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


def test_export_copies_in_stage_order_and_keeps_old_exports_when_one_is_missing(project):
    dest = project / "exported"
    dest.mkdir()
    (dest / "00_old.ipynb").write_text("{}")
    with pytest.raises(StageFailedError, match="stage 'a' has no executed notebook"):
        export_notebooks("p", dest)
    assert [p.name for p in dest.iterdir()] == ["00_old.ipynb"]  # nothing removed before the check
    run_profile("p", echo=lambda *_: None)
    written = export_notebooks("p", dest)
    assert [p.name for p in written] == ["00_a.ipynb", "01_b.ipynb"]
    assert sorted(p.name for p in dest.iterdir()) == ["00_a.ipynb", "01_b.ipynb"]


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


# ------------------------------------------------------------------ templates, id checks, fingerprints

STUDY_WITH_TEMPLATES = """
templates:
  fit:
    task: target_expression
    id: fit_{dataset}
    notebook: notebooks/a.ipynb
    output: fit_{dataset}
    parameters: {dataset: "{dataset}", models: [mean, ridge], value: 1}
    outputs: [a.txt]
profiles:
  p:
    stages:
      - {use: fit, foreach: [{dataset: pbmc68k_reduced}], parameters: {value: 2}}
  bad_model:
    stages:
      - {use: fit, foreach: [{dataset: pbmc68k_reduced}], parameters: {models: [mean, lembaz]}}
  bad_dataset:
    stages:
      - {use: fit, foreach: [{dataset: pbmc69k}]}
  bad_split:
    stages:
      - {use: fit, foreach: [{dataset: pbmc68k_reduced}], parameters: {splits: [random, leaky]}}
  bad_template:
    stages:
      - {use: nope}
"""


def test_templates_merge_parameters_and_ids_are_checked(project):
    from grnbench.runner import load_study, stages, validate_ids

    (project / "study.yaml").write_text(STUDY_WITH_TEMPLATES)
    study = load_study()
    [stage] = stages(study, "p")
    assert stage.id == "fit_pbmc68k_reduced" and stage.task == "target_expression"
    assert stage.parameters == {"dataset": "pbmc68k_reduced", "models": ["mean", "ridge"], "value": 2}
    validate_ids([stage])
    with pytest.raises(UnknownIdError, match=r"parameter 'models' names unknown model id\(s\) 'lembaz'; valid: .*ridge"):
        validate_ids(stages(study, "bad_model"))
    with pytest.raises(UnknownIdError, match=r"unknown dataset id\(s\) 'pbmc69k'; valid: .*pbmc68k_reduced"):
        validate_ids(stages(study, "bad_dataset"))
    with pytest.raises(UnknownIdError, match=r"unknown split id\(s\) 'leaky'; valid: random, ood, cv28"):
        validate_ids(stages(study, "bad_split"))
    with pytest.raises(UnknownIdError, match="unknown template 'nope'"):
        stages(study, "bad_template")


def test_the_project_study_file_is_valid():
    import os

    from grnbench.runner import load_study, stages, validate_ids
    from grnbench.study import validate_parameters

    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    study = load_study(root / "study.yaml")
    old = os.environ.pop("GRNBENCH_ROOT", None)
    try:
        for profile in ("embedded", "full", "smoke", "smoke_real"):
            validate_ids(stages(study, profile, root))
            validate_parameters(stages(study, profile, root))  # every parameter reaches its notebook
    finally:
        if old is not None:
            os.environ["GRNBENCH_ROOT"] = old


@pytest.fixture
def src_copy(tmp_path):
    """A copy of the project's source and notebooks, to edit without touching the checkout."""
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    shutil.copytree(root / "src" / "grnbench", tmp_path / "src" / "grnbench",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(root / "notebooks", tmp_path / "notebooks")
    return tmp_path


def _hashes(root, study_text):
    from grnbench.fingerprint import code_hash, stage_modules
    from grnbench.study import stages

    study = yaml_load(study_text)
    return {s.id: code_hash(stage_modules(s, root), root / "src") for s in stages(study, "p", root)}


def yaml_load(text):
    import yaml

    return yaml.safe_load(text)


FINGERPRINT_STUDY = """
profiles:
  p:
    stages:
      - {id: fit, task: target_expression, notebook: notebooks/target_expression/01_fit.ipynb, output: fit}
      - {id: report, task: target_expression, notebook: notebooks/target_expression/06_benchmark.ipynb, output: rep}
      - {id: ctm, task: cell_type_markers, notebook: notebooks/cell_type_markers/01_fit.ipynb, output: ctm}
"""


def test_fingerprint_covers_only_the_code_a_stage_depends_on(src_copy):
    from grnbench.fingerprint import stage_modules
    from grnbench.study import stages

    [fit, report, ctm] = stages(yaml_load(FINGERPRINT_STUDY), "p", src_copy)
    mods = stage_modules(fit, src_copy)
    assert "grnbench.engine" in mods and "grnbench.tasks.target_expression.models" in mods
    assert "grnbench.plotting" not in mods and not any("cell_type_markers" in m for m in mods)
    assert "grnbench.plotting" in stage_modules(report, src_copy)
    before = _hashes(src_copy, FINGERPRINT_STUDY)
    plotting = src_copy / "src" / "grnbench" / "plotting.py"
    text = plotting.read_text()
    # a docstring edit re-runs nothing
    plotting.write_text(text.replace('"""', '"""Edited docstring. ', 1))
    assert _hashes(src_copy, FINGERPRINT_STUDY) == before
    # a code edit in plotting re-runs the report that imports it, not the fits
    plotting.write_text(text + "\n\nEDITED = 1\n")
    after = _hashes(src_copy, FINGERPRINT_STUDY)
    assert after["report"] != before["report"] and after["fit"] == before["fit"] and after["ctm"] == before["ctm"]
    # a code edit in one task's models re-runs that task's stages only
    plotting.write_text(text)
    models = src_copy / "src" / "grnbench" / "tasks" / "cell_type_markers" / "models.py"
    models.write_text(models.read_text() + "\n\nEDITED = 1\n")
    after = _hashes(src_copy, FINGERPRINT_STUDY)
    assert after["ctm"] != before["ctm"] and after["fit"] == before["fit"]


def test_shared_book_pages_link_only_to_pages_every_book_has():
    """The runner drops the chapters of tasks a run did not execute (a user's data may run three of
    five tasks), and the book is built with warnings as errors: the pages every book keeps (intro,
    methods, ...) may link only to themselves, the data notebook and the scoreboard, which every
    profile runs."""
    import re

    import yaml

    from grnbench import paths
    from grnbench.tasks import TASKS

    root = paths.project_root()
    # the back matter's prose pages (speed, seed scale) sit in a part without notebooks, which no run prunes
    always = {"intro", "methods", "roadmap", "references", "speed", "seed_scale", "../notebooks/data",
              "../notebooks/scoreboard"}
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    back = [c["file"] for part in toc["parts"] if part.get("caption") == "Back matter" for c in part["chapters"]]
    assert {"book/speed", "book/seed_scale"} <= set(back)
    for page in sorted((root / "book").glob("*.md")):
        if page.stem in TASKS:
            continue
        for target in re.findall(r"\{doc\}`(?:[^`<]*<)?([^`>]+)>?`", page.read_text()):
            assert target in always, f"{page.name} links to {target!r}, which a run without that task lacks"
    study = yaml.safe_load((root / "study.yaml").read_text())
    for name, profile in study["profiles"].items():
        assert "scoreboard" in [s["use"] for s in profile["stages"]], f"profile {name} has no scoreboard stage"


def test_a_stage_depends_on_earlier_outputs_of_its_own_task_only(project, monkeypatch):
    monkeypatch.setenv("GRNBENCH_SCHEDULER", "inprocess")
    _notebook(project / "notebooks" / "c.ipynb", 'results_dir = "results/x"\nname = "c"',
              "from pathlib import Path\n(Path(results_dir) / 'c.txt').write_text('c')")
    (project / "study.yaml").write_text(textwrap.dedent("""
        profiles:
          p:
            stages:
              - {id: x, task: target_expression, notebook: notebooks/a.ipynb, output: x, parameters: {value: 1},
                 outputs: [a.txt]}
              - {id: y, task: cell_type_markers, notebook: notebooks/c.ipynb, output: y, outputs: [c.txt]}
              - {id: z, task: target_expression, notebook: notebooks/b.ipynb, output: z, outputs: [b.txt]}
              - {id: board, notebook: notebooks/c.ipynb, output: board, outputs: [c.txt]}
    """))
    run_profile("p", echo=lambda *_: None)
    study = (project / "study.yaml").read_text().replace("parameters: {value: 1}", "parameters: {value: 3}")
    (project / "study.yaml").write_text(study)
    report = run_profile("p", echo=lambda *_: None)
    # x's output changed: z (same task) and the task-less board re-run; y (another task) does not
    assert _statuses(report) == [("x", "ran"), ("y", "skipped"), ("z", "ran"), ("board", "ran")]
    assert (project / "results/p/b.txt").read_text() == "3+b"


def test_a_parameter_the_notebook_does_not_take_is_an_error():
    # papermill only warns and runs the notebook with its default (a silently ignored setting)
    from grnbench.errors import DataValidationError
    from grnbench.runner import load_study, stages
    from grnbench.study import validate_parameters

    root = __import__("pathlib").Path(__file__).resolve().parents[1]
    study = load_study(root / "study.yaml")
    [stage] = [s for s in stages(study, "smoke", root) if s.id == "ec_fit_pbmc68k_reduced"]
    validate_parameters([stage])
    stage.parameters["model_seed"] = {"genelink": [0]}
    with pytest.raises(DataValidationError, match=r"stage 'ec_fit_pbmc68k_reduced': parameter\(s\) 'model_seed' are "
                                                  r"not parameters of 02_fit\.ipynb \(it takes .*model_seeds"):
        validate_parameters([stage])
