"""Evaluations: runs recorded by `distillate eval` (accuracy per benchmark and token budget) and their
samples, paged on the server side."""

import altair as alt
import pandas as pd
import streamlit as st

from distillate.ui import common

st.title("Evaluations")
with common.reader() as r:
    common.snapshot_caption(r)
    if not r.has("eval_runs"):
        st.info("This snapshot has no evaluation tables yet (the eval stage has not landed in it).")
        st.stop()
    runs = r.query("eval/runs_list")
    if not runs:
        st.info("No evaluation run recorded: run `distillate eval MODEL --benchmarks aime24,...`.")
        st.stop()
    st.dataframe(pd.DataFrame([{"run": x["run_id"], "model": x["model"], "backend": x["backend"],
                                "when": str(x["created_at"])[:19],
                                **{b["benchmark"]: round(100 * b["accuracy"], 1) for b in (x["benchmarks"] or [])
                                   if b.get("benchmark")}} for x in runs]), hide_index=True, width="stretch")
    chosen = st.multiselect("Compare runs", [x["run_id"] for x in runs], default=[runs[0]["run_id"]], key="ev_runs")
    res = pd.DataFrame(r.query("ui/eval_results", {"run_ids": chosen})) if chosen else pd.DataFrame()
    if not res.empty:
        res["accuracy %"] = 100 * res["accuracy"]
        res["run"] = res["run_id"] + " · " + res["model"]
        st.caption("Accuracy against mean output tokens (each point a token budget; the last one the full "
                   "generation)")
        st.altair_chart(alt.Chart(res).mark_line(point=True).encode(
            x=alt.X("mean_tokens:Q", title="mean output tokens"), y=alt.Y("accuracy %:Q"), color="run:N",
            column=alt.Column("benchmark:N"), tooltip=["run", "benchmark", "budget", "accuracy %", "mean_tokens"]))
        st.dataframe(res.drop(columns=["run"]), hide_index=True, width="stretch")
    st.subheader("Samples")
    run = st.selectbox("run", [x["run_id"] for x in runs], key="ev_sample_run")
    c1, c2 = st.columns(2)
    bench = c1.selectbox("benchmark", [None] + sorted({b["benchmark"] for x in runs if x["run_id"] == run
                                                      for b in (x["benchmarks"] or []) if b.get("benchmark")}),
                         format_func=lambda v: "(all)" if v is None else v, key="ev_bench")
    corr = c2.segmented_control("correct", ("yes", "no"), key="ev_correct")
    page = st.session_state.get("ev_page", 0)
    rows = r.query("ui/eval_samples", {"run_id": run, "benchmark": bench,
                                       "correct": None if corr is None else corr == "yes",
                                       "limit": 50, "offset": page * 50})
    total = rows[0]["total"] if rows else 0
    st.markdown(f"**{total:,}** samples · page {page + 1}")
    if rows:
        st.dataframe(pd.DataFrame(rows).drop(columns=["total"]), hide_index=True, width="stretch")
    c1, c2 = st.columns(2)
    if c1.button("◀ Previous page", key="ev_prev", disabled=page == 0):
        st.session_state["ev_page"] = page - 1
        st.rerun()
    if c2.button("Next page ▶", key="ev_next", disabled=(page + 1) * 50 >= total):
        st.session_state["ev_page"] = page + 1
        st.rerun()
