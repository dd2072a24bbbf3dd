"""The review app (docs/ui.md): a multipage Streamlit app over a workspace's latest snapshot.

    distillate review [--port 8501] [--host 127.0.0.1]

`launch()` is what the command calls: it checks the workspace, then runs `streamlit run ui/app.py` with
the workspace passed in $DISTILLATE_WORKSPACE (and after `--` on the command line)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from distillate.errors import DistillateError, require
from distillate.log import log

APP = Path(__file__).parent / "app.py"


def streamlit_command(workspace: Path, *, host: str = "127.0.0.1", port: int = 8501, headless: bool = True) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(APP),
            "--server.address", host, "--server.port", str(port),
            "--server.headless", "true" if headless else "false",
            "--browser.gatherUsageStats", "false",
            "--client.toolbarMode", "minimal",            # no "Deploy" button: this is a local tool
            "--server.fileWatcherType", "none",          # an installed app: no reload on source edits
            "--", "--workspace", str(workspace)]


def launch(workspace, *, host: str = "127.0.0.1", port: int = 8501, open_browser: bool = False) -> int:
    """Run the app in the foreground until Ctrl-C; returns streamlit's exit code."""
    from distillate.curate.workspace import ENV_VAR, Workspace

    require("streamlit", "ui")
    ws = workspace if isinstance(workspace, Workspace) else Workspace.resolve(workspace)
    if ws.current_snapshot() is None:
        raise DistillateError(f"no catalog snapshot in {ws.root}: run `distillate ingest ...` (or `distillate "
                              "demo`) first, or point --workspace at an existing workspace")
    if not 0 < port < 65536:
        raise DistillateError(f"--port {port} is not a TCP port")
    env = dict(os.environ, **{ENV_VAR: str(ws.root)})
    log.info("review app for %s on http://%s:%d (Ctrl-C stops it)", ws.root, host, port)
    cmd = streamlit_command(ws.root, host=host, port=port, headless=not open_browser)
    if os.name == "posix":
        # streamlit replaces this process, so a SIGTERM to `distillate review` (a process manager, a test
        # fixture) stops the server instead of orphaning it
        os.execve(cmd[0], cmd, env)
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 0
