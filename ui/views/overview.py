"""Overview: the report's funnel and distributions (the same SQL as `distillate report`), per source; every
funnel step, source and histogram bar has a button that opens the traces behind it on Browse."""

import altair as alt
import pandas as pd
import streamlit as st

from distillate.ui import common, data

BIN_EDGES = [0, 500, 1000, 2000, 4000, 8000, 16000, 32000]  # signals/token_histogram.sql bins


def _go(**preset):
    common.reset_filters(**preset)
    st.switch_page(common.page_file("browse"))


st.title("Overview")
with common.reader() as r:
    common.snapshot_caption(r)
    totals = common.cached_query(r, "report/totals")[0]
    srcs = data.sources(r)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("traces", f"{totals['traces']:,}")
    c2.metric("problems", f"{totals['problems']:,}")
    c3.metric("quarantined rows", f"{totals['quarantined']:,}")
    c4.metric("flags (snapshot + pending)",
              f"{r.cat.con.execute('SELECT count(*) FROM review_flags').fetchall()[0][0] + len(r.pending):,}")

    st.subheader("Curation funnel")
    source = st.selectbox("Source", ["(all sources)"] + srcs, key="ov_source")
    src = None if source == "(all sources)" else source
    steps = common.cached_query(r, "report/funnel", {"source": src})
    ran = [s for s in steps if s["ran"]]
    if not ran:
        st.info("No curation stage has run yet: `distillate curate` fills the funnel.")
    df = pd.DataFrame([{"step": s["step"], "stage": s["stage"],
                        "flagged": s["flagged"] if s["ran"] else None,
                        "removed": s["removed"] if s["ran"] else None,
                        "left": s["remaining"] if s["ran"] else None,
                        "ran": "yes" if s["ran"] else "not run"} for s in steps])
    left, right = st.columns([3, 2])
    with left:
        st.dataframe(df, hide_index=True, width="stretch")
    with right:
        if ran:
            chart = alt.Chart(pd.DataFrame(ran)).mark_bar().encode(
                x=alt.X("remaining:Q", title="traces left"), y=alt.Y("step:N", sort=None, title=None),
                tooltip=["step", "flagged", "removed", "remaining"])
            st.altair_chart(chart, width="stretch")
    st.caption("Open the traces a step flagged:")
    cols = st.columns(len(steps) or 1)
    for col, s in zip(cols, steps):
        with col:
            preset = {"source": [src] if src else []}
            key = data.STEP_FILTERS.get(s["step"])
            if key:
                preset[key] = "yes"
            else:
                preset["flag"] = "flagged"
            label = f"{s['step']} ({s['flagged']:,})" if s["ran"] else s["step"]
            if st.button(label, key=f"ov_step_{s['step']}", disabled=not s["ran"]):
                _go(sources=preset.pop("source"), **preset)

    st.subheader("Sources")
    src_rows = common.cached_query(r, "report/sources")
    st.dataframe(pd.DataFrame(src_rows), hide_index=True, width="stretch")
    pick = st.selectbox("Browse the traces of", srcs, key="ov_browse_source") if srcs else None
    if pick and st.button("Browse this source", key="ov_browse_btn"):
        _go(sources=[pick])

    st.subheader("Distributions")
    if not common.cached_query(r, "signals/summary")[0]["with_signals"]:
        st.info("No signals yet: run `distillate curate --stages stats` for token lengths and markers.")
    else:
        hist = pd.DataFrame(common.cached_query(r, "signals/token_histogram"))
        if src:
            hist = hist[hist["source"] == src]
        hist["bin"] = hist["lo"].map(lambda v: f"{v // 1000}k+" if v >= 1000 else f"{v}+")
        st.caption("Token lengths per source")
        chart = alt.Chart(hist).mark_bar().encode(
            x=alt.X("bin:N", sort=[f"{v // 1000}k+" if v >= 1000 else f"{v}+" for v in BIN_EDGES],
                    title="tokens (bin start)"),
            y=alt.Y("n:Q", title="traces"), color="source:N", xOffset="source:N",
            tooltip=["source", "bin", "n"])
        st.altair_chart(chart, width="stretch")
        bins = hist[["source", "lo", "bin", "n"]].to_dict("records")
        c1, c2 = st.columns([3, 1])
        pick_bin = c1.selectbox("Browse the traces of one bar", range(len(bins)), key="ov_bin",
                                format_func=lambda i: f"{bins[i]['source']} · {bins[i]['bin']} tokens "
                                                      f"({bins[i]['n']:,} traces)")
        if c2.button("Browse this bar", key="ov_bin_btn"):
            lo = int(bins[pick_bin]["lo"])
            nxt = [e for e in BIN_EDGES if e > lo]
            _go(sources=[bins[pick_bin]["source"]], tok_min=lo, tok_max=(nxt[0] - 1) if nxt else None)
        by_src = common.cached_query(r, "signals/by_source")
        if src:
            by_src = [x for x in by_src if x["source"] == src]
        st.caption("Per-source signal rates and token quantiles (p10, p50, p90)")
        st.dataframe(pd.DataFrame(by_src), hide_index=True, width="stretch")
        if r.has("trace_markers"):
            kinds = pd.DataFrame(common.cached_query(r, "signals/marker_kinds"))
            if not kinds.empty:
                st.caption("Reflection markers by kind")
                st.dataframe(kinds, hide_index=True, width="stretch")
