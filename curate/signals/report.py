"""The signals section of `distillate report` (JSON numbers + rich tables) and its HTML charts."""

from __future__ import annotations

import base64
import io
from typing import Any

HIST_BINS = (0, 500, 1000, 2000, 4000, 8000, 16000, 32000)
_QS = ("p10", "p25", "p50", "p75", "p90", "p99")


def report_section(cat) -> dict[str, Any]:
    """Counts (truncated, looping, unsuitable_problem, ...), token quantiles, per-source distributions,
    marker kinds and problem reasons. All SQL in sql/queries/signals/*.sql."""
    s = cat.query("signals/summary")[0]
    s = {k: (0 if v is None and k not in ("token_quantiles", "max_tokens", "markers_per_1k_mean", "tokenizers")
             else v) for k, v in s.items()}  # aggregates over no rows are NULL: counts are 0
    q = s.pop("token_quantiles") or []
    s["token_quantiles"] = {k: (round(v, 1) if v is not None else None) for k, v in zip(_QS, q)} if q else {}
    s["tokenizers"] = [t for t in (s["tokenizers"] or []) if t is not None]
    s["markers"] = int(s["markers"] or 0)
    by_source = {}
    for r in cat.query("signals/by_source"):
        src = r.pop("source")
        tq = r.pop("token_quantiles") or [None] * 3
        r["token_quantiles"] = {k: (round(v, 1) if v is not None else None) for k, v in zip(("p10", "p50", "p90"), tq)}
        r["markers"], r["token_histogram"] = {}, {str(b): 0 for b in HIST_BINS}
        by_source[src] = r
    for r in cat.query("signals/marker_kinds"):
        if r["source"] in by_source:
            by_source[r["source"]]["markers"][r["kind"]] = {"n": r["n"], "per_1k": r["per_1k"]}
    for r in cat.query("signals/token_histogram"):
        if r["source"] in by_source:
            by_source[r["source"]]["token_histogram"][str(r["lo"])] = r["n"]
    s["by_source"] = by_source
    s["problem_reasons"] = cat.query("signals/problem_reasons")[0]
    return s


def _bar(counts: list[int]) -> str:
    blocks = " ▁▂▃▄▅▆▇█"
    top = max(counts) or 1
    return "".join(blocks[min(8, -(-8 * c // top))] if c else "·" for c in counts)


def render_section(console, data: dict[str, Any]) -> None:
    from rich.table import Table

    if not data.get("with_signals"):
        console.print("[bold]Signals[/]: not computed yet (run `distillate curate --stages stats`)")
        return
    tq = data["token_quantiles"]
    console.print(
        f"[bold]Signals[/] ({', '.join(data['tokenizers'])}): {data['with_signals']:,}/{data['traces']:,} traces; "
        f"truncated {data['truncated']:,}, looping {data['looping']:,}, language-mixed {data['language_mixed']:,}, "
        f"bad format {data['format_bad']:,}, thought/solution answers disagree {data['answers_disagree']:,}, "
        f"errors {data['errors']:,}; traces of unsuitable problems {data['unsuitable_problem']:,} "
        f"({data['unsuitable_problems']:,}/{data['problems_with_signals']:,} problems). "
        f"Tokens p10/p50/p90/p99: {tq.get('p10')}/{tq.get('p50')}/{tq.get('p90')}/{tq.get('p99')}, "
        f"max {data['max_tokens']}")
    t = Table(title="Signals per source (token histogram bins: 0 .5k 1k 2k 4k 8k 16k 32k+)")
    for c in ("source", "traces", "trunc", "loop", "mixed", "unsuit.", "tok p50", "p90", "histogram", "mk/1k"):
        t.add_column(c, justify="left" if c in ("source", "histogram") else "right")
    for src, r in data["by_source"].items():
        q = r["token_quantiles"]
        t.add_row(src, f"{r['traces']:,}", f"{r['truncated_rate']:.1%}", f"{r['looping_rate']:.1%}",
                  f"{(r['language_mixed_rate'] or 0):.1%}", f"{r['unsuitable_problem']:,}",
                  *(f"{q[k]:,.0f}" if q[k] is not None else "-" for k in ("p50", "p90")),
                  _bar(list(r["token_histogram"].values())), f"{r['markers_per_1k'] or 0:.2f}")
    console.print(t)
    m = Table(title="Reflection markers per source (count, per 1k tokens)")
    m.add_column("source")
    m.add_column("markers")
    for src, r in data["by_source"].items():
        top = sorted(r["markers"].items(), key=lambda kv: -kv[1]["n"])
        m.add_row(src, ", ".join(f"{k} {v['n']:,} ({v['per_1k']})" for k, v in top) or "-")
    console.print(m)
    pr = data["problem_reasons"]
    console.print("[bold]Problem flags[/]: " + ", ".join(f"{k} {pr[k]:,}" for k in
                  ("image", "proof", "multiple_choice", "multi_part", "no_reference", "unsuitable")))


# ---- HTML charts (matplotlib, inline PNG) ------------------------------------------------------------

def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def charts(cat, report: dict[str, Any]) -> dict[str, str]:
    """name -> data URI of each chart for the HTML report (missing when there is nothing to plot)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    out: dict[str, str] = {}
    funnel = [f for f in report.get("funnel", []) if f["ran"]]
    if funnel:
        fig, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * (len(funnel) + 1)))
        labels = ["ingested"] + [f"minus {f['step']}" for f in funnel]
        vals = [report["totals"]["traces"]] + [f["remaining"] for f in funnel]
        ax.barh(labels[::-1], vals[::-1], color="#4c78a8")
        for i, v in enumerate(vals[::-1]):
            ax.text(v, i, f" {v:,}", va="center", fontsize=8)
        ax.set_xlabel("traces left")
        ax.set_title("Curation funnel")
        out["funnel"] = _png(fig)
    sig = report.get("signals") or {}
    if sig.get("with_signals"):
        rows = cat.query("signals/token_lengths")
        by: dict[str, list[int]] = {}
        for r in rows:
            by.setdefault(r["source"], []).append(r["n_tokens"])
        fig, ax = plt.subplots(figsize=(8, 4))
        lo = max(1, min(min(v) for v in by.values()))
        hi = max(max(v) for v in by.values())
        bins = np.logspace(np.log10(lo), np.log10(max(hi, lo + 1) * 1.05), 40)
        for src, v in sorted(by.items()):
            ax.hist(np.maximum(v, lo), bins=bins, histtype="step", linewidth=1.5, label=f"{src} (n={len(v):,})")
        ax.set_xscale("log")
        ax.set_xlabel("tokens per trace (thought + solution)")
        ax.set_ylabel("traces")
        ax.set_title("Token lengths per source")
        ax.legend(fontsize=7)
        out["tokens"] = _png(fig)

        srcs = list(sig["by_source"])
        fig, ax = plt.subplots(figsize=(8, 0.8 + 0.4 * len(srcs)))
        y = np.arange(len(srcs))
        for i, (k, color) in enumerate((("truncated_rate", "#e45756"), ("looping_rate", "#f58518"),
                                        ("language_mixed_rate", "#72b7b2"))):
            ax.barh(y + (i - 1) * 0.27, [sig["by_source"][s][k] or 0 for s in srcs], height=0.27, color=color,
                    label=k.removesuffix("_rate").replace("_", " "))
        ax.set_yticks(y, srcs, fontsize=8)
        ax.set_xlabel("share of the source's traces")
        ax.set_title("Truncation and loop rates")
        ax.legend(fontsize=7)
        out["rates"] = _png(fig)

        kinds = sorted({k for s in srcs for k in sig["by_source"][s]["markers"]})
        if kinds:
            fig, ax = plt.subplots(figsize=(8, 0.8 + 0.4 * len(srcs)))
            left = np.zeros(len(srcs))
            cmap = plt.get_cmap("tab10")
            for j, k in enumerate(kinds):
                v = np.array([sig["by_source"][s]["markers"].get(k, {}).get("per_1k", 0) or 0 for s in srcs])
                ax.barh(y, v, left=left, color=cmap(j % 10), label=k)
                left += v
            ax.set_yticks(y, srcs, fontsize=8)
            ax.set_xlabel("reflection markers per 1k tokens")
            ax.set_title("Markers per source and kind")
            ax.legend(fontsize=7, ncol=3)
            out["markers"] = _png(fig)
    return out
