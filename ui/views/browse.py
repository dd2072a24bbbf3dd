"""Browse: a filtered, paged table of traces computed by DuckDB (ui/browse.sql): only one page of rows ever
leaves the database, so it stays fast with a million traces. Filters live in session state (they persist
across pages, and Trace's next/previous walk the same list)."""

import pandas as pd
import streamlit as st

from distillate.curate.flags import LABELS
from distillate.ui import common, data

P = "session"  # persist_state: filters survive a visit to another page

st.title("Browse traces")
with common.reader() as r:
    common.snapshot_caption(r)
    srcs = data.sources(r)
    kinds = sorted(r.cat.con.execute("SELECT DISTINCT kind FROM trace_markers").fetchall()) \
        if r.has("trace_markers") else []
    verdict_opts = ["correct", "incorrect", "no_answer", "no_reference", "gold_unparseable", "pred_unparseable",
                    "timeout", "error", "(none)"]
    with st.sidebar:
        st.header("Filters")
        if st.button("Reset filters", key="f_reset"):
            common.reset_filters()
            st.rerun()
        st.text_input("Text search (problem)", key="f_q", persist_state=P,
                      help="Case-insensitive substring; % and _ are literal. Sent as a SQL parameter.")
        st.checkbox("also search thoughts and solutions (slower)", key="f_q_traces", persist_state=P)
        st.multiselect("Source", srcs, key="f_sources", persist_state=P)
        st.multiselect("Verdict", verdict_opts, key="f_verdicts", persist_state=P,
                       help="(none): not verified yet")
        c1, c2 = st.columns(2)
        c1.number_input("tokens ≥", min_value=0, step=1000, value=None, key="f_tok_min", persist_state=P)
        c2.number_input("tokens ≤", min_value=0, step=1000, value=None, key="f_tok_max", persist_state=P)
        st.number_input("markers ≥", min_value=0, step=5, value=None, key="f_markers_min", persist_state=P)
        if kinds:
            st.selectbox("marker kind present", ["(any)"] + [k[0] for k in kinds], key="f_marker_kind",
                         persist_state=P)
        for fld, label in (("truncated", "truncated"), ("looping", "looping"), ("unsuitable", "unsuitable problem"),
                           ("not_correct", "verdict not correct"), ("duplicate", "duplicate (not the kept copy)"),
                           ("contaminated", "contaminated")):
            st.segmented_control(label, ("yes", "no"), key=f"f_{fld}", persist_state=P,
                                 help="none selected: any")
        labels = list(data.FLAG_FILTERS) + [lb for lb in LABELS]
        st.selectbox("Review flags", labels, key="f_flag", persist_state=P,
                     format_func=lambda v: data.FLAG_FILTERS.get(v, f"latest label = {v}"))
        blds = [b for b in data.builds(r)]
        if blds:
            ids = {}
            for b in blds:
                for v in r.query("ui/build_variants", {"job_id": b["job_id"], "name": b["name"]}):
                    ids[v["build_id"]] = f"{b['name']} / {v['variant']} ({str(b['created_at'])[:16]})"
            st.selectbox("In build", [None] + list(ids), key="f_build_id", persist_state=P,
                         format_func=lambda v: "(any)" if v is None else ids.get(v, v))
            if st.session_state.get("f_build_id"):
                reasons = [x["reason"] for x in r.query("ui/build_reason_list",
                                                        {"build_id": st.session_state["f_build_id"]})]
                st.selectbox("kept / drop reason", ["(any)", "(kept)", "(dropped)"] + reasons,
                             key="f_build_reason", persist_state=P)
        st.selectbox("Sort", list(data.SORTS), format_func=data.SORTS.get, key="f_sort", persist_state=P)

    flt = common.current_filter()
    size = st.session_state.get("page_size", 50)
    page = st.session_state.get("browse_page", 0)
    if st.session_state.get("_last_filter") != flt:  # a changed filter starts at page 1
        page = st.session_state["browse_page"] = 0
        st.session_state["_last_filter"] = flt
    rows, total = common.browse_page(r, flt, page * size, size)
    n_pages = max(1, -(-total // size))
    if page >= n_pages:
        page = st.session_state["browse_page"] = n_pages - 1
        rows, total = common.browse_page(r, flt, page * size, size)

    st.markdown(f"**{total:,}** traces match · page {page + 1} of {n_pages:,}")
    if not rows:
        st.info("No trace matches these filters.")
    else:
        df = pd.DataFrame(rows).drop(columns=["total", "seq"])
        event = st.dataframe(df, hide_index=True, width="stretch", on_select="rerun", selection_mode="single-row",
                             key="browse_table",
                             column_config={"trace_id": st.column_config.TextColumn("trace", width="small"),
                                            "problem": st.column_config.TextColumn(width="large")})
        sel = event.selection.rows if event and hasattr(event, "selection") else []
        if sel:
            common.open_trace(rows[sel[0]]["trace_id"], page * size + sel[0])
        c1, c2 = st.columns([3, 1])
        choice = c1.selectbox("Open trace", range(len(rows)), key="browse_open_pick",
                              format_func=lambda i: f"{page * size + i + 1}. {rows[i]['trace_id'][:12]} · "
                                                    f"{rows[i]['source']} · {(rows[i]['problem'] or '')[:70]}")
        if c2.button("Open", key="browse_open", type="primary"):
            common.open_trace(rows[choice]["trace_id"], page * size + choice)

    c1, c2, c3, c4 = st.columns([1, 1, 2, 2])
    if c1.button("◀ Previous page", disabled=page == 0, key="browse_prev"):
        st.session_state["browse_page"] = page - 1
        st.rerun()
    if c2.button("Next page ▶", disabled=page + 1 >= n_pages, key="browse_next"):
        st.session_state["browse_page"] = page + 1
        st.rerun()
    c4.selectbox("Rows per page", data.PAGE_SIZES, index=1, key="page_size", persist_state=P)
common.shortcuts({"ArrowRight": "Next page", "ArrowLeft": "◀ Previous page"})
