"""`python -m distillate.train RECIPE --build DIR --workspace WS [--quiet] [TRL-style flags]`: the entry point
each process runs under `accelerate launch` (what `distillate train --num-processes N` starts):

    accelerate launch --num_processes 4 [--config_file ds_zero3.yaml] -m distillate.train recipe.yaml \
        --build builds/v1 --workspace ws --learning_rate 1e-5

RECIPE `-` means flags only. Process 0 writes run.json and records the run in the catalog."""

from __future__ import annotations

import sys

from distillate.errors import DistillateError
from distillate.log import console, setup


def main(argv: list[str]) -> int:
    setup("--debug" in argv)
    args = [a for a in argv if a != "--debug"]
    if not args or args[0].startswith("--"):
        console.print("usage: python -m distillate.train RECIPE --build DIR --workspace WS [--quiet] [flags]")
        return 2
    recipe, rest = args[0], args[1:]
    opts: dict[str, str | bool] = {}
    flags: list[str] = []
    i = 0
    while i < len(rest):
        a = rest[i]
        if a in ("--build", "--workspace"):
            if i + 1 >= len(rest):
                console.print(f"error: {a} needs a value")
                return 2
            opts[a], i = rest[i + 1], i + 2
            continue
        if a == "--quiet":
            opts[a] = True
        else:
            flags.append(a)
        i += 1
    if "--build" not in opts:
        console.print("error: --build DIR is required")
        return 2
    from distillate.curate import Workspace

    from .run import train

    try:
        train(Workspace.resolve(opts.get("--workspace")), opts["--build"], None if recipe == "-" else recipe, flags,
              show_progress=not opts.get("--quiet", False))
    except DistillateError as e:
        console.print(f"error: {e}", highlight=False, markup=False)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
