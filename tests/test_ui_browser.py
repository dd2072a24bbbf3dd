"""End to end in Debian's chromium (never a downloaded browser): `distillate review` on 127.0.0.1 over real
traces; open a long trace, flag it from the form and with a keyboard shortcut, flag again while an ingest job
holds the workspace, then `distillate build` applies the flags and the Trace page shows why."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from distillate.curate.flags import read_flags

from test_ui import ui_ws  # noqa: F401 - the shared workspace fixture (tests/ is on sys.path)

CHROMIUM = "/usr/bin/chromium"
EXE = Path(sys.executable).parent / "distillate"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="needs Debian chromium at /usr/bin/chromium")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(ui_ws, copy_ws):  # noqa: F811
    ws = copy_ws(ui_ws[0])
    port = _free_port()
    proc = subprocess.Popen([str(EXE), "review", "--port", str(port), "-w", str(ws.root)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(base + "/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("the review app did not start: " + (proc.stdout.read() if proc.stdout else ""))
    yield ws, base, proc
    proc.terminate()  # what a process manager sends: the server itself must stop, not leave an orphan
    proc.wait(timeout=20)
    with pytest.raises(OSError):
        urllib.request.urlopen(base + "/_stcore/health", timeout=2)


@pytest.fixture
def page(tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path=CHROMIUM,
                                                   headless=True, args=ARGS, viewport={"width": 1500, "height": 1000})
        yield ctx.new_page()
        ctx.close()


def _wait_rendered(page, timeout=60_000):
    page.get_by_text("rendered in", exact=False).wait_for(timeout=timeout)


def _flag(page, label: str, reason: str | None = None):
    form = page.locator('[data-testid="stForm"]')
    form.get_by_text(label, exact=True).click()
    if reason:
        form.locator('[data-testid="stSelectbox"]').click()
        page.get_by_role("option", name=reason).click()
    form.get_by_role("button", name="Flag this trace").click()


def _wait_flags(ws, n, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        flags = list(read_flags(ws))
        if len(flags) >= n:
            return flags
        time.sleep(0.3)
    raise AssertionError(f"expected {n} flags, got {list(read_flags(ws))}")


def test_review_flag_build_and_concurrent_job(server, page, tmp_path, shared_data):
    ws, base, _ = server
    with ws.reader() as cat:
        long_id = cat.con.execute("SELECT trace_id FROM trace_signals ORDER BY n_tokens DESC LIMIT 1").fetchone()[0]
        n_tok = cat.con.execute("SELECT n_tokens FROM trace_signals WHERE trace_id = ?", [long_id]).fetchone()[0]
    assert n_tok > 25_000

    # a 30k-token trace opens (timings are printed, not asserted: bench/ui_bench.py measures them)
    for attempt in ("cold", "warm"):
        t0 = time.time()
        page.goto(f"{base}/trace?id={long_id}")
        _wait_rendered(page)
        ms = page.get_by_text("rendered in").inner_text().split("rendered in")[1].strip()
        print(f"{attempt}: 30k-token trace ({n_tok} tokens) script {ms}, page ready in {time.time() - t0:.1f} s")
    page.get_by_role("textbox", name="reviewer").fill("alice")
    page.get_by_role("textbox", name="reviewer").press("Enter")
    _flag(page, "bad", "looping")
    flags = _wait_flags(ws, 1)
    assert flags[0]["trace_id"] == long_id and flags[0]["label"] == "bad" and flags[0]["reviewer"] == "alice"
    page.get_by_text("pending (next job mirrors it)").first.wait_for(timeout=30_000)

    # keyboard: j = next trace (first of the Browse list, as it was opened by id), g = flag it good
    page.locator("h1").first.click()
    page.keyboard.press("j")
    page.wait_for_url(lambda u: "id=" in u and long_id not in u, timeout=30_000)
    _wait_rendered(page)
    second = page.url.split("id=")[1].split("&")[0]
    page.locator("h1").first.click()
    page.keyboard.press("g")
    flags = _wait_flags(ws, 2)
    assert flags[1]["trace_id"] == second and flags[1]["label"] == "good"

    # while an ingest job holds the workspace (lock + catalog open for writing) the app serves and flags land
    holder = tmp_path / "hold.py"
    holder.write_text(textwrap.dedent(f"""
        import sys, time
        from distillate.curate import Workspace, ingest
        ws = Workspace({str(ws.root)!r})
        with ws.job("ingest") as (cat, job_id):
            ingest(cat, job_id, [{str(shared_data / 'traces' / 'qwen25math_cot8_rm_maj_100.jsonl')!r}],
                   source="late", show_progress=False)
            print("writing", flush=True)
            time.sleep(12)
    """))
    job = subprocess.Popen([sys.executable, str(holder)], stdout=subprocess.PIPE, text=True)
    try:
        assert job.stdout.readline().strip() == "writing"
        with ws.reader() as cat:
            third = cat.con.execute("SELECT trace_id FROM traces WHERE source = 'anchors' ORDER BY seq LIMIT 1 OFFSET 5").fetchone()[0]
        page.goto(f"{base}/trace?id={third}")
        _wait_rendered(page)
        _flag(page, "needs-fix")
        flags = _wait_flags(ws, 3)
        assert job.poll() is None, "the job ended before the flag was written: the test proves nothing"
        assert flags[2]["trace_id"] == third and flags[2]["label"] == "needs-fix"
        page.goto(f"{base}/browse")
        page.get_by_text("traces match").wait_for(timeout=30_000)
    finally:
        assert job.wait(timeout=60) == 0

    # the next build (a new job: it mirrors the log first) drops the flagged traces, and says so
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("name: e2e\nexclude: [flagged]\n")
    res = subprocess.run([str(EXE), "build", str(recipe), "--out", str(tmp_path / "out"), "-w", str(ws.root), "-q"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    dropped = {json.loads(x)["trace_id"]: x for x in open(tmp_path / "out" / "dropped.jsonl", encoding="utf-8")}
    assert long_id in dropped and third in dropped and second not in dropped  # 'good' is not flagged
    assert "flagged" in dropped[long_id]
    page.goto(f"{base}/trace?id={long_id}")
    _wait_rendered(page)
    page.get_by_text("applied to the snapshot").first.wait_for(timeout=30_000)
    page.get_by_role("tab", name="Builds").click()
    builds_tab = page.locator('[data-testid="stTable"]').filter(has_text="e2e")
    builds_tab.wait_for(timeout=30_000)
    assert "flagged" in builds_tab.inner_text()
