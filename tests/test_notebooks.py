"""The notebook templates and the committed nbval notebooks stay in step.

``tests/notebooks/`` (``make test``) holds the executed ``smoke`` profile and
``tests/notebooks_real/`` (``make test-real``) the ``smoke_real`` profile, both exported by
``grnbench run --export``. When a template changes, the committed copies must be refreshed
(``make smoke-notebooks`` / ``make smoke-real-notebooks``); these tests fail until they are.
"""

from pathlib import Path

import nbformat
import pytest

from grnbench.runner import load_study, stages

ROOT = Path(__file__).resolve().parents[1]
EXPORTS = {"smoke": ROOT / "tests" / "notebooks", "smoke_real": ROOT / "tests" / "notebooks_real"}


def _code(nb, skip_injected=True):
    return [c.source for c in nb.cells if c.cell_type == "code"
            and not (skip_injected and "injected-parameters" in c.metadata.get("tags", []))]


@pytest.fixture(scope="module")
def study():
    return load_study(ROOT / "study.yaml")


@pytest.mark.parametrize("template", sorted((ROOT / "notebooks").rglob("*.ipynb")), ids=lambda p: p.name)
def test_templates_have_one_parameters_cell_first_and_use_the_setup_helper(template):
    nb = nbformat.read(template, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", [])]
    assert tagged == [0]
    assert "from grnbench.notebook import setup" in code[1].source and "setup(" in code[1].source
    assert all(len(c.source.splitlines()) <= 25 for c in code), "long cells belong in src/grnbench"


@pytest.mark.parametrize("profile", list(EXPORTS))
def test_committed_notebooks_come_from_the_current_templates(study, profile):
    plan = stages(study, profile, ROOT)
    expected = {f"{k:02d}_{s.output.replace('/', '__')}.ipynb": s for k, s in enumerate(plan)}
    present = {p.name for p in EXPORTS[profile].glob("*.ipynb")}
    assert present == set(expected), f"refresh with `make {'smoke' if profile == 'smoke' else 'smoke-real'}-notebooks`"
    for name, stage in expected.items():
        executed = nbformat.read(EXPORTS[profile] / name, as_version=4)
        template = nbformat.read(stage.notebook, as_version=4)
        assert _code(executed) == _code(template, skip_injected=False), f"{name} is stale: re-export {profile}"


def test_notebook_numbers_follow_the_run_order(study):
    """Within each task folder, the full profile runs the templates in the order of their numbers."""
    order: dict[Path, list[int]] = {}
    for stage in stages(study, "full", ROOT):
        folder, number = stage.notebook.parent, int(stage.notebook.name.split("_")[0])
        order.setdefault(folder, [])
        if not order[folder] or order[folder][-1] != number:
            order[folder].append(number)
    for folder, numbers in order.items():
        assert numbers == sorted(numbers), f"{folder.name}: notebooks run in order {numbers}"
