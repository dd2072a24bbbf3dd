"""The tiny train (one and two stages) and eval (transformers backend, aime24) of issue 10, timed: run it on a
GPU machine (it uses CUDA when torch sees it) or here on CPU with --small.

    .venv/bin/python bench/gpu_train_eval.py --prepare .gpu        # here: copy the inputs + wheels list into .gpu/
    python3 .gpu/gpu_train_eval.py OUT_DIR [--small]                # there: inputs read from the script's folder
    .venv/bin/python bench/gpu_train_eval.py --record OUT_DIR/figures.json  # here: bench/results/gpu_train_eval.json

--prepare copies this script, the shared Qwen tokenizer, aime24.jsonl and 64 real traces (thoughts cut to 4,000
characters) into DIR, so DIR alone travels to a machine without ../shared/data. The device machine here lacks
trl, datasets, duckdb, orjson, math-verify (+ latex2sympy2_extended, antlr4-python3-runtime 4.13.2), rapidfuzz,
datasketch, dill, multiprocess and distillate itself: carry them as py3.12 wheels (docs/train_eval.md)."""
import json, shutil, sys, time
from pathlib import Path

if "--record" in sys.argv:  # the device has no git checkout: the result file is written here, from its figures
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench.results import write_result

    fig = json.loads(Path(sys.argv[sys.argv.index("--record") + 1]).read_text())
    write_result("gpu_train_eval", figures=fig, baselines={},
                 workload="tiny random Qwen2 (151,669-token vocabulary) on 64 real traces (thoughts cut to 4,000 "
                          "characters), max_length 1024, batch 8: one stage of 60 steps, two stages (30 on the short "
                          "subset, then 60), eval of aime24 x 4 samples of up to 512 tokens (transformers backend)",
                 notes=f"measured on the device machine ({fig.get('device')}, torch {fig.get('torch')}); machine "
                       "below is where the figures were recorded; no baseline (a run-once check)")
    sys.exit(0)

if "--prepare" in sys.argv:
    dest = Path(sys.argv[sys.argv.index("--prepare") + 1])
    shared = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    shared = shared if shared.exists() else Path("/work/shared/data")
    (dest / "data" / "benchmarks").mkdir(parents=True, exist_ok=True)
    shutil.copytree(shared / "tokenizers" / "qwen3", dest / "data" / "tok", dirs_exist_ok=True)
    shutil.copy(shared / "benchmarks" / "aime24.jsonl", dest / "data" / "benchmarks")
    rows = [json.loads(x) for x in open(shared / "traces" / "thought_anchors_r1distill_math.jsonl")]
    with open(dest / "data" / "traces.jsonl", "w") as f:
        for r in [r for r in rows if r.get("thought")][:64]:
            f.write(json.dumps({"id": r["id"], "problem": r["problem"], "thought": r["thought"][:4000],
                                "solution": (r.get("solution") or "")[:800]}) + "\n")
    shutil.copy(__file__, dest / "gpu_train_eval.py")
    print(f"inputs in {dest}")
    sys.exit(0)

import torch
import yaml

from distillate.curate import Workspace
from distillate.eval import EvalConfig, evaluate
from distillate.train import train
from distillate.train.tiny import make_tiny_model

HERE = Path(__file__).resolve().parent
out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
small = "--small" in sys.argv
work = Path("/tmp/gpu-check"); work.mkdir(parents=True, exist_ok=True)
cuda = torch.cuda.is_available()
fig = {"torch": torch.__version__, "cuda": cuda, "device": torch.cuda.get_device_name(0) if cuda else "cpu"}
print(fig, flush=True)

t = time.perf_counter()
model = make_tiny_model(HERE / "data" / "tok", work / "model")
fig["make_tiny_model_s"] = round(time.perf_counter() - t, 2)

rows = [json.loads(x) for x in open(HERE / "data" / "traces.jsonl")]
def write_build(d, rs, name, ablations=None):
    d.mkdir(parents=True, exist_ok=True)
    with open(d / "sft.jsonl", "w") as f:
        for r in rs:
            a = f"<think>\n{r['thought']}\n</think>\n\n{r['solution']}"
            f.write(json.dumps({"messages": [{"role": "user", "content": r["problem"]}, {"role": "assistant", "content": a}],
                                "trace_id": r["id"], "problem_id": r["id"], "source": "real", "n_tokens": 0}) + "\n")
    (d / "manifest.json").write_text(json.dumps({"name": name, "variant": "", "recipe_sha256": "f" * 64,
                                                 "counts": {"kept": len(rs)}, "ablations": ablations or {}}))
build = work / "build"
write_build(build, rows, "gpu-build", {"short": {"dir": "short", "kept": len(rows) // 2}})
write_build(build / "short", rows[: len(rows) // 2], "gpu-build")

ws = Workspace(work / "ws")
steps1, steps2 = (3, 4) if small else (30, 60)
cfg = {"model_name_or_path": str(model), "learning_rate": 0.003, "max_length": 256 if small else 1024,
       "per_device_train_batch_size": 8, "gradient_checkpointing": False, "logging_steps": 1,
       "save_strategy": "no", "seed": 0, "bf16": cuda}
(work / "recipe.yaml").write_text(yaml.safe_dump(cfg))
for label, flags in (("one_stage", ["--max_steps", str(steps2), "--run_name", "one"]),
                     ("two_stage", ["--stages", "2", "--stage1_subset", "short", "--stage1_max_steps", str(steps1),
                                    "--max_steps", str(steps2), "--run_name", "two"])):
    t = time.perf_counter()
    res = train(ws, build, work / "recipe.yaml", flags, show_progress=False)
    fig[label] = {"seconds": round(time.perf_counter() - t, 2),
                  "stages": [{k: s[k] for k in ("rows", "steps", "first_loss", "last_loss")} for s in res.stages]}
    print(label, fig[label], flush=True)
    for f in ("run.json", "loss.png"):
        if (res.run_dir / f).exists():
            (out / f"{label}_{f}").write_bytes((res.run_dir / f).read_bytes())

final = json.loads((work / "ws" / "runs" / "two" / "run.json").read_text())["final_model"]
ecfg = EvalConfig(model=final, backend="transformers", benchmarks=["aime24"], benchmarks_dir=str(HERE / "data" / "benchmarks"),
                  n=4, max_tokens=32 if small else 512, budgets=[16] if small else [128, 256], temperature=0.6,
                  batch_size=120, tokenizer=str(HERE / "data" / "tok"))
t = time.perf_counter()
r = evaluate(ws, ecfg, work / "eval", show_progress=False)
fig["eval"] = {"seconds": round(time.perf_counter() - t, 2), "samples": 30 * ecfg.n, "max_tokens": ecfg.max_tokens}
res = json.loads((work / "eval" / "results.json").read_text())
m = res["benchmarks"]["aime24"]
fig["eval"].update({k: m[k] for k in ("pass@k", "tokens") if k in m})
for f in ("results.json", "accuracy_vs_tokens.png"):
    if (work / "eval" / f).exists():
        (out / f"eval_{f}").write_bytes((work / "eval" / f).read_bytes())
print(json.dumps(fig, indent=1), flush=True)
(out / "figures.json").write_text(json.dumps(fig, indent=1))
