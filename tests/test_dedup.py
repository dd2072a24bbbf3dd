"""Dedup stage: MinHash correctness, planted duplicates of real traces, real AIME traces, MATH-500 copies,
keep policies, incremental runs."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np
import pytest

from distillate.curate.dedup import DedupConfig, apply_policy
from distillate.curate.dedup.minhash import Hasher, collision_probability, jaccard, light_normalize
from distillate.curate.pipeline import curate
from distillate.errors import DistillateError

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.corpus import generate, jaccard_text, shingles as ref_shingles  # noqa: E402


def _real_texts(shared_data, n=40):
    texts = []
    for line in (shared_data / "traces" / "thought_anchors_r1distill_math.jsonl").open():
        d = json.loads(line)
        texts.append((d["thought"] or "") + "\n" + (d["solution"] or ""))
    return texts[:n]


# -- MinHash -----------------------------------------------------------------------------------------

def test_shingle_sets_and_jaccard_match_a_python_reference(shared_data):
    texts = _real_texts(shared_data)
    h = Hasher("word", 5, 128, 1)
    sets = h.shingle_sets(texts)
    # the reference: Python word 5-gram sets of the same normalized text (case, LaTeX spacing)
    assert [len(s) for s in sets] == [len(ref_shingles(light_normalize(t))) for t in texts]
    rng = random.Random(0)
    for t in texts[:10]:
        words = t.split(" ")
        for i in rng.sample(range(len(words)), max(1, len(words) // 25)):
            words[i] = f"edit{i}"
        copy = " ".join(words)
        a, b = h.shingle_sets([t, copy])
        ours = jaccard(a, b)
        if "\\" not in t:
            assert ours == pytest.approx(jaccard_text(t, copy), abs=1e-9)
        assert 0.5 < ours < 1.0


def test_signature_agreement_estimates_jaccard(shared_data):
    texts = _real_texts(shared_data, 30)
    rng = random.Random(1)
    for scheme in ("oph", "kperm"):
        h = Hasher("word", 5, 256, 3, scheme)
        errs = []
        for t in texts:
            words = t.split(" ")
            if len(words) < 200:
                continue
            for i in rng.sample(range(len(words)), len(words) // 20):
                words[i] = f"edit{i}"
            sig, _, _ = h.signatures([t, " ".join(words)])
            a, b = h.shingle_sets([t, " ".join(words)])
            errs.append((sig[0] == sig[1]).mean() - jaccard(a, b))
        # unbiased within sampling error (sd ~ 0.03 for K=256)
        assert abs(np.mean(errs)) < 0.03, scheme
        assert np.max(np.abs(errs)) < 0.15, scheme


def test_exact_key_folds_case_whitespace_and_latex_spacing_only():
    h = Hasher("word", 5, 64, 1)
    base = r"We get $\frac{1}{2}\,dx$ and \left( x+1 \right) so the answer is 7."
    same = ["WE GET $\\frac{1}{2}dx$ and \\left(  x+1  \\right) so\nthe answer is 7.",
            "we get $\\frac{1}{2}\\!dx$ and \\left( x+1 \\right) so the   answer is 7."]
    differ = [base.replace("7", "8"), base.replace("and", "or")]
    _, _, ex = h.signatures([base] + same + differ)
    assert ex[0] == ex[1] == ex[2]
    assert len({ex[0], ex[3], ex[4]}) == 3
    p = Hasher("char", 5, 64, 1)
    _, _, pex = p.signatures(["Find $x$ if $2x = 4$.", "find  $x$ if $2x = 4$.", "Find $x$ if $2x = 6$."])
    assert pex[0] == pex[1] != pex[2]


def test_lsh_curve_of_default_config():
    cfg = DedupConfig()
    t = cfg.traces
    assert collision_probability(0.85, t.bands, t.rows) > 0.9999
    assert collision_probability(0.1, t.bands, t.rows) < 0.01
    with pytest.raises(DistillateError):
        DedupConfig(keep="random").validate()


# -- the stage on planted duplicates of real traces --------------------------------------------------

@pytest.fixture(scope="module")
def planted(tmp_path_factory, shared_data):
    """A 600-trace corpus recombined from the real traces, with planted copies, ingested and deduped."""
    from distillate.curate import Workspace, ingest

    d = tmp_path_factory.mktemp("planted")
    corpus = d / "corpus.jsonl"
    truth = generate(600, corpus, seed=3, chars=3000, p_exact=0.05, p_near=0.12, p_rewrite=0.05,
                     data=shared_data, show_progress=False)
    ws = Workspace(d / "ws")
    with ws.job("ingest") as (cat, job_id):
        ingest(cat, job_id, [str(corpus)], source="syn", show_progress=False)
    first = curate(ws, "dedup", show_progress=False)["dedup"]
    return ws, corpus, truth, first


def _state(ws):
    with ws.reader() as cat:
        tid = dict(cat.con.execute("SELECT source_id, trace_id FROM trace_sources").fetchall())
        dups = {r[0]: r[1:] for r in cat.con.execute(
            "SELECT trace_id, kind, duplicate_of, similarity, cluster_id, policy FROM trace_duplicates").fetchall()}
        clusters = dict(cat.con.execute("SELECT trace_id, cluster_id FROM trace_clusters").fetchall())
        checks = cat.run_checks()
    return tid, dups, clusters, checks


def test_planted_copies_are_found_and_attributed(planted):
    ws, corpus, truth, first = planted
    tid, dups, clusters, checks = _state(ws)
    assert not checks
    n_exact = n_near = 0
    for t in truth:
        copy, orig = tid[t["id"]], tid.get(t["of"])
        if t["kind"] == "exact":
            if copy == orig:
                continue  # whitespace-only copies share the trace_id already (ingest is content-addressed)
            n_exact += 1
            assert dups[copy][0] == "exact" and dups[copy][1] == orig and dups[copy][2] == 1.0
        elif t["kind"] == "near" and t["jaccard"] >= 0.85:
            n_near += 1
            kind, dup_of, sim, cid, policy = dups[copy]
            assert kind == "near" and policy == "first_seen"
            assert dup_of == orig, "first_seen keeps the original (ingested first)"
            # our Jaccard (LaTeX spacing folded) is the planted one within normalization noise
            assert sim == pytest.approx(t["jaccard"], abs=0.03)
            assert clusters[copy] == clusters[orig] == cid
        elif t["kind"] == "rewrite":
            assert copy not in dups, "a heavy rewrite (J <= 0.6) is never merged"
            assert clusters.get(copy) is None or clusters.get(copy) != clusters.get(orig)
    assert n_exact >= 5 and n_near >= 20
    # siblings (other traces of the same problem) are not duplicates of each other
    siblings = [tid[t["id"]] for t in truth if t["kind"] == "sibling"]
    assert siblings and not any(s in dups for s in siblings)
    assert first["exact_duplicates"] >= n_exact and first["near_duplicates"] >= n_near


def test_rerun_changes_nothing(planted, copy_ws):
    ws, _, _, first = planted
    ws2 = copy_ws(ws)
    before = _state(ws2)
    again = curate(ws2, "dedup", show_progress=False)["dedup"]
    assert again["trace_signatures_new"] == 0 and again["problem_signatures_new"] == 0
    assert again["trace_pairs_verified"] == 0 and again["rows_changed"] == 0
    assert _state(ws2) == before
    assert first["trace_signatures_new"] > 0


def test_keep_policies_and_repick(planted, copy_ws):
    ws, *_ = planted
    ws2 = copy_ws(ws)
    with ws2.reader() as cat:
        members = cat.query("dedup/policy_members")
    by_cluster: dict[str, list[dict]] = {}
    for m in members:
        by_cluster.setdefault(m["cluster_id"], []).append(m)
    # mark the last-seen member of every cluster correct: verified_first must keep it
    last = {cid: max(ms, key=lambda m: m["seq"])["trace_id"] for cid, ms in by_cluster.items()}
    with ws2.job("test-verdicts") as (cat, _):
        for t in last.values():
            cat.con.execute("INSERT INTO verdicts (trace_id, verifier_version, verdict) VALUES (?, 'test', 'correct')", [t])
    for policy, expect in (
        ("shortest", {c: min(ms, key=lambda m: (m["n_chars"], m["seq"]))["trace_id"] for c, ms in by_cluster.items()}),
        ("longest", {c: min(ms, key=lambda m: (-m["n_chars"], m["seq"]))["trace_id"] for c, ms in by_cluster.items()}),
        ("verified_first", last),
    ):
        with ws2.reader() as cat:
            repick = apply_policy(cat, policy)
        curate(ws2, "dedup", show_progress=False, dedup_keep=policy)
        tid, dups, clusters, checks = _state(ws2)
        assert not checks
        for cid, kept in expect.items():
            assert kept not in dups, (policy, cid)
            for m in by_cluster[cid]:
                if m["trace_id"] != kept:
                    assert dups[m["trace_id"]][1] == kept and dups[m["trace_id"]][4] == policy
                    assert repick[m["trace_id"]] == kept
    with pytest.raises(DistillateError, match="keep policy"):
        curate(ws2, "dedup", show_progress=False, dedup_keep="newest")


def test_incremental_new_source_hashes_only_new_traces(planted, copy_ws, tmp_path):
    ws, corpus, truth, _ = planted
    ws2 = copy_ws(ws)
    rows = [json.loads(line) for line in corpus.open()]
    orig = next(r for r in rows if len(r["thought"].split()) > 400)
    words = orig["thought"].split(" ")
    for i in range(0, len(words), 60):
        words[i] = "also"
    new = {**orig, "id": "new-copy", "thought": " ".join(words), "model": "other-teacher"}
    fresh = {**rows[0], "id": "new-fresh", "thought": "A completely different line of thought " * 20}
    f = tmp_path / "new.jsonl"
    f.write_text(json.dumps(new) + "\n" + json.dumps(fresh) + "\n")
    from distillate.curate import ingest

    with ws2.job("ingest") as (cat, job_id):
        ingest(cat, job_id, [str(f)], source="new", show_progress=False)
    res = curate(ws2, "dedup", show_progress=False)["dedup"]
    assert res["trace_signatures_new"] == 2
    tid, dups, _, _ = _state(ws2)
    j = jaccard_text(orig["thought"], new["thought"])
    assert j >= 0.85
    assert dups[tid["new-copy"]][1] == tid[orig["id"]]
    assert tid["new-fresh"] not in dups


# -- real data -------------------------------------------------------------------------------------

def test_two_models_on_aime_share_problems_but_not_traces(ws, ingest_files, shared_data):
    files = [shared_data / "traces" / "skyt1_math5k_14b_aime24.jsonl",
             shared_data / "traces" / "skyt1_math5k_32b_ck133_aime24.jsonl"]
    ingest_files(files, "sky")
    res = curate(ws, "dedup", show_progress=False)["dedup"]
    with ws.reader() as cat:
        shared = cat.con.execute("""
            SELECT count(*) FROM (SELECT problem_id FROM candidates GROUP BY problem_id
                                  HAVING count(DISTINCT model) = 2 OR count(DISTINCT source_id) >= 2)""").fetchall()[0][0]
        ndup = cat.con.execute("SELECT count(*) FROM trace_duplicates").fetchall()[0][0]
        canon = cat.con.execute("SELECT count(DISTINCT canonical_problem_id) FROM candidates").fetchall()[0][0]
    assert shared == 30 and canon == 30, "the 30 AIME problems are shared by both models' traces"
    assert ndup == 0 and res["near_duplicates"] == 0
    # two models' traces of one problem share little text (J ~ 0.05): 20 x 6 banding makes no LSH candidate
    assert res["trace_signatures_new"] == 60 and res["trace_candidates"] == 0, res


def _char_jaccard(a: str, b: str, n: int = 5) -> float:
    a, b = " ".join(a.lower().split()), " ".join(b.lower().split())
    sa = {a[i: i + n] for i in range(len(a) - n + 1)}
    sb = {b[i: i + n] for i in range(len(b) - n + 1)}
    return len(sa & sb) / len(sa | sb)


def test_math500_problems_match_their_copies_in_math_test(ws, ingest_files, shared_data, tmp_path):
    from distillate.curate.ids import problem_id

    rows = [json.loads(line) for line in (shared_data / "benchmarks" / "math500.jsonl").open()]
    rng = random.Random(0)
    variants = []
    for r in rows[:120]:
        p = r["problem"]
        if rng.random() < 0.5:  # reformatted copy: case and spacing only
            v, kind = ("  " + p.upper() if p.isascii() else p.replace(" ", "   ")), "exact"
        else:  # near copy: one word doubled in the middle (a typo); the numbers stay
            words = p.split(" ")
            # the middle word without digits (a doubled number would be another problem's numbers)
            k = min((i for i, w in enumerate(words) if w and not any(c.isdigit() for c in w)),
                    key=lambda i: abs(i - len(words) // 2), default=0)
            v, kind = " ".join(words[:k] + [words[k]] + words[k:]), "near"
        variants.append({"id": "var-" + r["id"], "problem": v, "answer": r["answer"], "of": p, "kind": kind})
    # a number changed: another problem, never merged however similar the text
    changed = {"id": "changed", "problem": rows[0]["problem"].replace("3", "4"), "answer": "0"}
    assert changed["problem"] != rows[0]["problem"]
    f = tmp_path / "variants.jsonl"
    f.write_text("".join(json.dumps(v) + "\n" for v in variants + [changed]))
    ingest_files([shared_data / "benchmarks" / "math_test.jsonl"], "math_test", "problems")
    ingest_files([shared_data / "benchmarks" / "math500.jsonl"], "math500", "problems")
    ingest_files([f], "variants", "problems")
    curate(ws, "dedup", show_progress=False)
    with ws.reader() as cat:
        pc = {r[0]: r[1:] for r in cat.con.execute(
            "SELECT problem_id, canonical_problem_id, kind, similarity FROM problem_clusters").fetchall()}
        math500_src = cat.con.execute("SELECT count(DISTINCT problem_id) FROM problem_sources "
                                      "WHERE source = 'math500' AND problem_id IN "
                                      "(SELECT problem_id FROM problem_sources WHERE source = 'math_test')").fetchall()[0][0]
    # MATH-500 is a subset of the MATH test set: every problem is the catalog's math_test problem
    assert math500_src == 500
    n_exact = n_near = 0
    for v in variants:
        vid, pid = problem_id(v["problem"]), problem_id(v["of"])
        if vid == pid:
            continue  # only whitespace changed: the same catalog problem already
        canon = pc[pid][0] if pid in pc else pid
        if v["kind"] == "exact":
            assert pc[vid][:2] == (canon, "exact")
            n_exact += 1
        elif _char_jaccard(v["problem"], v["of"]) >= 0.92:  # independent char 5-gram Jaccard
            assert pc[vid][:2] == (canon, "near"), v["problem"][:60]
            n_near += 1
        elif _char_jaccard(v["problem"], v["of"]) < 0.88:
            assert vid not in pc
    assert n_exact >= 30 and n_near >= 20
    assert problem_id(changed["problem"]) not in pc


def test_semantic_problem_duplicates(ws, ingest_files, tmp_path):
    pytest.importorskip("sentence_transformers")
    probs = [
        {"id": "a", "problem": "What is the sum of the first 10 positive integers?", "answer": "55"},
        {"id": "b", "problem": "Find the sum of the first 10 positive integers.", "answer": "55"},
        {"id": "c", "problem": "What is the sum of the first 12 positive integers?", "answer": "78"},
        {"id": "d", "problem": "How many primes are less than 30?", "answer": "10"},
    ]
    f = tmp_path / "p.jsonl"
    f.write_text("".join(json.dumps(p) + "\n" for p in probs))
    ingest_files([f], "p", "problems")
    curate(ws, "dedup", show_progress=False, dedup_semantic=True)
    from distillate.curate.ids import problem_id

    with ws.reader() as cat:
        pc = {r[0]: r[1:] for r in cat.con.execute(
            "SELECT problem_id, canonical_problem_id, kind FROM problem_clusters").fetchall()}
    pid = {p["id"]: problem_id(p["problem"]) for p in probs}
    assert pc[pid["b"]] == (pid["a"], "semantic")
    assert pid["c"] not in pc and pid["d"] not in pc  # other numbers / other problem


def test_cli_curate_dedup_and_report_json(planted, copy_ws):
    from typer.testing import CliRunner

    from distillate.cli import app

    ws2 = copy_ws(planted[0])
    runner = CliRunner()
    r = runner.invoke(app, ["curate", "--stages", "dedup", "--dedup-keep", "longest", "-w", str(ws2.root), "-q"])
    assert r.exit_code == 0, r.output
    assert "near_duplicates=" in r.output
    r = runner.invoke(app, ["report", "--json", "-w", str(ws2.root)])
    rep = json.loads(r.stdout)["dedup"]
    assert rep["near_duplicates"] > 0 and rep["exact_duplicates"] > 0
    assert rep["per_source"]["syn"]["near_duplicates"] == rep["near_duplicates"]
    r = runner.invoke(app, ["curate", "--stages", "dedup", "--dedup-keep", "newest", "-w", str(ws2.root), "-q"])
    assert r.exit_code != 0 and "keep policy" in str(r.exception)
