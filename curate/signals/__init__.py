"""Trace-quality signals: the `stats` curation stage (docs/signals.md).

Per trace (table trace_signals, markers in trace_markers): token counts with a real fast tokenizer (or a
recorded approximation), characters/lines/paragraphs/steps, reflection and backtracking markers with
positions, truncation, loops (repeated word 8-grams, longest repeated span, compression ratio), boxed
answers and their agreement, other-script share, format. Per problem (problem_signals): image, proof,
multiple-choice, multi-part, no reference answer -> `unsuitable`.

    from distillate.curate.signals import trace_signals, problem_signals, SignalConfig, run_stage
"""

from .report import render_section, report_section
from .stage import VERSION, compute_batch, compute_problems, run_stage
from .text import (DEFAULT_MARKERS, DEFAULT_PROBLEM_PATTERNS, UNSUITABLE_REASONS, SignalConfig, boxed_values,
                   compile_markers, problem_signals, trace_signals)
from .tokenize import APPROX_NAME, DEFAULT_TOKENIZER, TokenizerSpec, count_tokens, resolve_tokenizer

__all__ = ["VERSION", "run_stage", "report_section", "render_section", "compute_batch", "compute_problems",
           "SignalConfig", "DEFAULT_MARKERS", "DEFAULT_PROBLEM_PATTERNS", "UNSUITABLE_REASONS", "trace_signals",
           "problem_signals", "boxed_values", "compile_markers", "resolve_tokenizer", "count_tokens",
           "TokenizerSpec", "DEFAULT_TOKENIZER", "APPROX_NAME"]
