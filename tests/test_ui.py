"""Review app (issue 9): the data layer and every page through Streamlit's AppTest, over the real traces of
../shared/data. Side tables are filled with realistic rows computed from the real texts (the stages' own
tests cover the stages): token counts by the signals stage's approximation, markers by its marker regex,
verdicts from the sources' correctness labels, contamination by exact problem-text matches against the real
AIME 2024 file, and one real near-duplicate (a real trace with edited sentences, ingested as its own source)."""

from __future__ import annotations

import json
import subprocess
import sys
from difflib import SequenceMatcher
from pathlib import Path

import orjson
import pytest

from distillate.curate import Workspace, ingest
from distillate.curate.flags import add_flag, read_flags
from distillate.curate.ids import normalize_text
from distillate.curate.signals.text import DEFAULT_MARKERS, compile_markers
from distillate.curate.signals.tokenize import approx_count
from distillate.ui import data

APP = str(Path(data.__file__).parent / "app.py")
EXE = Path(sys.executable).parent / "distillate"
MARKER_RE, KINDS = compile_markers(DEFAULT_MARKERS)


def _edit(text: str) -> str:
    """A near-duplicate: every 7th sentence reworded."""
    parts = text.split(". ")
    return ". ".join(p.replace("Let me", "Let us").replace("so", "thus") if i % 7 == 0 else p
                     for i, p in enumerate(parts))


def _populate(ws: Workspace, shared: Path) -> dict:
    bench = {}
    for line in open(shared / "benchmarks" / "aime24.jsonl", encoding="utf-8"):
        r = json.loads(line)
        bench[normalize_text(r["problem"]).lower()] = r
    info: dict = {"contaminated_problems": set()}
    with ws.job("test-populate") as (cat, _):
        con = cat.con
        rows = con.execute("SELECT trace_id, problem_id, thought, solution, thought_closed, label_correct "
                           "FROM traces").fetchall()
        markers: list[tuple] = []
        for tid, pid, th, so, closed, label in rows:
            tt, st_ = approx_count(th or ""), approx_count(so or "")
            tail = (th or so or "")[-3000:]
            looping = len(tail) > 1000 and tail.count(tail[-120:]) >= 4
            kinds: dict[str, int] = {}
            for part, text in (("thought", th), ("solution", so)):
                for m in MARKER_RE.finditer(text or ""):
                    kind = KINDS[int(next(k for k, v in m.groupdict().items() if v)[1:])]
                    kinds[kind] = kinds.get(kind, 0) + 1
                    markers.append((tid, kind, part, m.start(), m.end() - m.start()))
            n_markers = sum(kinds.values())
            con.execute(
                "INSERT INTO trace_signals (trace_id, signal_version, tokenizer, n_tokens, thought_tokens, "
                "solution_tokens, truncated, looping, n_markers, markers_per_1k, marker_counts) "
                "VALUES (?, 1, 'approx', ?, ?, ?, ?, ?, ?, ?, MAP(?::VARCHAR[], ?::INTEGER[]))",
                [tid, tt + st_, tt, st_, closed is False or so is None, looping, n_markers,
                 1000 * n_markers / max(1, tt + st_), list(kinds), list(kinds.values())]).fetchall()
            verdict = "no_answer" if so is None else {True: "correct", False: "incorrect"}.get(label, "no_reference")
            con.execute("INSERT INTO verdicts (trace_id, verifier_version, verdict) VALUES (?, 'test', ?)",
                        [tid, verdict]).fetchall()
        import pyarrow as pa

        con.register("_m", pa.table({c: [m[i] for m in markers] for i, c in enumerate(("trace_id", "kind", "part", "pos", "len"))}))
        con.execute("INSERT INTO trace_markers (trace_id, kind, part, pos, len) SELECT * FROM _m").fetchall()
        for pid, text in con.execute("SELECT problem_id, problem FROM problems").fetchall():
            b = bench.get(normalize_text(text).lower())
            if b:
                con.execute("INSERT OR IGNORE INTO benchmark_items (benchmark, benchmark_id, problem, answer) "
                            "VALUES ('aime24', ?, ?, ?)",
                            [str(b["id"]), b["problem"], str(b["answer"])]).fetchall()
                con.execute("INSERT INTO contamination_matches (problem_id, benchmark, benchmark_id, method, score, spans) "
                            "VALUES (?, 'aime24', ?, 'exact', 1.0, ?)",
                            [pid, str(b["id"]), json.dumps({"problem": [[0, len(text)]],
                                                            "benchmark": [[0, len(b["problem"])]]})]).fetchall()
                info["contaminated_problems"].add(pid)
        # the edited copy is a near duplicate of its original (same problem, similar text)
        orig, copy = con.execute(
            "SELECT a.trace_id, b.trace_id, a.solution, b.solution FROM traces a JOIN traces b "
            "ON a.problem_id = b.problem_id AND b.source = 'edited-copy' AND a.source <> 'edited-copy'").fetchone()[:2]
        a, b = con.execute("SELECT thought FROM traces WHERE trace_id IN (?, ?) ORDER BY source = 'edited-copy'",
                           [orig, copy]).fetchall()
        sim = SequenceMatcher(None, a[0][:5000], b[0][:5000]).ratio()
        con.execute("INSERT INTO trace_duplicates (trace_id, kind, duplicate_of, similarity, cluster_id, policy) "
                    "VALUES (?, 'near', ?, ?, ?, 'first_seen')",
                    [copy, orig, sim, orig]).fetchall()
        info.update(dup=copy, orig=orig, sim=sim)
    return info


@pytest.fixture(scope="module")
def ui_ws(tmp_path_factory, shared_data):
    """Real traces in three sources + an edited copy, side tables filled (see the module docstring)."""
    root = tmp_path_factory.mktemp("ui")
    ws = Workspace(root / "ws")
    first = json.loads(open(shared_data / "traces" / "thought_anchors_r1distill_math.jsonl", encoding="utf-8").readline())
    first["id"] = "edited-0"
    first["thought"] = _edit(first["thought"])
    (root / "edited.jsonl").write_text(json.dumps(first) + "\n", encoding="utf-8")
    with ws.job("ingest") as (cat, job_id):
        for src, fname in (("sky14b-aime24", "skyt1_math5k_14b_aime24.jsonl"), ("sky32b-aime24", "skyt1_math5k_32b_ck133_aime24.jsonl"),
                           ("anchors", "thought_anchors_r1distill_math.jsonl"), ("s1k", "s1k_gemini_fixture.jsonl")):
            ingest(cat, job_id, [str(shared_data / "traces" / fname)], source=src, show_progress=False)
        ingest(cat, job_id, [str(root / "edited.jsonl")], source="edited-copy", show_progress=False)
    info = _populate(ws, shared_data)
    return ws, info


@pytest.fixture
def app(ui_ws, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DISTILLATE_WORKSPACE", str(ui_ws[0].root))
    monkeypatch.setattr(sys, "argv", ["app.py"])
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _goto(at, page: str, **qp):
    at.switch_page(f"views/{page}.py")
    for k, v in qp.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _count(ws: Workspace, sql: str, params=()) -> int:
    with ws.reader() as cat:
        return cat.con.execute(sql, list(params)).fetchone()[0]


def _match_line(at) -> int:
    line = next(m.value for m in at.markdown if "traces match" in m.value)
    return int(line.split("**")[1].replace(",", ""))


# ---- data layer ------------------------------------------------------------------------------------------

def test_browse_filters_match_independent_counts(ui_ws):
    ws, info = ui_ws
    with data.open_reader(ws) as r:
        total = _count(ws, "SELECT count(*) FROM traces")
        assert data.browse(r, data.BrowseFilter(), 0, 10)[1] == total
        n = data.browse(r, data.BrowseFilter(sources=["sky14b-aime24"]), 0, 10)[1]
        assert n == _count(ws, "SELECT count(*) FROM traces WHERE source = 'sky14b-aime24'") == 30
        long_ = data.browse(r, data.BrowseFilter(tok_min=20000), 0, 100)
        assert long_[1] == _count(ws, "SELECT count(*) FROM trace_signals WHERE n_tokens >= 20000") > 0
        assert all(x["n_tokens"] >= 20000 for x in long_[0])
        wrong = data.browse(r, data.BrowseFilter(verdicts=["incorrect"], contaminated=True), 0, 100)
        assert wrong[1] == _count(ws, "SELECT count(*) FROM traces t JOIN verdicts v USING (trace_id) "
                                      "WHERE v.verdict = 'incorrect' AND t.problem_id IN "
                                      "(SELECT problem_id FROM contamination_matches)") > 0
        assert data.browse(r, data.BrowseFilter(duplicate=True), 0, 10)[0][0]["trace_id"] == info["dup"]
        kind = data.browse(r, data.BrowseFilter(marker_kind="but_wait", markers_min=50), 0, 500)
        assert kind[1] == _count(ws, "SELECT count(*) FROM trace_signals WHERE n_markers >= 50 AND "
                                     "trace_id IN (SELECT trace_id FROM trace_markers WHERE kind = 'but_wait')")


def test_browse_paging_is_disjoint_and_sorted(ui_ws):
    ws, _ = ui_ws
    flt = data.BrowseFilter(sort="tokens_desc")
    with data.open_reader(ws) as r:
        p1, total = data.browse(r, flt, 0, 25)
        p2, _ = data.browse(r, flt, 25, 25)
        assert len(p1) == len(p2) == 25
        assert not {x["trace_id"] for x in p1} & {x["trace_id"] for x in p2}
        toks = [x["n_tokens"] for x in p1 + p2]
        assert toks == sorted(toks, reverse=True)
        assert data.browse(r, flt, 25, 1)[0][0]["trace_id"] == p2[0]["trace_id"]  # a position = a 1-row page
        last, _ = data.browse(r, flt, total - 3, 25)
        assert len(last) == 3
        assert data.browse(r, flt, total + 100, 25) == ([], total)  # past the end: no rows, still counted


def test_text_search_is_a_literal_parameter(ui_ws):
    ws, _ = ui_ws
    with data.open_reader(ws) as r:
        hits = data.browse(r, data.BrowseFilter(q="six-sided dice"), 0, 50)
        assert hits[1] == _count(ws, "SELECT count(*) FROM traces t JOIN problems p USING (problem_id) "
                                     "WHERE p.problem ILIKE '%six-sided dice%'")
        # SQL in the search box is just text: no error, no match, nothing dropped
        assert data.browse(r, data.BrowseFilter(q="x' OR 1=1 --"), 0, 50)[1] == 0
        assert data.browse(r, data.BrowseFilter(q="%"), 0, 50)[1] == _count(
            ws, "SELECT count(*) FROM traces t JOIN problems p USING (problem_id) WHERE strpos(p.problem, '%') > 0")
        inside = data.browse(r, data.BrowseFilter(q="but wait", q_traces=True), 0, 50)[1]
        assert inside > data.browse(r, data.BrowseFilter(q="but wait"), 0, 50)[1]


def test_pending_flags_are_seen_before_any_job(ui_ws, copy_ws):
    ws = copy_ws(ui_ws[0])
    with data.open_reader(ws) as r:
        tid = data.browse(r, data.BrowseFilter(), 0, 1)[0][0]["trace_id"]
    add_flag(ws, tid, "bad", reason="looping", reviewer="alice")
    with data.open_reader(ws) as r:
        assert [f["trace_id"] for f in r.pending] == [tid]
        rows, n = data.browse(r, data.BrowseFilter(flag="flagged"), 0, 10)
        assert n == 1 and rows[0]["flag_label"] == "bad"
        assert data.flag_history(r, tid)[0]["status"].startswith("pending")
    add_flag(ws, tid, "good", reviewer="bob")  # the latest label wins
    with data.open_reader(ws) as r:
        assert data.browse(r, data.BrowseFilter(flag="flagged"), 0, 10)[1] == 0
        assert data.browse(r, data.BrowseFilter(flag="reviewed"), 0, 10)[1] == 1
    with ws.job("noop"):  # any job mirrors the log into review_flags
        pass
    with data.open_reader(ws) as r:
        assert r.pending == []
        hist = data.flag_history(r, tid)
        assert [f["label"] for f in hist] == ["good", "bad"] and all(f["status"].startswith("applied") for f in hist)


# ---- pages -------------------------------------------------------------------------------------------------

def test_overview_funnel_leads_to_traces(app, ui_ws):
    ws, _ = ui_ws
    df = app.dataframe[0].value
    assert list(df["step"])[:2] == ["truncated", "looping"]
    truncated = int(df.loc[df["step"] == "truncated", "flagged"].iloc[0])
    assert truncated == _count(ws, "SELECT count(*) FROM trace_signals WHERE truncated") > 0
    app.selectbox(key="ov_source").set_value("sky14b-aime24").run()
    df14 = app.dataframe[0].value
    assert int(df14.loc[df14["step"] == "truncated", "flagged"].iloc[0]) == _count(
        ws, "SELECT count(*) FROM trace_signals s JOIN traces t USING (trace_id) "
            "WHERE s.truncated AND t.source = 'sky14b-aime24'")
    app.button(key="ov_step_truncated").click().run()
    assert not app.exception
    assert _match_line(app) == int(df14.loc[df14["step"] == "truncated", "flagged"].iloc[0])
    _goto(app, "overview")
    bins = app.selectbox(key="ov_bin")
    bins.set_value(len(bins.options) - 1)  # the longest bin of the last source
    app.button(key="ov_bin_btn").click().run()
    flt = app.session_state
    assert _match_line(app) == _count(ws, "SELECT count(*) FROM trace_signals s JOIN traces t USING (trace_id) "
                                          "WHERE t.source = ? AND s.n_tokens >= ? AND s.n_tokens <= coalesce(?, 1e9)",
                                      [flt["f_sources"][0], flt["f_tok_min"], flt["f_tok_max"]]) > 0


def test_browse_page_filters_and_paging(app, ui_ws):
    ws, _ = ui_ws
    _goto(app, "browse")
    total = _count(ws, "SELECT count(*) FROM traces")
    assert _match_line(app) == total
    first = list(app.dataframe[0].value["trace_id"])
    assert len(first) == 50
    app.button(key="browse_next").click().run()
    second = list(app.dataframe[0].value["trace_id"])
    assert second and not set(first) & set(second)
    app.multiselect(key="f_sources").set_value(["anchors"]).run()
    assert _match_line(app) == _count(ws, "SELECT count(*) FROM traces WHERE source = 'anchors'")
    assert set(app.dataframe[0].value["source"]) == {"anchors"}
    app.multiselect(key="f_verdicts").set_value(["incorrect"]).run()
    n = _match_line(app)
    assert n == _count(ws, "SELECT count(*) FROM traces JOIN verdicts USING (trace_id) "
                           "WHERE source = 'anchors' AND verdict = 'incorrect'")
    app.text_input(key="f_q").input("probability").run()
    assert _match_line(app) <= n
    app.button(key="f_reset").click().run()
    assert _match_line(app) == total


def test_trace_page_flag_written_and_read_back(app, ui_ws, copy_ws, monkeypatch):
    ws = copy_ws(ui_ws[0])
    monkeypatch.setenv("DISTILLATE_WORKSPACE", str(ws.root))
    tid = _count(ws, "SELECT trace_id FROM trace_signals ORDER BY n_tokens DESC LIMIT 1")
    _goto(app, "trace", id=tid)
    caps = [c.value for c in app.caption]
    sec = next(c for c in caps if c.startswith("section 1 of"))
    n_secs = int(sec.split(" of ")[1].split(" ")[0])
    assert n_secs >= 10  # a 30k-token thought is split, only one section is rendered
    assert any(":orange-background[" in m.value for m in app.markdown)
    app.button(key="thought_next_marker").click().run()
    assert any(c.value.startswith("section 2 of") or c.value.startswith("section 3 of") for c in app.caption)
    app.text_input(key="reviewer").input("alice")
    app.radio(key="flag_label").set_value("needs-fix")
    app.selectbox(key="flag_reason").set_value("looping")
    app.text_area(key="flag_note").input("repeats the same case analysis")
    next(b for b in app.button if b.label == "Flag this trace").click().run()
    assert not app.exception
    flags = list(read_flags(ws))
    assert len(flags) == 1 and flags[0]["trace_id"] == tid and flags[0]["label"] == "needs-fix"
    assert flags[0]["reviewer"] == "alice" and flags[0]["reason"] == "looping"
    hist = app.table[-1].value
    assert list(hist["label"]) == ["needs-fix"] and hist["status"].iloc[0].startswith("pending")
    app.button(key="trace_next").click().run()  # opened by id: Next goes to the first of the list
    assert app.query_params.get("id") not in (None, tid) or app.session_state["trace_id"] != tid


def test_trace_page_duplicate_diff_and_contamination(app, ui_ws):
    ws, info = ui_ws
    _goto(app, "trace", id=info["dup"])
    assert any("kept copy" in m.value for m in app.markdown)
    app.toggle(key="dup_diff_0").set_value(True).run()
    assert not app.exception
    assert any("diff_add" in h.proto.body or "diff_chg" in h.proto.body for h in app.get("html"))
    pid = next(iter(info["contaminated_problems"]))
    tid = _count(ws, "SELECT trace_id FROM traces WHERE problem_id = ? LIMIT 1", [pid])
    _goto(app, "trace", id=tid)
    assert any("**aime24**" in m.value for m in app.markdown)
    assert any("<mark>" in h.proto.body for h in app.get("html"))


def test_builds_page_and_flag_applied_by_build(app, ui_ws, copy_ws, monkeypatch, tmp_path):
    from distillate.curate.build import build, parse_recipe

    ws = copy_ws(ui_ws[0])
    monkeypatch.setenv("DISTILLATE_WORKSPACE", str(ws.root))
    _goto(app, "builds")
    assert any("No build recorded" in i.value for i in app.info)
    tid = _count(ws, "SELECT trace_id FROM traces t JOIN verdicts v USING (trace_id) WHERE v.verdict = 'correct' "
                     "AND t.source = 'anchors' LIMIT 1")
    add_flag(ws, tid, "bad", reason="wrong reasoning", reviewer="alice")
    recipe = parse_recipe({"name": "ui-test", "exclude": ["flagged", "truncated", "looping", "contaminated"],
                           "ablations": {"with_flagged": {"exclude_remove": ["flagged"]}}})
    build(ws, recipe, tmp_path / "out", show_progress=False)
    _goto(app, "builds")
    variants = app.dataframe[0].value
    assert set(variants["variant"]) == {"(base)", "with_flagged"}
    base = variants[variants["variant"] == "(base)"].iloc[0]
    abl = variants[variants["variant"] == "with_flagged"].iloc[0]
    assert abl["kept"] == base["kept"] + 1  # exactly the flagged trace differs
    dropped = [orjson.loads(x) for x in open(tmp_path / "out" / "dropped.jsonl", "rb")]
    assert any(d.get("trace_id") == tid and "flagged" in json.dumps(d) for d in dropped)
    app.selectbox(key="bl_reason").set_value("flagged")
    app.button(key="bl_browse").click().run()
    assert _match_line(app) == 1 and list(app.dataframe[0].value["trace_id"]) == [tid]
    _goto(app, "trace", id=tid)
    builds_tab = [d.value for d in app.table if "variant" in d.value.columns]
    assert builds_tab and set(builds_tab[0]["kept"]) == {True, False}


def test_evals_page(app, ui_ws, copy_ws, monkeypatch):
    ws = copy_ws(ui_ws[0])
    monkeypatch.setenv("DISTILLATE_WORKSPACE", str(ws.root))
    _goto(app, "evals")
    assert any("No evaluation run" in i.value for i in app.info)
    with ws.job("eval") as (cat, job_id):
        con = cat.con
        con.execute("INSERT INTO eval_runs (run_id, job_id, model, backend, out_dir, config, results) "
                    "VALUES ('run1', ?, 'm', 'openai', '/tmp/x', '{}', '{}')", [job_id]).fetchall()
        for budget, acc, tok in ((1000, 0.2, 900.0), (4000, 0.4, 3000.0), (None, 0.5, 5000.0)):
            con.execute("INSERT INTO eval_results (run_id, benchmark, budget, n_problems, n_samples, accuracy, mean_tokens) "
                        "VALUES ('run1', 'aime24', ?, 30, 30, ?, ?)", [budget, acc, tok]).fetchall()
        for i in range(30):
            con.execute("INSERT INTO eval_samples (run_id, benchmark, item_id, sample, problem_id, response, correct) "
                        "VALUES ('run1', 'aime24', ?, 0, 'p', 'answer', ?)", [str(i), i % 2 == 0]).fetchall()
    _goto(app, "evals")
    assert "aime24" in app.dataframe[0].value.columns
    app.segmented_control(key="ev_correct").set_value("yes").run()
    assert any(m.value.startswith("**15** samples") for m in app.markdown)


def test_flags_page_and_cli_export(app, ui_ws, copy_ws, monkeypatch, tmp_path):
    ws = copy_ws(ui_ws[0])
    monkeypatch.setenv("DISTILLATE_WORKSPACE", str(ws.root))
    _goto(app, "flags")
    assert any("No flag yet" in i.value for i in app.info)
    tids = [r[0] for r in subprocess_free_ids(ws)]
    add_flag(ws, tids[0], "bad", reason="truncated", reviewer="alice")
    add_flag(ws, tids[1], "borderline", note="custom label", reviewer="bob")
    _goto(app, "flags")
    df = app.dataframe[0].value
    assert list(df["label"]) == ["borderline", "bad"] and set(df["status"]) == {"pending"}
    app.multiselect(key="fl_who").set_value(["alice"]).run()
    assert list(app.dataframe[0].value["reviewer"]) == ["alice"]
    out = tmp_path / "flags.jsonl"
    res = subprocess.run([str(EXE), "flags", "export", "--out", str(out), "-w", str(ws.root)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    exported = [json.loads(x) for x in out.read_text().splitlines()]
    assert [f["label"] for f in exported] == ["bad", "borderline"]
    assert set(exported[0]) >= {"flag_id", "trace_id", "label", "reason", "note", "reviewer", "created_at"}


def subprocess_free_ids(ws):
    with ws.reader() as cat:
        return cat.con.execute("SELECT trace_id FROM traces ORDER BY seq LIMIT 2").fetchall()


def test_pages_on_a_workspace_without_stages(tmp_path, monkeypatch, shared_data):
    """Only ingested: every page renders and says what is missing instead of failing."""
    from streamlit.testing.v1 import AppTest

    ws = Workspace(tmp_path / "bare")
    with ws.job("ingest") as (cat, job_id):
        ingest(cat, job_id, [str(shared_data / "traces" / "s1k_gemini_fixture.jsonl")], source="s1k", show_progress=False)
    monkeypatch.setenv("DISTILLATE_WORKSPACE", str(ws.root))
    monkeypatch.setattr(sys, "argv", ["app.py"])
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    assert not at.exception
    assert any("No curation stage has run" in i.value for i in at.info)
    assert any("No signals yet" in i.value for i in at.info)
    for page in ("browse", "builds", "evals", "flags"):
        _goto(at, page)
    tid = subprocess_free_ids(ws)[0][0]
    _goto(at, "trace", id=tid)
    assert any("not verified" in m.value for m in at.markdown)


def test_no_workspace_is_a_message(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DISTILLATE_WORKSPACE", str(tmp_path / "missing"))
    monkeypatch.setattr(sys, "argv", ["app.py"])
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert any("no catalog" in w.value for w in at.warning)
    res = subprocess.run([str(EXE), "review", "-w", str(tmp_path / "missing")], capture_output=True, text=True)
    assert res.returncode == 2 and "no catalog snapshot" in res.stderr
