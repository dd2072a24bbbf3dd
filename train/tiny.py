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


# ChatML with {% generation %} markers around the assistant's turn, so TRL's assistant-only loss works.
TINY_CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}{% generation %}{{- message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{- '\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
TINY_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def make_tiny_tokenizer(texts, out_dir: str | Path, vocab_size: int = 1024) -> Path:
    """A byte-level BPE tokenizer trained on `texts` (any iterable of strings) with a ChatML chat template
    that has generation markers; `<think>`/`</think>` are single tokens. Saved with save_pretrained, so
    AutoTokenizer (and make_tiny_model) load it from `out_dir`. No download: for offline examples and tests."""
    tokenizers = require("tokenizers", "hf")
    transformers = require("transformers", "hf")
    tok = tokenizers.Tokenizer(tokenizers.models.BPE())
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=TINY_SPECIAL, show_progress=False,
        initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer=trainer)
    tok.add_tokens(["<think>", "</think>"])
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>", bos_token=None,
        unk_token=None, additional_special_tokens=["<|im_start|>"])
    fast.chat_template = TINY_CHAT_TEMPLATE
    out = Path(out_dir)
    fast.save_pretrained(out)
    return out
