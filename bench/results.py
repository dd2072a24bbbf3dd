"""One writer for benchmark result files: bench/results/NAME.json (issue 19).

Every bench script ends with `write_result(NAME, figures=..., baselines=..., workload=...)`. The file records
the figures, the baselines measured in the same run, the workload in words, the command line, the commit,
the machine (cores, memory) and the date, so that the README table (bench/table.py) is generated, never typed.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _commit() -> str | None:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=RESULTS.parent, check=True).stdout.strip()
        # the result files themselves do not make the code dirty (`make bench` rewrites them one by one)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)bench/results", ":(exclude)README.md"], capture_output=True,
                               text=True, cwd=RESULTS.parent.parent).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def machine() -> dict:
    mem = None
    try:
        mem = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    try:  # other work on the machine while the bench ran (figures of a loaded machine are slower)
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {"cores": os.cpu_count(), "memory_gib": mem, "python": platform.python_version(),
            "platform": platform.platform(), "load_avg_1_5_15m": load}


def write_result(name: str, *, figures: dict, baselines: dict | None = None, workload: str = "",
                 notes: str = "", path: Path | None = None) -> Path:
    """Write bench/results/NAME.json (or `path`) and return its path. $BENCH_NOTE (e.g. "machine shared with
    other jobs"), when set, is appended to the notes: `make bench BENCH_NOTE=...`."""
    parts = [x.strip() for x in (notes, os.environ.get("BENCH_NOTE", "")) if x and x.strip()]
    notes = " ".join(x if x[-1] in ".!?" else x + "." for x in parts)
    rec = {"name": name, "figures": figures, "baselines": baselines or {}, "workload": workload, "notes": notes,
           "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]), "commit": _commit(),
           "machine": machine(), "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    out = path or RESULTS / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(rec, indent=1, default=str) + "\n")
    os.replace(tmp, out)
    return out
