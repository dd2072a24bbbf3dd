"""`distillate diff DIR_A DIR_B`: what changed between two builds (or two ablations of one build).

Traces added (in B, not A) and removed (in A, not B) with B's (resp. A's) reasons for dropping them,
per-source counts, length quantiles, and which recipe keys and catalog state differ."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson

from distillate.errors import DistillateError


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, "rb") as f:
        return [orjson.loads(line) for line in f if line.strip()]


def _load(d: Path) -> dict:
    d = Path(d)
    if not (d / "manifest.json").is_file() or not (d / "sft.jsonl").is_file():
        raise DistillateError(f"{d} is not a build folder (no manifest.json / sft.jsonl): "
                              "pass folders written by `distillate build`")
    return {"dir": d, "manifest": orjson.loads((d / "manifest.json").read_bytes()),
            "sft": {r["trace_id"]: r for r in _read_jsonl(d / "sft.jsonl")},
            "dropped": ({r["trace_id"]: r for r in _read_jsonl(d / "dropped.jsonl")}
                        if (d / "dropped.jsonl").is_file() else {})}


def _chars(row: dict) -> int:
    conv = row.get("messages") or (row.get("prompt", []) + row.get("completion", []))
    a = conv[-1] if conv else {}
    return len(a.get("content") or "") + len(a.get("reasoning_content") or "")


def _quantiles(vals: list[int]) -> dict:
    if not vals:
        return {}
    s = sorted(vals)
    q = lambda p: s[min(len(s) - 1, int(p * (len(s) - 1) + 0.5))]  # noqa: E731
    return {"n": len(s), "p10": q(0.1), "p50": q(0.5), "p90": q(0.9), "max": s[-1],
            "mean": round(sum(s) / len(s), 1)}


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def diff(dir_a: str | Path, dir_b: str | Path, limit: int = 20) -> dict:
    """The differences between two build folders as a JSON-able dict."""
    a, b = _load(dir_a), _load(dir_b)
    ids_a, ids_b = set(a["sft"]), set(b["sft"])
    added = sorted(ids_b - ids_a, key=lambda t: (b["sft"][t]["source_id"], t))
    removed = sorted(ids_a - ids_b, key=lambda t: (a["sft"][t]["source_id"], t))

    def why(build, tid):
        r = build["dropped"].get(tid)
        return r["reasons"] if r else ["not a candidate"]

    removed_by = Counter(x for t in removed for x in why(b, t))
    added_by = Counter(x for t in added for x in why(a, t))
    ra = _flatten(a["manifest"].get("recipe", {}))
    rb = _flatten(b["manifest"].get("recipe", {}))
    recipe_changes = {k: {"a": ra.get(k), "b": rb.get(k)} for k in sorted(set(ra) | set(rb)) if ra.get(k) != rb.get(k)}
    src_a = Counter(r["source"] for r in a["sft"].values())
    src_b = Counter(r["source"] for r in b["sft"].values())
    # token counts when every row has one (signals ran), else characters of the assistant turn
    rows = list(a["sft"].values()) + list(b["sft"].values())
    unit = "n_tokens" if rows and all(r.get("n_tokens") is not None for r in rows) else "assistant_chars"
    measure = (lambda r: r["n_tokens"]) if unit == "n_tokens" else _chars
    len_a = [measure(r) for r in a["sft"].values()]
    len_b = [measure(r) for r in b["sft"].values()]
    return {
        "a": {"dir": str(a["dir"]), "name": a["manifest"].get("name"), "variant": a["manifest"].get("variant"),
              "rows": len(ids_a)},
        "b": {"dir": str(b["dir"]), "name": b["manifest"].get("name"), "variant": b["manifest"].get("variant"),
              "rows": len(ids_b)},
        "same_catalog": a["manifest"]["catalog"]["fingerprint"] == b["manifest"]["catalog"]["fingerprint"],
        "common": len(ids_a & ids_b),
        "added": len(added),
        "removed": len(removed),
        "added_examples": [{"trace_id": t, "source_id": b["sft"][t]["source_id"], "source": b["sft"][t]["source"],
                            "reasons_in_a": why(a, t)} for t in added[:limit]],
        "removed_examples": [{"trace_id": t, "source_id": a["sft"][t]["source_id"], "source": a["sft"][t]["source"],
                              "reasons_in_b": why(b, t)} for t in removed[:limit]],
        "removed_by_reason": dict(sorted(removed_by.items())),
        "added_by_reason_in_a": dict(sorted(added_by.items())),
        "recipe_changes": recipe_changes,
        "sources": {s: {"a": src_a.get(s, 0), "b": src_b.get(s, 0), "delta": src_b.get(s, 0) - src_a.get(s, 0)}
                    for s in sorted(set(src_a) | set(src_b))},
        "length_unit": unit,
        "lengths": {"a": _quantiles(len_a), "b": _quantiles(len_b)},
        "length_totals": {"a": sum(len_a), "b": sum(len_b)},
        "_lengths": {"a": len_a, "b": len_b},
    }


def render_diff(d: dict, console) -> None:
    from rich.table import Table

    console.print(f"[bold]A[/] {d['a']['dir']}: {d['a']['rows']:,} rows   [bold]B[/] {d['b']['dir']}: "
                  f"{d['b']['rows']:,} rows   common {d['common']:,}, [green]+{d['added']:,}[/] added, "
                  f"[red]-{d['removed']:,}[/] removed" + ("" if d["same_catalog"] else "   (different catalog state)"))
    if d["recipe_changes"]:
        t = Table(title="Recipe changes")
        for c in ("key", "A", "B"):
            t.add_column(c)
        for k, v in d["recipe_changes"].items():
            t.add_row(k, repr(v["a"]), repr(v["b"]))
        console.print(t)
    for title, key in (("Removed in B, by B's reason", "removed_by_reason"), ("Added in B, by A's reason", "added_by_reason_in_a")):
        if d[key]:
            t = Table(title=title)
            t.add_column("reason")
            t.add_column("rows", justify="right")
            for k, v in d[key].items():
                t.add_row(k, f"{v:,}")
            console.print(t)
    t = Table(title="Sources")
    for c in ("source", "A", "B", "delta"):
        t.add_column(c, justify="left" if c == "source" else "right")
    for s, v in d["sources"].items():
        t.add_row(s, f"{v['a']:,}", f"{v['b']:,}", f"{v['delta']:+,}")
    console.print(t)
    qa, qb = d["lengths"]["a"], d["lengths"]["b"]
    if qa or qb:
        t = Table(title=f"{d['length_unit']} of kept rows")
        t.add_column("")
        for k in ("n", "p10", "p50", "p90", "max", "mean"):
            t.add_column(k, justify="right")
        for label, q in (("A", qa), ("B", qb)):
            t.add_row(label, *[f"{q.get(k, '–'):,}" if isinstance(q.get(k), (int, float)) else "–"
                               for k in ("n", "p10", "p50", "p90", "max", "mean")])
        console.print(t)
    for title, key, rk in (("Added (first rows)", "added_examples", "reasons_in_a"),
                           ("Removed (first rows)", "removed_examples", "reasons_in_b")):
        if d[key]:
            t = Table(title=title)
            for c in ("source_id", "source", "why" if key == "removed_examples" else "A's reasons"):
                t.add_column(c)
            for r in d[key]:
                t.add_row(r["source_id"], r["source"], ", ".join(r[rk]))
            console.print(t)


def plot_diff(d: dict, path: Path) -> None:
    """Overlaid length histograms of A and B (n_tokens, else assistant characters)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    la, lb = d["_lengths"]["a"], d["_lengths"]["b"]
    if not la and not lb:
        raise DistillateError("both builds are empty: nothing to plot")
    fig, ax = plt.subplots(figsize=(7, 4), dpi=90)
    allv = la + lb
    lo, hi = max(1, min(allv)), max(2, max(allv))
    bins = np.geomspace(lo, hi * 1.0001, 30) if hi / lo > 20 else np.linspace(lo, hi * 1.0001, 30)
    ax.hist(la, bins=bins, alpha=0.55, label=f"A ({len(la):,})")
    ax.hist(lb, bins=bins, alpha=0.55, label=f"B ({len(lb):,})")
    if hi / lo > 20:
        ax.set_xscale("log")
    ax.set_xlabel(d["length_unit"])
    ax.set_title("kept rows: A vs B")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
