"""The curation core and Distillate's public Python API (the CLI, review app and tests use it).

    from distillate.curate import Workspace, ingest, curate
    ws = Workspace.resolve("my-ws")
    with ws.job("ingest") as (cat, job_id):
        ingest(cat, job_id, ["traces.jsonl"], source="teacher-a")
    curate(ws, "stats,verify")
"""

from .catalog import Catalog
from .flags import add_flag, export_flags, read_flags
from .ingest import IngestStats, ingest
from .pipeline import curate
from .workspace import Workspace

__all__ = ["Catalog", "Workspace", "ingest", "IngestStats", "curate", "add_flag", "read_flags", "export_flags"]
