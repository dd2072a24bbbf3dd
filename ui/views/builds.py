"""Builds: the variants of one build (base recipe, ablations, sweep bins) side by side: counts, what each
funnel step dropped, and the distributions of the kept rows; each count leads to its traces on Browse."""

import altair as alt
import pandas as pd
import streamlit as st

from distillate.ui import common, data

st.title("Builds")
with common.reader() as r:
    common.snapshot_caption(r)
    blds = data.builds(r)
    if not blds:
        st.info("No build recorded in this snapshot: run `distillate build RECIPE --out DIR`.")
        st.stop()
    pick = st.selectbox("Build", range(len(blds)), key="bl_pick",
                        format_func=lambda i: f"{blds[i]['name']} · {str(blds[i]['created_at'])[:19]} · "
                                              f"{blds[i]['variants']} variant(s) · job {blds[i]['job_id']}")
    b = blds[pick]
    key = {"job_id": b["job_id"], "name": b["name"]}
    variants = r.query("ui/build_variants", key)
    st.subheader("Variants")
    st.dataframe(pd.DataFrame([{"variant": v["variant"], "kept": v["kept"], "dropped": v["dropped"],
                                "kept %": round(100 * (v["kept"] or 0) / max(1, (v["kept"] or 0) + (v["dropped"] or 0)), 1),
                                "out_dir": v["out_dir"]} for v in variants]), hide_index=True, width="stretch")
    reasons = pd.DataFrame(r.query("ui/build_reasons", key))
    dist = pd.DataFrame(r.query("ui/build_distributions", key))
    c1, c2 = st.columns(2)
    with c1:
        st.caption("Rows dropped per funnel step (first reason)")
        if reasons.empty:
            st.info("Nothing was dropped.")
        else:
            st.altair_chart(alt.Chart(reasons).mark_bar().encode(
                x=alt.X("n:Q", title="rows"), y=alt.Y("step:N", title=None), color="step:N",
                row=alt.Row("variant:N", title=None), tooltip=["variant", "step", "n"]).properties(height=90),
                width="stretch")
    with c2:
        st.caption("Kept rows per token bin")
        if dist.empty or dist["lo"].isna().all():
            st.info("No token counts (run `distillate curate --stages stats`).")
        else:
            tok = dist.dropna(subset=["lo"]).groupby(["variant", "lo"], as_index=False)["n"].sum()
            st.altair_chart(alt.Chart(tok).mark_bar().encode(
                x=alt.X("lo:O", title="tokens (bin start)"), y=alt.Y("n:Q", title="kept rows"),
                color="variant:N", xOffset="variant:N", tooltip=["variant", "lo", "n"]), width="stretch")
        if not dist.empty:
            st.caption("Kept rows per source")
            st.dataframe(dist.groupby(["variant", "source"], as_index=False)["n"].sum()
                         .pivot(index="source", columns="variant", values="n").fillna(0).astype(int),
                         width="stretch")
    st.subheader("Open the traces of a variant")
    c1, c2, c3 = st.columns([2, 2, 1])
    vi = c1.selectbox("variant", range(len(variants)), format_func=lambda i: variants[i]["variant"], key="bl_var")
    reason_opts = ["(kept)", "(dropped)"] + [x["reason"] for x in
                                             r.query("ui/build_reason_list", {"build_id": variants[vi]["build_id"]})]
    why = c2.selectbox("rows", reason_opts, key="bl_reason")
    if c3.button("Browse them", key="bl_browse"):
        common.reset_filters(build_id=variants[vi]["build_id"], build_reason=why)
        st.switch_page(common.page_file("browse"))
