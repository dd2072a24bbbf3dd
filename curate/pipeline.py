"""`distillate curate`: run curation stages over the catalog inside one job.

A stage is a module with `VERSION` and `run_stage(ctx) -> dict` (its counters); it reads what it needs
from the catalog, writes its side tables, and recomputes only rows whose version is missing or outdated.
Order matters: dedup's `verified_first` policy reads verdicts, builds read everything."""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from distillate.errors import DistillateError
from distillate.log import log

from .catalog import Catalog
from .workspace import Workspace

# stage name -> module implementing it, in run order
STAGES: dict[str, str] = {
    "stats": "distillate.curate.signals",
    "verify": "distillate.curate.verify",
    "dedup": "distillate.curate.dedup",
    "decontam": "distillate.curate.decontam",
}


@dataclass
class StageContext:
    ws: Workspace
    cat: Catalog
    job_id: str
    options: dict[str, Any] = field(default_factory=dict)   # CLI/API options; each stage reads its own
    show_progress: bool = True

    def opt(self, key: str, default: Any = None) -> Any:
        v = self.options.get(key)
        return default if v is None else v


def stage_module(name: str):
    if name not in STAGES:
        raise DistillateError(f"unknown stage {name!r}; stages: {', '.join(STAGES)}")
    return importlib.import_module(STAGES[name])


def parse_stages(spec: str | None) -> list[str]:
    if not spec:
        return list(STAGES)
    names = [s.strip() for s in spec.split(",") if s.strip()]
    for n in names:
        stage_module(n)  # validates the name
    return sorted(names, key=list(STAGES).index)


def run_stages(ctx: StageContext, stages: list[str]) -> dict[str, dict]:
    results: dict[str, dict] = {}
    for name in stages:
        mod = stage_module(name)
        t0 = time.time()
        ctx.cat.run("core/stage_run_start", {"job_id": ctx.job_id, "stage": name,
                                        "version": str(getattr(mod, "VERSION", ""))})
        counters = mod.run_stage(ctx) or {}
        counters["seconds"] = round(time.time() - t0, 3)
        ctx.cat.run("core/stage_run_finish", {"job_id": ctx.job_id, "stage": name,
                                         "counters": orjson.dumps(counters, default=str).decode()})
        log.info("stage %s: %s", name, ", ".join(f"{k}={v}" for k, v in counters.items()))
        results[name] = counters
    return results


def curate(ws: Workspace, stages: str | list[str] | None = None, show_progress: bool = True,
           **options: Any) -> dict[str, dict]:
    """Run the named stages (all by default) as one job. Returns each stage's counters."""
    names = parse_stages(stages) if not isinstance(stages, list) else parse_stages(",".join(stages))
    if not ws.exists():
        raise DistillateError(f"no catalog in {ws.root}: run `distillate ingest ...` first")
    with ws.job("curate", {"stages": names, **options}) as (cat, job_id):
        ctx = StageContext(ws, cat, job_id, options, show_progress)
        return run_stages(ctx, names)
