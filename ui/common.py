"""Streamlit helpers shared by the pages: the workspace, the snapshot reader, the browse filter kept in
session state (Trace's next/previous walk the same list), keyboard shortcuts."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

from distillate.curate.workspace import ENV_VAR, Workspace
from distillate.errors import DistillateError

from . import data

VIEWS = Path(__file__).parent / "views"
PAGES = {  # file -> (title, icon, url path)
    "overview": ("Overview", ":material/monitoring:", "overview"),
    "browse": ("Browse", ":material/table_rows:", "browse"),
    "trace": ("Trace", ":material/article:", "trace"),
    "builds": ("Builds", ":material/inventory_2:", "builds"),
    "evals": ("Evaluations", ":material/speed:", "evals"),
    "flags": ("Flags", ":material/flag:", "flags"),
}


def page_file(name: str) -> str:
    return str(VIEWS / f"{name}.py")


def workspace() -> Workspace:
    """`streamlit run app.py -- --workspace DIR`, else $DISTILLATE_WORKSPACE, else ./.distillate."""
    argv = sys.argv
    if "--workspace" in argv and argv.index("--workspace") + 1 < len(argv):
        return Workspace(argv[argv.index("--workspace") + 1])
    return Workspace.resolve(os.environ.get(ENV_VAR))


@contextmanager
def reader():
    """The latest snapshot, opened for this rerun only (a finished job shows at the next interaction).
    A workspace without a snapshot stops the page with a message instead of a traceback."""
    ws = workspace()
    try:
        cm = data.open_reader(ws)
        r = cm.__enter__()
    except DistillateError as e:
        st.warning(str(e))
        st.stop()
    try:
        yield r
    finally:
        cm.__exit__(None, None, None)


def snapshot_caption(r: data.Reader) -> None:
    pend = f" · {len(r.pending)} flag(s) pending (applied by the next job)" if r.pending else ""
    st.caption(f"workspace `{r.ws.root}` · snapshot `{r.snapshot}`{pend}")


# ---- the browse filter in session state ----------------------------------------------------------------

FILTER_KEYS = {  # session key -> BrowseFilter field
    "f_sources": "sources", "f_verdicts": "verdicts", "f_tok_min": "tok_min", "f_tok_max": "tok_max",
    "f_markers_min": "markers_min", "f_marker_kind": "marker_kind", "f_flag": "flag", "f_q": "q",
    "f_q_traces": "q_traces", "f_build_id": "build_id", "f_build_reason": "build_reason", "f_sort": "sort",
}
TRISTATE = ("truncated", "looping", "unsuitable", "not_correct", "duplicate", "contaminated")


def current_filter() -> data.BrowseFilter:
    s = st.session_state
    kw = {}
    for key, fld in FILTER_KEYS.items():
        v = s.get(key)
        if v not in (None, "", []):
            kw[fld] = int(v) if fld in ("tok_min", "tok_max", "markers_min") else v
    for fld in TRISTATE:
        v = s.get(f"f_{fld}")
        if v in ("yes", "no"):
            kw[fld] = v == "yes"
    if kw.get("marker_kind") == "(any)":
        kw.pop("marker_kind")
    return data.BrowseFilter(**kw)


def reset_filters(**preset) -> None:
    """Clear every browse filter, then set `preset` (session keys without the f_ prefix)."""
    for key in list(FILTER_KEYS) + [f"f_{t}" for t in TRISTATE]:
        st.session_state.pop(key, None)
    for k, v in preset.items():
        st.session_state[f"f_{k}"] = v
    st.session_state["browse_page"] = 0


@st.cache_data(max_entries=256, show_spinner=False)
def _cached_query(root: str, snapshot: str, name: str, params_json: str | None) -> list[dict]:
    import json

    with Workspace(root).reader() as cat:
        return cat.query(name, json.loads(params_json) if params_json is not None else None)


def cached_query(r: data.Reader, name: str, params: dict | None = None) -> list[dict]:
    """A named query over the whole catalog (funnel, histograms), cached per snapshot: a snapshot never
    changes, and on a million traces these aggregates take seconds."""
    import json

    return _cached_query(str(r.ws.root), r.snapshot, name,
                         None if params is None else json.dumps(params, sort_keys=True, default=str))


@st.cache_data(max_entries=256, show_spinner=False)
def _cached_browse(root: str, snapshot: str, pending: tuple, flt: data.BrowseFilter, offset: int, limit: int):
    with data.open_reader(Workspace(root)) as r:
        return data.browse(r, flt, offset, limit)


def browse_page(r: data.Reader, flt: data.BrowseFilter, offset: int, limit: int) -> tuple[list[dict], int]:
    """data.browse, cached per (snapshot, pending flags, filter, page): going back to Browse from a trace, or
    walking next/previous within a page, costs no query (a full scan on a million traces takes seconds)."""
    return _cached_browse(str(r.ws.root), r.snapshot, tuple(f["flag_id"] for f in r.pending), flt, offset, limit)


def trace_at(r: data.Reader, flt: data.BrowseFilter, pos: int, block: int = 50) -> str | None:
    """The trace at position `pos` of the Browse list, read from the cached block of `block` rows holding it."""
    if pos < 0:
        return None
    rows, _ = browse_page(r, flt, pos - pos % block, block)
    return rows[pos % block]["trace_id"] if pos % block < len(rows) else None


def open_trace(trace_id: str, pos: int | None = None) -> None:
    st.session_state["trace_id"] = trace_id
    st.session_state["trace_pos"] = pos
    st.session_state["section"] = 0
    st.switch_page(page_file("trace"), query_params={"id": trace_id})


# ---- keyboard shortcuts --------------------------------------------------------------------------------

def shortcuts(bindings: dict[str, str]) -> None:
    """Key -> button label. Streamlit has no hotkeys: a 1-pixel `st.iframe` of our own constant HTML (same
    origin as the app, so it may reach window.parent) puts one keydown listener on the parent document that clicks the first button whose text
    starts with the label. Keys typed into inputs are ignored; the listener replaces the previous one on
    each rerun, so it never fires twice."""
    import json

    js = """
<script>
const doc = window.parent.document;
const bindings = %s;
if (window.parent.__distillateKeys) doc.removeEventListener('keydown', window.parent.__distillateKeys);
window.parent.__distillateKeys = function (e) {
  const t = e.target, tag = (t && t.tagName || '').toLowerCase();
  if (tag === 'input' || tag === 'textarea' || tag === 'select' || (t && t.isContentEditable)) return;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const label = bindings[e.key];
  if (!label) return;
  for (const b of doc.querySelectorAll('button')) {
    if (b.innerText.trim().startsWith(label) && !b.disabled) { e.preventDefault(); b.click(); return; }
  }
};
doc.addEventListener('keydown', window.parent.__distillateKeys);
</script>""" % json.dumps(bindings)
    st.iframe(js, height=1)
