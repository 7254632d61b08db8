"""Layering: the registry is a leaf; cards use its public API; each runner module has one job."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "grnbench"


def _grnbench_imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("grnbench")):
            out.add(("." * node.level) + (node.module or ""))
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("grnbench")}
    return out


def test_registry_imports_nothing_above_it():
    assert _grnbench_imports(SRC / "registry.py") == {".errors"}


def test_cards_use_the_registry_public_api():
    text = (SRC / "data" / "cards.py").read_text()
    assert "_DATASETS" not in text and "_PRIORS" not in text and "add_dataset" in text


def test_runner_modules_each_do_one_job():
    defs = {name: {n.name for n in ast.parse((SRC / f"{name}.py").read_text()).body
                   if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
            for name in ("study", "fingerprint", "runner", "book", "status")}
    assert {"load_study", "stages", "validate_ids"} <= defs["study"]
    assert {"stage_components", "stage_modules", "code_hash"} <= defs["fingerprint"]
    assert {"run_profile", "export_notebooks"} <= defs["runner"]
    assert {"build_book", "add_status_banners"} <= defs["book"]
    assert "profile_status" in defs["status"]
    owners = {}
    for module, names in defs.items():
        for n in names:
            assert n not in owners, f"{n} is defined in both {owners[n]} and {module}"
            owners[n] = module


def test_book_pages_only_include_tables_that_exist():
    """Every ``:file:`` a book page includes (the speed page's benchmark tables) is committed."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    found = []
    for page in (root / "book").glob("*.md"):
        for rel in re.findall(r"^:file:\s*(\S+)", page.read_text(), flags=re.M):
            found.append(rel)
            assert (page.parent / rel).resolve().is_file(), f"{page.name} includes missing {rel}"
    assert "../benchmarks/results/speed.csv" in found
