"""Accuracy against output tokens: one panel per benchmark, one line per run (budgets + the full run)."""

from __future__ import annotations

import json
from pathlib import Path

from distillate.errors import DistillateError
from distillate.log import log


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


def load_reference(path: str | Path) -> list[dict]:
    """Published reference points: a JSON list of {model, benchmark, accuracy (0-1), mean_tokens}, or an
    object holding it under "rows" (e.g. ../shared/data/reference/o1_journey_part2_results.json)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise DistillateError(f"cannot read reference file {p}: {e}") from e
    except json.JSONDecodeError as e:
        raise DistillateError(f"reference file {p} is not valid JSON: {e}") from e
    rows = data.get("rows") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise DistillateError(f"reference file {p} must hold a list of points (or an object with 'rows')")
    for i, r in enumerate(rows):
        missing = [k for k in ("model", "benchmark", "accuracy", "mean_tokens") if not isinstance(r, dict) or k not in r]
        if missing:
            raise DistillateError(f"reference file {p}: point {i} lacks {', '.join(missing)}")
        if not 0 <= float(r["accuracy"]) <= 1:
            raise DistillateError(f"reference file {p}: point {i} has accuracy {r['accuracy']} (expected 0-1)")
    return rows


def series(runs: list[str | Path], labels: list[str] | None = None,
           reference: str | Path | list[dict] | None = None) -> dict[str, list[dict]]:
    """What plot_runs draws, per benchmark: {label, x (mean output tokens), y (accuracy %), kind: run |
    forced | reference, colour index}."""
    if not runs:
        raise DistillateError("give at least one eval run folder")
    loaded = [_load(Path(r)) for r in runs]
    names = labels or [f"{_model_label(r['model'])} ({r['run_id'][-6:]})" for r in loaded]
    refs = load_reference(reference) if isinstance(reference, (str, Path)) else list(reference or [])
    benches = sorted({b for r in loaded for b in r["benchmarks"]})
    if not benches:
        raise DistillateError("the runs hold no benchmark results")
    unplaced = sorted({r["benchmark"] for r in refs} - set(benches))
    if unplaced:
        log.info("reference points for %s not drawn: no run evaluated those benchmarks", ", ".join(unplaced))
    out: dict[str, list[dict]] = {}
    for b in benches:
        lines = out.setdefault(b, [])
        for i, (r, name) in enumerate(zip(loaded, names)):  # one colour per run across panels
            if b not in r["benchmarks"]:
                continue
            pts = curve(r["benchmarks"][b])
            lines.append({"label": name, "x": [p[0] for p in pts], "y": [100 * p[1] for p in pts], "kind": "run",
                          "colour": i})
            forced = [(e["mean_tokens"], e["forced_accuracy"]) for _, e in sorted(
                r["benchmarks"][b]["budgets"].items(), key=lambda x: int(x[0])) if "forced_accuracy" in e]
            if forced:
                lines.append({"label": f"{name}, budget forcing", "x": [p[0] for p in forced],
                              "y": [100 * p[1] for p in forced], "kind": "forced", "colour": i})
        for j, p in enumerate(r for r in refs if r["benchmark"] == b):
            lines.append({"label": f"{p['model']} (reported)", "x": [float(p["mean_tokens"])],
                          "y": [100 * float(p["accuracy"])], "kind": "reference", "colour": len(loaded) + j})
    return out


def plot_runs(runs: list[str | Path], out: str | Path, labels: list[str] | None = None,
              reference: str | Path | list[dict] | None = None) -> Path:
    """Write a PNG comparing runs (eval output folders or results.json files); `reference` adds published
    points (load_reference) as stars on the panels of their benchmarks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = series(runs, labels, reference)
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
    for ax, (b, lines) in zip(axes[0], panels.items()):
        for ln in lines:
            style = {"run": dict(marker="o"), "forced": dict(marker="x", linestyle="--"),
                     "reference": dict(marker="*", markersize=13, linestyle="none", markeredgecolor="black")}
            ax.plot(ln["x"], ln["y"], color=f"C{ln['colour'] % 10}", label=ln["label"], **style[ln["kind"]])
        pos = [x for ln in lines for x in ln["x"] if x and x > 0]
        if pos and max(pos) / min(pos) > 50:  # a small model's runs beside a teacher's thousands of tokens
            ax.set_xscale("log")
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
