"""Command line: ``grnbench run | book | data | list``.

Examples::

    grnbench run --profile embedded          # execute the notebooks, then build the book
    grnbench run --profile full --no-book    # the real-data study, notebooks only
    grnbench book --profile full             # rebuild the book from executed notebooks
    grnbench data --check                    # fetch and sha256-verify every data file
    grnbench list models
"""

from __future__ import annotations

import argparse
import sys

from .errors import GrnbenchError

__all__ = ["main"]


def _cmd_run(args) -> int:
    from .runner import build_book, run_profile

    report = run_profile(args.profile, force=args.force, only=args.only or None)
    ran = sum(r["status"] == "ran" for r in report.rows)
    seconds = sum(r["seconds"] for r in report.rows)
    print(f"profile {args.profile}: {ran} stage(s) ran, {len(report.rows) - ran} skipped, {seconds:.1f} s; "
          f"results in {report.results_dir}")
    if args.export:
        from .runner import export_notebooks

        written = export_notebooks(args.profile, args.export)
        print(f"copied {len(written)} executed notebooks to {args.export}")
    if not args.no_book:
        build_book(args.profile)
    return 0


def _cmd_book(args) -> int:
    from .runner import build_book

    build_book(args.profile, strict=not args.no_strict)
    return 0


def _sources():
    from .data.priors import PRIOR_SOURCES
    from .registry import dataset_ids, get_dataset

    for ds in dataset_ids():
        for src in get_dataset(ds).sources:
            yield ds, src
    for prior, src in PRIOR_SOURCES.items():
        yield prior, src


def _cmd_data(args) -> int:
    failed = 0
    for name, src in _sources():
        line = f"{name:18s} {src.relpath}\n{'':18s} {src.url}\n{'':18s} sha256 {src.sha256}"
        if args.check:
            try:
                path = src.fetch()
                line += f"\n{'':18s} OK {path}"
            except GrnbenchError as exc:
                failed += 1
                line += f"\n{'':18s} FAILED {exc}"
        print(line)
    return 1 if failed else 0


def _cmd_list(args) -> int:
    from . import registry
    from .data.priors import get_prior, prior_ids
    from .runner import load_study

    if args.what == "datasets":
        for ds in registry.dataset_ids():
            spec = registry.get_dataset(ds)
            print(f"{ds:18s} {'embedded' if spec.embedded else 'remote  '} {spec.description}")
    elif args.what == "priors":
        for p in prior_ids():
            spec = get_prior(p)
            print(f"{p:18s} {'embedded' if spec.embedded else 'remote  '} {spec.description}")
    elif args.what == "models":
        for task in registry.tasks():
            for m in registry.model_ids(task):
                spec = registry.get_model(m, task)
                kind = "baseline" if spec.is_baseline else "model   "
                print(f"{task:18s} {m:14s} {kind} {spec.description}")
    elif args.what == "metrics":
        for task in registry.tasks():
            for m in registry.metric_ids(task):
                spec = registry.get_metric(m, task)
                print(f"{task:18s} {m:12s} {'max' if spec.maximize else 'min'} {spec.description}")
    elif args.what == "profiles":
        for name, prof in load_study()["profiles"].items():
            print(f"{name:10s} {prof.get('description', '')}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``grnbench`` console script; returns the exit code."""
    parser = argparse.ArgumentParser(prog="grnbench", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run", help="execute a profile's notebooks with papermill, then build its book")
    p.add_argument("--profile", default="embedded")
    p.add_argument("--force", action="store_true", help="re-run stages that are up to date")
    p.add_argument("--only", nargs="*", help="run only these stage ids")
    p.add_argument("--no-book", action="store_true", help="do not build the book")
    p.add_argument("--export", metavar="DIR", help="copy the executed notebooks to DIR in stage order (nbval)")
    p.set_defaults(func=_cmd_run)
    p = sub.add_parser("book", help="build the Jupyter Book from a profile's executed notebooks")
    p.add_argument("--profile", default="embedded")
    p.add_argument("--no-strict", action="store_true", help="do not turn Sphinx warnings into errors")
    p.set_defaults(func=_cmd_book)
    p = sub.add_parser("data", help="list data sources (public URL, sha256); --check fetches and verifies them")
    p.add_argument("--check", action="store_true")
    p.set_defaults(func=_cmd_data)
    p = sub.add_parser("list", help="list registered datasets, priors, models, metrics or profiles")
    p.add_argument("what", choices=["datasets", "priors", "models", "metrics", "profiles"])
    p.set_defaults(func=_cmd_list)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except GrnbenchError as exc:
        print(f"grnbench: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
