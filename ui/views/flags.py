"""Flags: the audit log (flags/flags.jsonl: who, when, what), newest first, with its JSONL export. Flags
written since the last job are marked pending: the next job mirrors them and the next build applies them."""

import orjson
import pandas as pd
import streamlit as st

from distillate.curate.flags import read_flags
from distillate.ui import common

st.title("Review flags")
with common.reader() as r:
    common.snapshot_caption(r)
    log = list(read_flags(r.ws))
    pending = {f["flag_id"] for f in r.pending}
    if not log:
        st.info("No flag yet: open a trace and flag it (label, reason, note, your name).")
        st.stop()
    c1, c2, c3 = st.columns(3)
    reviewers = sorted({f.get("reviewer") or "(anonymous)" for f in log})
    who = c1.multiselect("reviewer", reviewers, key="fl_who")
    labels = sorted({f["label"] for f in log})
    lab = c2.multiselect("label", labels, key="fl_label")
    rows = [f for f in reversed(log)
            if (not who or (f.get("reviewer") or "(anonymous)") in who) and (not lab or f["label"] in lab)]
    c3.metric("flags shown", f"{len(rows):,}", help=f"{len(log):,} in the log, {len(pending):,} pending")
    df = pd.DataFrame([{"when": f["created_at"][:19], "trace_id": f["trace_id"], "label": f["label"],
                        "reason": f.get("reason"), "note": f.get("note"), "reviewer": f.get("reviewer"),
                        "status": "pending" if f["flag_id"] in pending else "in snapshot"} for f in rows[:2000]])
    st.dataframe(df, hide_index=True, width="stretch")
    if len(rows) > 2000:
        st.caption("showing the newest 2,000; the export holds all")
    st.download_button("Export JSONL", b"".join(orjson.dumps(f) + b"\n" for f in log), file_name="flags.jsonl",
                       mime="application/jsonl", key="fl_export",
                       help="Every flag ever written, oldest first (same as `distillate flags export`).")
    pick = st.selectbox("Open the trace of", [f["trace_id"] for f in rows[:200]], key="fl_open_pick")
    if pick and st.button("Open", key="fl_open"):
        common.open_trace(pick)
