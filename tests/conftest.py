"""Shared fixtures. Real data is read in place from ../shared/data (see its MANIFEST.md), never copied.

Strict mode (CI=true or DISTILLATE_STRICT=1; .ci/run sets both): a test or test module skipped because a
module, an extra, the browser or the shared data is missing FAILS instead, so a broken install cannot pass
as a row of skips. Skips for other reasons (a GPU, a model revision, vllm being installed) stay skips."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# skip reasons that mean "something that `make test` installs is missing"
BROKEN_INSTALL = re.compile(r"could not import|no module named|not installed|importorskip|needs debian chromium|"
                            r"chromium|playwright|shared/data not found|extra `?\w+`? missing", re.I)


def strict() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes") or os.environ.get("DISTILLATE_STRICT") == "1"


def _skip_reason(rep) -> str:
    lr = rep.longrepr
    if isinstance(lr, tuple) and len(lr) == 3:
        return str(lr[2])
    return str(lr)


def _fail_broken_skip(rep) -> None:
    if rep.skipped and not hasattr(rep, "wasxfail") and strict():
        reason = _skip_reason(rep)
        if BROKEN_INSTALL.search(reason):
            rep.outcome = "failed"
            rep.longrepr = (f"strict mode (CI / DISTILLATE_STRICT=1): this skip hides a broken install: {reason}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _fail_broken_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield  # a module-level importorskip skips the whole module at collection
    _fail_broken_skip(outcome.get_result())


def _find_shared() -> Path | None:
    env = os.environ.get("DISTILLATE_SHARED_DATA")
    cands = [Path(env)] if env else []
    cands += [REPO.parent / "shared" / "data", Path("/work/shared/data")]
    for c in cands:
        if (c / "MANIFEST.md").exists():
            return c
    return None


SHARED = _find_shared()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if SHARED is None:
        pytest.skip("../shared/data not found (set DISTILLATE_SHARED_DATA)")
    return SHARED


@pytest.fixture(scope="session")
def qwen_tokenizer_path(shared_data) -> Path:
    return shared_data / "tokenizers" / "qwen3"


@pytest.fixture
def ws(tmp_path, monkeypatch):
    """A fresh, empty workspace."""
    from distillate.curate import Workspace

    monkeypatch.delenv("DISTILLATE_WORKSPACE", raising=False)
    return Workspace(tmp_path / "ws")


@pytest.fixture
def ingest_files(ws):
    """ingest_files(paths, source, fmt='auto') -> IngestStats, as one job."""
    from distillate.curate import ingest

    def _ingest(paths, source, fmt="auto"):
        with ws.job("ingest") as (cat, job_id):
            return ingest(cat, job_id, [str(p) for p in paths], source=source, fmt=fmt, show_progress=False)

    return _ingest


@pytest.fixture(scope="session")
def real_ws(tmp_path_factory, shared_data):
    """A workspace with every real trace file and the benchmark files ingested (built once per session).
    Tests must not write to it: copy it (`copy_ws`) when they need to run a stage."""
    from distillate.curate import Workspace, ingest

    ws = Workspace(tmp_path_factory.mktemp("real") / "ws")
    with ws.job("ingest") as (cat, job_id):
        ingest(cat, job_id, sorted(str(p) for p in (shared_data / "traces").glob("*.jsonl")),
               source="real-traces", show_progress=False)
    return ws


@pytest.fixture
def copy_ws(tmp_path):
    """copy_ws(ws) -> a private copy of a workspace that a test may write to."""
    import shutil

    from distillate.curate import Workspace

    def _copy(src):
        dst = tmp_path / f"copy-{len(list(tmp_path.iterdir()))}"
        shutil.copytree(src.root, dst, ignore=shutil.ignore_patterns("job.lock"))
        return Workspace(dst)

    return _copy
