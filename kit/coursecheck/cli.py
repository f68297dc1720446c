"""python -m coursecheck check TOPIC... : the public checks on your own code.

Exit status: 0 when the checks ran (whatever they found), 1 for an error of the
checker itself, 2 for a usage error (no assignments/ folder, an unknown name).
"""
from __future__ import annotations

import argparse
import sys


def _devices(value: str) -> tuple[str, ...]:
    if value == "all":
        return ("cpu", "cuda")
    if value in ("cpu", "cuda"):
        return (value,)
    raise argparse.ArgumentTypeError("expected cpu, cuda or all")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m coursecheck", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="run the public checks on your assignments/ folder")
    c.add_argument("topic", nargs="*", help="one or more of: autograd, optimizers, normalization, "
                   "dropout, residual, ensembles, capstone (default: all)")
    c.add_argument("--root", help="the folder that holds assignments/ (default: found from here up)")
    c.add_argument("--only", action="append", metavar="CHECK",
                   help="run only this check (its name, as in the feedback; repeatable)")
    c.add_argument("--device", type=_devices, default=("cpu", "cuda"), help="cpu, cuda or all (default)")
    c.add_argument("--seed", type=int, help="base seed for every check's inputs (the feedback says which)")
    c.add_argument("--lang", choices=("en", "ru"),
                   help="the feedback's language (default: the kit's; ru: по-русски)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for stream in (sys.stdout, sys.stderr):     # a Windows console may not encode every character
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    from .runner import UsageError, run_and_print
    try:
        run_and_print(args.topic, root=args.root, only=args.only or [], device=args.device,
                      seed=args.seed, lang=args.lang)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    return 0
