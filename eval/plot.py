"""Accuracy against output tokens: one panel per benchmark, one line per run (budgets + the full run)."""

from __future__ import annotations

import json
from pathlib import Path

from distillate.errors import DistillateError


def _load(run: Path) -> dict:
    f = run / "results.json" if run.is_dir() else run
    if not f.is_file():
        raise DistillateError(f"{run} holds no results.json (an eval output folder is expected)")
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DistillateError(f"{f} is not valid JSON: {e}") from e


def curve(bench: dict) -> list[tuple[float, float, str]]:
    """(mean output tokens, accuracy, label) points: each budget, then the uncut generations."""
    pts = [(e["mean_tokens"], e["accuracy"], b) for b, e in sorted(bench["budgets"].items(), key=lambda x: int(x[0]))]
    pts.append((bench["tokens"]["mean"], bench["accuracy"], "full"))
    return pts


def _model_label(model: str) -> str:
    """A trained run's weights sit in runs/<name>/stageN/final: show <name>/stageN, not 'final'."""
    p = Path(model.rstrip("/"))
    return "/".join(p.parts[-3:-1]) if p.name == "final" and len(p.parts) >= 3 else p.name


def plot_runs(runs: list[str | Path], out: str | Path, labels: list[str] | None = None) -> Path:
    """Write a PNG comparing runs (eval output folders or results.json files)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not runs:
        raise DistillateError("give at least one eval run folder")
    loaded = [_load(Path(r)) for r in runs]
    names = labels or [f"{_model_label(r['model'])} ({r['run_id'][-6:]})" for r in loaded]
    benches = sorted({b for r in loaded for b in r["benchmarks"]})
    if not benches:
        raise DistillateError("the runs hold no benchmark results")
    fig, axes = plt.subplots(1, len(benches), figsize=(5 * len(benches), 4), squeeze=False)
    for ax, b in zip(axes[0], benches):
        for i, (r, name) in enumerate(zip(loaded, names)):  # one colour per run across panels
            if b not in r["benchmarks"]:
                continue
            pts = curve(r["benchmarks"][b])
            line, = ax.plot([p[0] for p in pts], [100 * p[1] for p in pts], marker="o", color=f"C{i % 10}", label=name)
            forced = [(e["mean_tokens"], e["forced_accuracy"]) for _, e in sorted(
                r["benchmarks"][b]["budgets"].items(), key=lambda x: int(x[0])) if "forced_accuracy" in e]
            if forced:
                ax.plot([p[0] for p in forced], [100 * p[1] for p in forced], marker="x", linestyle="--",
                        color=line.get_color(), label=f"{name}, budget forcing")
        ax.set_ylim(0, max(ax.get_ylim()[1], 5))
        ax.set_title(b)
        ax.set_xlabel("mean output tokens")
        ax.set_ylabel("accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
