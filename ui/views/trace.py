"""Trace: problem, answers and verdict; the thought in sections (one rendered at a time, markers highlighted
in it, a jump to the next marker); why it was kept or dropped in each build; duplicates as a diff; the
benchmark item it matched; original vs reformatted; and the flag form with keyboard shortcuts."""

import time

import pandas as pd
import streamlit as st

from distillate.curate.flags import LABELS, REASONS, add_flag
from distillate.curate.signals.text import DEFAULT_MARKERS, compile_markers
from distillate.errors import DistillateError
from distillate.ui import common, data
from distillate.ui.text import (diff_html, highlight_markers, mark_spans, marker_sections, normalize_math,
                                split_sections)

t0 = time.perf_counter()
MARKER_RE, _ = compile_markers(DEFAULT_MARKERS)
ss = st.session_state

trace_id = st.query_params.get("id") or ss.get("trace_id")
if trace_id and trace_id != ss.get("trace_id"):  # opened from a URL: position in the browse list unknown
    ss["trace_id"], ss["trace_pos"], ss["section"] = trace_id, None, 0


def _render(text: str, raw: bool) -> int:
    if raw:
        st.code(text, language=None, wrap_lines=True)
        return 0
    body, n = highlight_markers(normalize_math(text), MARKER_RE)
    st.markdown(body)
    return n


def _part(part: str, text: str | None, markers: list[dict], raw: bool) -> None:
    if not text:
        st.info(f"This trace has no {part}.")
        return
    secs = split_sections(text)
    pos = [m["pos"] for m in markers if m["part"] == part] if markers else \
        [m.start() for m in MARKER_RE.finditer(text)]
    counts = marker_sections(secs, pos)
    key = f"section_{part}"
    cur = min(ss.get(key, 0), len(secs) - 1)
    c1, c2, c3, c4 = st.columns([1, 1, 1, 3])
    if c1.button("◀ Section", key=f"{part}_prev_sec", disabled=cur == 0):
        cur -= 1
    if c2.button("Section ▶", key=f"{part}_next_sec", disabled=cur >= len(secs) - 1):
        cur += 1
    nxt = next((i for i in range(cur + 1, len(secs)) if counts[i]), None)
    if c3.button("Next marker ⤵", key=f"{part}_next_marker", disabled=nxt is None,
                 help="the next section holding a reflection marker (key m)"):
        cur = nxt
    ss[key] = cur
    c4.caption(f"section {cur + 1} of {len(secs)} · {len(text):,} characters · {sum(counts)} markers "
               f"({counts[cur]} here)")
    if len(secs) > 1:
        st.bar_chart(pd.DataFrame({"markers": counts}, index=range(1, len(secs) + 1)), height=80,
                     x_label=None, y_label=None)
    s = secs[cur]
    with st.container(border=True):
        _render(text[s.start:s.end], raw)


st.title("Trace")
with common.reader() as r:
    common.snapshot_caption(r)
    if not trace_id:
        st.info("Pick a trace on Browse, or paste its id.")
        tid = st.text_input("trace id", key="trace_lookup")
        if tid and st.button("Open", key="trace_lookup_open"):
            common.open_trace(tid.strip())
        st.stop()
    t = data.trace_detail(r, trace_id)
    if t is None:
        st.error(f"No trace {trace_id} in this snapshot.")
        st.stop()

    flt = common.current_filter()
    pos = ss.get("trace_pos")
    nav = st.columns([1, 1, 4])
    if nav[0].button("◀ Previous", key="trace_prev", disabled=not pos):
        prev = common.trace_at(r, flt, pos - 1)
        if prev:
            common.open_trace(prev, pos - 1)
    if nav[1].button("Next ▶", key="trace_next"):
        npos = 0 if pos is None else pos + 1
        nxt = common.trace_at(r, flt, npos)
        if nxt:
            common.open_trace(nxt, npos)
        else:
            st.toast("That was the last trace of the list.")
    nav[2].caption(("position %d in the Browse list" % (pos + 1) if pos is not None else
                    "opened by id: Next goes to the first trace of the Browse list")
                   + " · keys: j/→ next, k/← previous, m next marker, f flag, g good")

    main, side = st.columns([3, 1])
    with main:
        st.markdown(f"`{t['trace_id']}` · source **{t['source']}** · {t['model'] or 'model unknown'} · "
                    f"{t['file'] or ''}:{t['line'] or ''}")
        verdict = t["verdict"] or "not verified"
        color = {"correct": "green", "incorrect": "red"}.get(verdict, "orange")
        m = st.columns(5)
        m[0].markdown(f"**verdict** :{color}[{verdict}]")
        m[1].markdown(f"**reference** `{t['reference_answer']}`")
        m[2].markdown(f"**extracted** `{t['extracted_answer']}`")
        m[3].markdown(f"**tokens** {t['n_tokens'] or '?'} (thought {t['thought_tokens'] or '?'})")
        badges = [b for b, on in (("truncated", t["truncated"]), ("looping", t["looping"]),
                                  ("duplicate", t["duplicate_of"]), ("contaminated", t["contaminated"]),
                                  ("unsuitable problem", t["unsuitable_problem"])) if on]
        m[4].markdown(" ".join(f":red-badge[{b}]" for b in badges) or ":green-badge[no quality flag]")
        with st.expander("Problem", expanded=True):
            st.markdown(normalize_math(t["problem"]))
        raw = st.toggle("raw text (no markdown / math rendering)", key="trace_raw")
        markers = data.trace_markers(r, trace_id)
        tabs = st.tabs(["Thought", "Solution", "Builds", "Duplicates", "Contamination", "Original / reformatted",
                        "Signals"])
        with tabs[0]:
            _part("thought", t["thought"], markers, raw)
        with tabs[1]:
            _part("solution", t["solution"], markers, raw)
        with tabs[2]:
            hist = data.build_history(r, trace_id)
            if not r.has("builds", "job_id"):
                st.info("No builds table in this snapshot yet.")
            elif not hist:
                st.info("This trace is in no build yet (`distillate build RECIPE --out DIR`).")
            else:
                st.table(pd.DataFrame([{"build": h["name"], "variant": h["variant"] or "(base)",
                                            "kept": h["kept"], "step": h["step"],
                                            "reasons": ", ".join(h["reasons"] or []), "details": h["details"],
                                        "built": str(h["created_at"])[:19]} for h in hist]), hide_index=True)
        with tabs[3]:
            dups = data.duplicates(r, trace_id)
            if not dups:
                st.info("No duplicate recorded for this trace (or dedup has not run).")
            for i, d in enumerate(dups):
                st.markdown(f"**{d['relation']}**: `{d['other_id']}` ({d['kind']}, similarity "
                            f"{d['similarity'] or 0:.2f}, source {d['source']})")
                if st.toggle("show diff", key=f"dup_diff_{i}"):
                    mine = (t["thought"] or "") + "\n\n" + (t["solution"] or "")
                    other = (d["thought"] or "") + "\n\n" + (d["solution"] or "")
                    html, ratio = diff_html(mine, other, "this trace", d["other_id"][:12])
                    st.caption(f"sentence-level similarity {ratio:.2f}; changed regions with context")
                    st.html(html)
                if st.button("Open it", key=f"dup_open_{i}"):
                    common.open_trace(d["other_id"])
        with tabs[4]:
            if not t["contaminated"]:
                st.info("The problem matched no benchmark item (or decontam has not run).")
            for i, c in enumerate(data.contamination(r, t["problem_id"])):
                st.markdown(f"**{c['benchmark']}** `{c['benchmark_id']}` · {c['method']} · score "
                            f"{c['score'] if c['score'] is not None else '?'}")
                import json as _json
                spans = _json.loads(c["spans"]) if isinstance(c["spans"], str) else (c["spans"] or {})
                a, b = st.columns(2)
                a.caption("this problem")
                a.html(f"<div style='font-size:14px'>{mark_spans(t['problem'], spans.get('problem', []))}</div>")
                b.caption(f"benchmark item (answer {c['benchmark_answer']})")
                b.html(f"<div style='font-size:14px'>"
                       f"{mark_spans(c['benchmark_problem'] or '', spans.get('benchmark', []))}</div>")
        with tabs[5]:
            refs = data.reformats(r, trace_id)
            if not refs:
                st.info("No original or reformatted version of this trace.")
            for i, x in enumerate(refs):
                st.markdown(f"**{x['relation']}** `{x['trace_id']}` ({x['source']})"
                            + ("" if x["passed"] is None else
                               f" · fidelity {'passed' if x['passed'] else 'failed: ' + ', '.join(x['reasons'] or [])}"))
                a, b = st.columns(2)
                a.caption("this trace: solution")
                b.caption(f"{x['relation']}: solution")
                with a.container(height=500):
                    _render(t["solution"] or "", raw)
                with b.container(height=500):
                    _render(x["solution"] or "", raw)
                if st.button("Open it", key=f"ref_open_{i}"):
                    common.open_trace(x["trace_id"])
        with tabs[6]:
            st.json({k: (str(v) if v is not None and not isinstance(v, (int, float, bool, list, dict)) else v)
                     for k, v in t.items() if k not in ("thought", "solution", "problem", "reference_solution")},
                    expanded=False)

    with side:
        st.subheader("Flag")
        reviewer = st.text_input("reviewer", key="reviewer", persist_state="session",
                                 help="Your name: recorded with every flag (the audit log).")
        with st.form("flag_form", clear_on_submit=True, border=True):
            label = st.radio("label", list(LABELS) + ["custom"], horizontal=True, key="flag_label")
            custom = st.text_input("custom label", key="flag_custom")
            reason = st.selectbox("reason", [None] + list(REASONS), key="flag_reason",
                                  format_func=lambda v: "(none)" if v is None else v)
            note = st.text_area("note", key="flag_note", height=80)
            submitted = st.form_submit_button("Flag this trace", type="primary")
        if submitted:
            lab = custom.strip() if label == "custom" else label
            try:
                add_flag(r.ws, trace_id, lab, reason=reason, note=note, reviewer=reviewer or None)
                st.toast(f"flagged {lab}: saved to the flag log")
                st.rerun()
            except DistillateError as e:
                st.error(str(e))
        if st.button("Good ✓", key="flag_good", help="flag as good at once (key g)"):
            add_flag(r.ws, trace_id, "good", reviewer=reviewer or None)
            st.rerun()
        hist = data.flag_history(r, trace_id)
        if hist:
            st.caption("Flags of this trace (newest first)")
            st.table(pd.DataFrame([{"label": f["label"], "reason": f["reason"], "reviewer": f["reviewer"],
                                        "when": str(f["created_at"])[:19], "status": f["status"],
                                    "note": f["note"]} for f in hist]), hide_index=True)
        else:
            st.caption("Not reviewed yet.")

st.caption(f"rendered in {1000 * (time.perf_counter() - t0):.0f} ms")
common.shortcuts({"j": "Next ▶", "ArrowRight": "Next ▶", "k": "◀ Previous", "ArrowLeft": "◀ Previous",
                  "m": "Next marker", "f": "Flag this trace", "g": "Good ✓"})
