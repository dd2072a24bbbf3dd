"""A tiny random causal LM for smoke tests of train and eval on CPU (no download, seconds to train)."""

from __future__ import annotations

from pathlib import Path

from distillate.errors import require


def make_tiny_model(tokenizer_path: str | Path, out_dir: str | Path, hidden: int = 64, layers: int = 2,
                    seed: int = 0) -> Path:
    """A Qwen2-architecture model with random weights over the tokenizer's vocabulary, saved with
    save_pretrained (weights + tokenizer) so that it reloads with from_pretrained like any checkpoint."""
    transformers = require("transformers", "train")
    torch = require("torch", "train")
    tok = transformers.AutoTokenizer.from_pretrained(str(tokenizer_path))
    config = transformers.Qwen2Config(
        vocab_size=len(tok), hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=layers,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096, tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    torch.manual_seed(seed)
    model = transformers.Qwen2ForCausalLM(config)
    out = Path(out_dir)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out
