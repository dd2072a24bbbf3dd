"""train/: recipe parsing (YAML then flags, unknown keys refused) and real SFT of a tiny random Qwen2 model
(the shared Qwen tokenizer's vocabulary) on a small build of real traces, in one and two stages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from distillate.errors import DistillateError

pytest.importorskip("trl")


def write_build(d: Path, rows: list[dict], name: str, ablations: dict | None = None) -> Path:
    """A build folder in the build engineer's shape (sft.jsonl messages rows + manifest.json)."""
    d.mkdir(parents=True, exist_ok=True)
    with open(d / "sft.jsonl", "w", encoding="utf-8") as f:
        for r in rows:
            answer = f"<think>\n{r['thought'][:300]}\n</think>\n\n{(r['solution'] or '')[:150]}"
            f.write(json.dumps({"messages": [{"role": "user", "content": r["problem"]},
                                             {"role": "assistant", "content": answer}],
                                "trace_id": r["id"], "problem_id": r["id"], "source": "real", "n_tokens": 0}) + "\n")
    (d / "manifest.json").write_text(json.dumps({"name": name, "variant": "", "recipe_sha256": "f" * 64,
                                                 "counts": {"kept": len(rows)}, "ablations": ablations or {}}))
    return d


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, qwen_tokenizer_path):
    from distillate.train.tiny import make_tiny_model

    return make_tiny_model(qwen_tokenizer_path, tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def build(tmp_path_factory, shared_data):
    rows = [json.loads(x) for x in open(shared_data / "traces" / "thought_anchors_r1distill_math.jsonl")]
    rows = [r for r in rows if r.get("thought")][:8]
    root = tmp_path_factory.mktemp("build") / "b"
    write_build(root, rows, "tiny-build", {"short": {"dir": "short", "kept": 4}})
    write_build(root / "short", rows[:4], "tiny-build")
    return root


def recipe(tmp_path: Path, model: Path, **extra) -> Path:
    # High learning rate, short sequences: a few CPU steps must visibly lower the loss.
    cfg = {"model_name_or_path": str(model), "learning_rate": 0.005, "max_length": 64,
           "per_device_train_batch_size": 2, "gradient_checkpointing": False, "logging_steps": 1,
           "save_strategy": "no", "max_steps": 6, "seed": 0, **extra}
    p = tmp_path / "recipe.yaml"
    import yaml

    p.write_text(yaml.safe_dump(cfg))
    return p


def test_yaml_then_flags(tmp_path, tiny_model):
    from distillate.train import parse_config

    cfg = parse_config(recipe(tmp_path, tiny_model, packing=False), ["--learning_rate", "1e-4", "--packing", "true",
                                                                      "--use_lora", "true", "--lora_r", "4"])
    assert cfg.sft.learning_rate == 1e-4 and cfg.sft.packing is True       # flags win over the YAML
    assert cfg.sft.max_length == 64 and cfg.sft.max_steps == 6              # the YAML wins over defaults
    assert cfg.lora.use_lora and cfg.lora.lora_r == 4
    assert cfg.given["learning_rate"] == 1e-4 and cfg.given["max_length"] == 64


@pytest.mark.parametrize("extra, flags, msg", [
    ({"learning_rat": 0.1}, [], "learning_rat (did you mean learning_rate?)"),
    ({}, ["--no_such_flag", "1"], "no_such_flag"),
    ({"output_dir": "/tmp/x"}, [], "output_dir is chosen by distillate"),
    ({"stages": 2}, [], "stage1_subset"),
    ({"stages": 3}, [], "stages must be 1 or 2"),
])
def test_bad_settings_are_refused(tmp_path, tiny_model, extra, flags, msg):
    from distillate.train import parse_config

    with pytest.raises(DistillateError, match=msg.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        parse_config(recipe(tmp_path, tiny_model, **extra), flags)


def test_bad_build_is_refused(tmp_path, ws, tiny_model, build):
    from distillate.train import train

    with pytest.raises(DistillateError, match="not a build"):
        train(ws, tmp_path, recipe(tmp_path, tiny_model), show_progress=False)
    with pytest.raises(DistillateError, match="ablations: short"):
        train(ws, build, recipe(tmp_path, tiny_model), ["--stages", "2", "--stage1_subset", "nope"],
              show_progress=False)


def _weights(path):
    import transformers

    m = transformers.AutoModelForCausalLM.from_pretrained(str(path))
    return {k: v.detach().clone() for k, v in m.state_dict().items()}


def test_two_stage_training(tmp_path, ws, tiny_model, build):
    import torch

    from distillate.train import train

    res = train(ws, build, recipe(tmp_path, tiny_model, run_name="two"),
                ["--stages", "2", "--stage1_subset", "short", "--stage1_max_steps", "3", "--max_steps", "4"],
                show_progress=False)
    s1, s2 = res.stages
    assert (s1["rows"], s1["steps"], s2["rows"], s2["steps"]) == (4, 3, 8, 4)
    assert s1["data"].endswith("short/sft.jsonl") and s2["data"] == str(build / "sft.jsonl")
    # stage 2 starts from stage 1's final weights, which differ from the random base
    assert s2["start_from"] == s1["final"] == str(ws.root / "runs" / "two" / "stage1" / "final")
    base, w1 = _weights(tiny_model), _weights(s1["final"])
    assert any(not torch.equal(base[k], w1[k]) for k in base)
    # and its first loss is already below stage 1's first (the base model's) loss
    assert s2["first_loss"] < s1["first_loss"]
    assert s2["last_loss"] < s2["first_loss"]                       # loss goes down
    run = json.loads((res.run_dir / "run.json").read_text())
    import hashlib

    assert run["build_manifest_sha256"] == hashlib.sha256((build / "manifest.json").read_bytes()).hexdigest()
    assert run["final_model"] == s2["final"] and (res.run_dir / "loss.png").stat().st_size > 1000
    with ws.reader() as cat:
        rec = cat.con.execute("SELECT run_name, final_model, build_manifest_sha256 FROM train_runs").fetchall()
    assert rec == [("two", s2["final"], run["build_manifest_sha256"])]


def test_lora_assistant_only_one_stage(tmp_path, ws, tiny_model, build):
    import transformers

    from distillate.train import train

    import trl

    # The shared Qwen3 tokenizer's template has no {% generation %} markers and is not one TRL knows:
    # assistant-only loss is refused with a hint, and works with TRL's Qwen3 training template.
    with pytest.raises(DistillateError, match="chat_template_path"):
        train(ws, build, recipe(tmp_path, tiny_model, assistant_only_loss=True), show_progress=False)
    template = Path(trl.__file__).parent / "chat_templates" / "qwen3_training.jinja"
    res = train(ws, build, recipe(tmp_path, tiny_model, run_name="lora", use_lora=True, lora_r=8, max_steps=4,
                                  assistant_only_loss=True, chat_template_path=str(template), learning_rate=0.02),
                show_progress=False)
    (s,) = res.stages
    assert s["steps"] == 4 and s["last_loss"] < s["first_loss"]
    # the adapters are merged: the final folder is a plain model that from_pretrained reloads
    m = transformers.AutoModelForCausalLM.from_pretrained(str(res.final_model))
    assert not any("lora" in k for k in m.state_dict())
    assert (res.final_model / "tokenizer_config.json").exists()


def test_cli_passes_flags_through(tmp_path, tiny_model, build):
    from typer.testing import CliRunner

    from distillate.cli import app

    rec = recipe(tmp_path, tiny_model)
    r = CliRunner().invoke(app, ["train", str(rec), "--build", str(build), "-w", str(tmp_path / "ws"),
                                 "--learning_rat", "1"])
    assert isinstance(r.exception, DistillateError) and "--learning_rat" in str(r.exception)
    # known flags pass, then the missing ablation is reported
    r = CliRunner().invoke(app, ["train", str(rec), "--build", str(build), "-w", str(tmp_path / "ws"),
                                 "--stages", "2", "--stage1_subset", "missing"])
    assert isinstance(r.exception, DistillateError) and "ablations: short" in str(r.exception)
