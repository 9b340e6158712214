"""The ``dmft`` command line: a thin layer over ``dmft.api``.

Exit status: 0 success; 1 the run finished but diverged, did not converge, or (validate) the
theory disagrees with the simulation; 2 bad input (nothing is computed, no file is written).
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

from . import api
from .config import read_config
from .model import ParameterError
from .registry import get_model
from .store import StoreError

EPILOG = "Parameters are given as key=value (see `dmft params MODEL`)."


class UsageError(Exception):
    """Bad command-line input: reported in one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer (got {text!r})")
    return value


def _key_values(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"expected key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _writable_output(path: str, force: bool) -> Path:
    out = Path(path)
    if out.is_dir():
        raise UsageError(f"output {out} is a directory")
    if out.exists() and not force:
        raise UsageError(f"output {out} exists (use --force to overwrite)")
    if not out.parent.is_dir():
        raise UsageError(f"cannot write {out}: directory {out.parent} does not exist")
    return out


def _status(result) -> int:
    """Report a diverged / unconverged run on stderr; its exit status."""
    if result.solver.get("status", "ok") != "ok":
        print(f"dmft: warning: {result.solver['status']}", file=sys.stderr)
        return 1
    return 0


# ---------------------------------------------------------------- verbs

def cmd_models(args) -> int:
    for name in api.models():
        print(f"{name:24s} {get_model(name).summary}")
    return 0


def cmd_params(args) -> int:
    m = get_model(args.model)
    print(f"{m.name}: {m.summary}")
    if m.reference:
        print(f"reference: {m.reference}")
    print(f"{'name':10s} {'type':6s} {'default':>10s}  {'allowed':16s} meaning")
    for p in m.parameters:
        print(f"{p.name:10s} {p.type.__name__:6s} {p.default!s:>10s}  {p.allowed():16s} {p.meaning}")
    print("observables: " + ", ".join(m.observables))
    if m.order_parameters:
        print("order parameters: " + ", ".join(m.order_parameters))
    return 0


def cmd_solve(args) -> int:
    if args.checkpoint_every < 0:
        raise UsageError(f"--checkpoint-every must be >= 0 seconds (got {args.checkpoint_every:g})")
    given = _key_values(args.params)
    api.check_params(args.model, args.config, **given)
    out = _writable_output(args.output, args.force)
    checkpoint = out.with_name(out.name + ".ckpt")
    result = api.solve(args.model, args.config, progress=not args.quiet, checkpoint=checkpoint,
                       checkpoint_every=args.checkpoint_every, resume=args.resume,
                       command=args.command, **given)
    result.save(out, force=True)
    for path in [checkpoint, *checkpoint.parent.glob(checkpoint.name + ".*")]:  # and its stages'
        path.unlink(missing_ok=True)  # the result is safely written
    return _status(result)


def cmd_simulate(args) -> int:
    given = _key_values(args.params)
    out = _writable_output(args.output, args.force)
    result = api.simulate(args.model, args.config, progress=not args.quiet, command=args.command, **given)
    result.save(out, force=True)
    return _status(result)


def cmd_show(args) -> int:
    print(api.show(args.file, times=args.times))
    return 0


def cmd_plot(args) -> int:
    from matplotlib.backend_bases import FigureCanvasBase
    out = _writable_output(args.output, force=True)
    formats = FigureCanvasBase.get_supported_filetypes()
    if out.suffix.lstrip(".").lower() not in formats:
        raise UsageError(f"cannot plot to {out}: use one of the extensions {', '.join(sorted(formats))}")
    if Path(args.file).is_dir():
        from .plotting import plot_sweep
        from .sweeps import read_sweep
        if not (args.x and args.y):
            raise UsageError("plotting a sweep directory needs --x PARAMETER and --y COLUMN")
        plot_sweep(*read_sweep(args.file), args.x, args.y, out, logx=args.logx)
    else:
        api.plot(api.load(args.file), out, logt=args.logt)
    print(f"wrote {out}")
    return 0


def cmd_validate(args) -> int:
    given = _key_values(args.params)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        raise UsageError(f"--sizes must be comma-separated integers (got {args.sizes!r})") from None
    api.check_params(args.model, args.config, **given)
    report = Path(args.report) if args.report else None
    if report is not None and report.exists() and not report.is_dir():
        raise UsageError(f"--report {report} exists and is not a directory")
    v = api.validate(args.model, args.config, sizes=sizes, seeds=args.seeds, seed=args.seed,
                     report=report, threshold=args.threshold, progress=not args.quiet, **given)
    summary = v.summary
    limits = sorted({round(row["limit"], 2) for o in summary["observables"].values() for row in o["by_size"].values()})
    print(f"{args.model}: {'PASS' if v.passed else 'FAIL'} (|z| allowed {limits[0]:g}..{limits[-1]:g}: "
          f"threshold {v.threshold:g} calibrated for {summary['seeds']} seeds; sizes {v.sizes})")
    for name, row in summary["observables"].items():
        by = " ".join(f"d={d}:{s['max_abs_z']:.2f}" for d, s in row["by_size"].items())
        slope, resolution = row["finite_size_slope"], row["relative_resolution"]
        print(f"  {name:14s} max|z| {row['max_abs_z']:6.2f}  {'pass' if row['passed'] else 'FAIL'}  [{by}]"
              + (f"  slope {slope:+.2f}" if slope is not None else "")
              + (f"  resolution {100 * resolution:.2g}%" if resolution is not None else ""))
    if report is not None:
        print(f"report: {report / 'report.html'}")
    if args.json:
        print(json.dumps(summary, indent=2, default=float))
    return 0 if v.passed else 1


def cmd_sweep(args) -> int:
    import logging
    from .sweeps import parse_grid, sweep      # sweep() checks every point before any work
    logging.getLogger("distributed").setLevel(logging.WARNING)   # dask's INFO chatter is noise here
    fixed = _key_values(args.params)
    grids = dict(parse_grid(spec) for spec in args.grid)
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise UsageError(f"output {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (args.resume or args.force):
        raise UsageError(f"output directory {out} is not empty (use --resume to continue a sweep, "
                         f"--force to write into it)")
    options = {}
    if args.task == "validate":
        try:
            options = {"sizes": [int(s) for s in args.sizes.split(",")], "seeds": args.seeds}
        except ValueError:
            raise UsageError(f"--sizes must be comma-separated integers (got {args.sizes!r})") from None
    rows = sweep(args.model, out, grids, fixed=fixed, task=args.task, config=args.config,
                 workers=args.workers, scheduler=args.scheduler, resume=args.resume,
                 progress=not args.quiet, options=options, command=args.command)
    keys = list(grids)
    shown = [k for k in rows[0] if k.endswith("_final")][:3] if rows else []
    print("  ".join([f"{k:>10s}" for k in keys] + [f"{'status':>10s}", f"{'time':>7s}"] + [f"{k:>16s}" for k in shown]))
    for row in rows:
        cells = [f"{row.get(k)!s:>10.10s}" for k in keys] + [f"{str(row.get('status'))[:10]:>10s}",
                 f"{row.get('wall_time', 0.0):7.2f}"]
        cells += [f"{row[k]:16.6g}" if isinstance(row.get(k), float) else f"{'':>16s}" for k in shown]
        print("  ".join(cells))
    failed = sum(str(r.get("status", "")).startswith("failed") for r in rows)
    print(f"{len(rows)} points, {failed} failed; index: {out / 'index.csv'}")
    return 1 if failed else 0


def cmd_tools(args) -> int:
    m = get_model(args.model)
    if not m.tools:
        print(f"{m.name} has no tools")
    for t in m.tools.values():
        print(f"{t.name:20s} {t.summary}")
        for p in t.parameters:
            print(f"    {p.name:16s} {p.type.__name__:6s} {p.default!s:>12s}  {p.allowed():12s} {p.meaning}")
    return 0


def cmd_tool(args) -> int:
    given = _key_values(args.params)
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise UsageError(f"output {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not args.force:
        raise UsageError(f"output directory {out} is not empty (use --force to write into it)")
    for path in api.tool(args.model, args.name, out, args.config, command=args.command, **given):
        print(f"wrote {path}")
    return 0


def _model_from_config(args) -> None:
    """``dmft solve --config X.toml [key=value ...]``: without a model name (the first positional is
    absent or a key=value) the model is the config's ``model = "..."``."""
    if args.model is not None and "=" not in args.model:
        return
    if args.model is not None:
        args.params.insert(0, args.model)
    model = read_config(args.config)[0] if args.config else None
    if model is None:
        raise UsageError("give a model name (see `dmft models`) or a --config whose TOML sets model = \"...\"")
    args.model = model


# ---------------------------------------------------------------- parser

def _add_model_args(p):
    p.add_argument("model", nargs="?", help="model name (see `dmft models`; may be left to --config's model = ...)")
    p.add_argument("params", nargs="*", metavar="key=value", help="model parameters")
    p.add_argument("--config", metavar="FILE.toml", help="TOML file with parameters")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dmft", description="DMFT of learning dynamics: solve, simulate, validate.",
                     epilog=EPILOG)
    parser.add_argument("--version", action="version", version=f"dmft {api.__version__}")
    sub = parser.add_subparsers(dest="verb", required=True, parser_class=_Parser)

    p = sub.add_parser("models", help="list installed models")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("params", help="parameters of a model")
    p.add_argument("model")
    p.set_defaults(func=cmd_params)

    p = sub.add_parser("solve", help="solve the DMFT and write an HDF5 trajectory", epilog=EPILOG)
    _add_model_args(p)
    p.add_argument("-o", "--output", required=True, metavar="OUT.h5")
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    p.add_argument("--resume", action="store_true", help="continue from OUT.h5.ckpt if it exists")
    p.add_argument("--checkpoint-every", type=float, default=60.0, metavar="SECONDS",
                   help="checkpoint interval (default 60 s; 0 = every row)")
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("simulate", help="simulate the finite system (key=value incl. d=, seeds=, seed=)",
                       epilog=EPILOG)
    _add_model_args(p)
    p.add_argument("-o", "--output", required=True, metavar="SIM.h5")
    p.add_argument("--force", action="store_true", help="overwrite an existing output")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("show", help="summarise a trajectory file")
    p.add_argument("file")
    p.add_argument("--times", type=_positive_int, default=6, help="number of times to print (default 6)")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("plot", help="plot a trajectory file")
    p.add_argument("file")
    p.add_argument("-o", "--output", required=True, metavar="FIG.png")
    p.add_argument("--logt", action="store_true", help="logarithmic time axis")
    p.add_argument("--x", help="sweep directory: parameter on the horizontal axis")
    p.add_argument("--y", help="sweep directory: index column to plot (e.g. test_error_final)")
    p.add_argument("--logx", action="store_true", help="sweep directory: logarithmic x axis")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("sweep", help="a grid of solves (or simulate/validate) on dask.distributed",
                       epilog="Grids: --grid key=v1,v2,... or --grid key=start:stop:num[:log]. " + EPILOG)
    _add_model_args(p)
    p.add_argument("--grid", action="append", default=[], metavar="KEY=VALUES", help="a swept parameter")
    p.add_argument("-o", "--output", required=True, metavar="DIR")
    p.add_argument("--task", default="solve", choices=("solve", "simulate", "validate"))
    p.add_argument("--workers", type=_positive_int, help="local dask workers (default: one per core)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on an existing dask cluster (tcp://host:port)")
    p.add_argument("--resume", action="store_true", help="skip points whose file exists")
    p.add_argument("--force", action="store_true", help="write into a non-empty directory")
    p.add_argument("--sizes", default="250,500,1000", help="task=validate: sizes d")
    p.add_argument("--seeds", type=int, default=8, help="task=validate: realisations per size")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("tools", help="model-specific tools (phase diagrams, fits) and their parameters")
    p.add_argument("model")
    p.set_defaults(func=cmd_tools)

    p = sub.add_parser("tool", help="run a model-specific tool, writing into a directory", epilog=EPILOG)
    p.add_argument("model", help="model name")
    p.add_argument("name", help="tool name (see `dmft tools MODEL`)")
    p.add_argument("params", nargs="*", metavar="key=value", help="tool parameters")
    p.add_argument("--config", metavar="FILE.toml", help="TOML file with parameters")
    p.add_argument("-o", "--output", required=True, metavar="DIR")
    p.add_argument("--force", action="store_true", help="write into a non-empty directory")
    p.set_defaults(func=cmd_tool)

    p = sub.add_parser("validate", help="compare theory with finite-size simulations", epilog=EPILOG)
    _add_model_args(p)
    p.add_argument("--sizes", default="250,500,1000", help="comma-separated sizes d (default 250,500,1000)")
    p.add_argument("--seeds", type=int, default=16, help="realisations per size (default 16)")
    p.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    p.add_argument("--threshold", type=float, default=4.0,
                   help="normal-equivalent |z| allowed (default 4; Student-t calibrated for the seeds)")
    p.add_argument("--report", metavar="DIR", help="write DIR/report.html and DIR/summary.json")
    p.add_argument("--json", action="store_true", help="also print summary.json")
    p.set_defaults(func=cmd_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(argv)
        if hasattr(args, "params") and hasattr(args, "config") and args.verb != "tool":
            _model_from_config(args)
        args.command = "dmft " + shlex.join(argv)
        return args.func(args)
    except (UsageError, ParameterError, StoreError, FileNotFoundError, FileExistsError) as exc:
        print(f"dmft: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dmft: interrupted; a solve can continue with --resume", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
