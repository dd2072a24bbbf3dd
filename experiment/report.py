"""An experiment's outputs: per-benchmark metrics of each run, comparison.md (variant x benchmark, with the
difference to the baseline), accuracy_vs_tokens.png (every variant's budget curve, the baseline and
optional published reference points) and accuracy_vs_size.png (for `sizes`)."""

from __future__ import annotations

import json
from pathlib import Path

BASELINE_LABEL = "baseline (before fine-tuning)"


def metrics_of(eval_dir: Path) -> dict:
    """experiment.json `metrics`: per benchmark accuracy, pass@k, maj@k, mean output tokens, budgets."""
    res = json.loads((eval_dir / "results.json").read_text(encoding="utf-8"))
    return {b: {"accuracy": m["accuracy"], "pass@k": m["pass@k"], "maj@k": m["maj@k"],
                "mean_tokens": m["tokens"]["mean"], "n_problems": m["n_problems"],
                "n_samples_per_problem": m["n_samples_per_problem"], "no_answer": m["no_answer"],
                "budgets": m["budgets"]}
            for b, m in res["benchmarks"].items()}


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _delta(x, base, pct: bool = True) -> str:
    if x is None or base is None:
        return "–"
    d = x - base
    return f"{100 * d:+.1f} pp" if pct else f"{d:+.0f}"


def comparison_md(state: dict) -> str:
    base = state.get("baseline") or {}
    bm = base.get("metrics") or {}
    ev = state["eval"]
    benches = sorted({b for v in state["variants"] for b in (v.get("metrics") or {})} | set(bm))
    budgets = sorted({int(k) for m in [bm] + [v.get("metrics") or {} for v in state["variants"]]
                      for b in m.values() for k in b["budgets"]})
    build = state.get("build") or {}
    md = [f"# Experiment: {state['name']}", "",
          f"Base model `{state['base_model']}`"
          + (f" (made at `{state['base_model_path']}`)" if state.get("base_model_path") and
             state["base_model_path"] != state["base_model"] else "")
          + f"; build `{build.get('dir')}` ({build.get('name')}, build id `{build.get('build_id')}`).",
          "", "Every model is evaluated with the identical protocol: "
          + ", ".join(f"{k} {v}" for k, v in sorted(ev.items())) + ". The baseline is the base model before "
          "fine-tuning; differences are to it (pp: percentage points).", "",
          "Training: " + ", ".join(f"{k} {v}" for k, v in sorted(state["train"].items())) + ".", ""]
    for b in benches:
        md += [f"## {b}", ""]
        head = ["variant", "kind", "train rows", "accuracy", "vs baseline", "pass@k", "maj@k", "mean tokens",
                "tokens vs baseline"] + [f"acc @{n}" for n in budgets]
        md += ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
        rows = [(BASELINE_LABEL, "–", "–", bm.get(b))] + [
            (v["name"], v["kind"], v.get("rows"), (v.get("metrics") or {}).get(b)) for v in state["variants"]]
        for name, kind, n, m in rows:
            if m is None:
                md.append("| " + " | ".join([name, kind, str(n), "not evaluated"] + ["–"] * (len(head) - 4)) + " |")
                continue
            k = max(m["pass@k"], key=int) if m["pass@k"] else None
            b0 = bm.get(b)
            md.append("| " + " | ".join([
                name, kind, f"{n:,}" if isinstance(n, int) else str(n), _pct(m["accuracy"]),
                "–" if name == BASELINE_LABEL else _delta(m["accuracy"], b0 and b0["accuracy"]),
                f"@{k} {_pct(m['pass@k'][k])}" if k else "–", f"@{k} {_pct(m['maj@k'][k])}" if k else "–",
                f"{m['mean_tokens']:.0f}",
                "–" if name == BASELINE_LABEL else _delta(m["mean_tokens"], b0 and b0["mean_tokens"], pct=False)]
                + [_pct((m["budgets"].get(str(n_)) or {}).get("accuracy")) for n_ in budgets]) + " |")
        md.append("")
    md += ["Plots: `accuracy_vs_tokens.png`" + (", `accuracy_vs_size.png`" if state.get("sizes") else "") + ".", "",
           "Runs (a variant whose data equal another's shares its runs):", ""]
    md += [f"- {v['name']}: train `{v.get('train_run_id')}`, eval `{v.get('eval_run_id')}`, data sha256 "
           f"`{(v.get('data_fingerprint') or '?')[:16]}`" for v in state["variants"]]
    md += [f"- baseline: eval `{base.get('eval_run_id')}`"]
    return "\n".join(md) + "\n"


def plot_sizes(state: dict, path: Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sized = sorted((v for v in state["variants"] if v["kind"] == "size" and v.get("metrics")), key=lambda v: v["rows"])
    if not sized:
        return None
    benches = sorted({b for v in sized for b in v["metrics"]})
    base = (state.get("baseline") or {}).get("metrics") or {}
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, b in enumerate(benches):
        pts = [(v["rows"], 100 * v["metrics"][b]["accuracy"]) for v in sized if b in v["metrics"]]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", color=f"C{i}", label=b)
        if b in base:
            ax.axhline(100 * base[b]["accuracy"], color=f"C{i}", linestyle="--", linewidth=1,
                       label=f"{b}, {BASELINE_LABEL}")
    ax.set_xlabel("training rows (nested seeded subsets)")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, max(ax.get_ylim()[1], 5))
    ax.set_title(f"{state['name']}: accuracy against training-set size")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_reports(state: dict, out: Path, reference: str | None = None, index: dict | None = None) -> dict:
    """comparison.md (with the Transparency Index when given) and the plots; returns their paths."""
    from distillate.eval import plot_runs

    md = comparison_md(state)
    if index is not None:
        from .transparency import render_markdown

        md = md.rstrip("\n") + "\n\n" + "\n".join(render_markdown(index)) + "\n"
    (out / "comparison.md").write_text(md, encoding="utf-8")
    # one curve per eval run: variants that share a run (identical data) share its curve and its label
    runs: dict[str, list[str]] = {}
    base = state.get("baseline") or {}
    if base.get("eval_dir"):
        runs[base["eval_dir"]] = [BASELINE_LABEL]
    for v in state["variants"]:
        if v.get("eval_dir"):
            runs.setdefault(v["eval_dir"], []).append(v["name"])
    files = {"comparison": str(out / "comparison.md")}
    if index is not None:
        files["transparency"] = str(out / "transparency.json")
    if runs:
        files["accuracy_vs_tokens"] = str(plot_runs(list(runs), out / "accuracy_vs_tokens.png",
                                                    labels=[" = ".join(n) for n in runs.values()],
                                                    reference=reference))
    sizes = plot_sizes(state, out / "accuracy_vs_size.png")
    if sizes:
        files["accuracy_vs_size"] = str(sizes)
    return files
