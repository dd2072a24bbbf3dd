#!/usr/bin/env bash
# How data/stage1_rewrites.jsonl would be made with a real model (README.md): the short solutions are
# ingested as a source, and `distillate reformat` asks an OpenAI-compatible endpoint to rewrite each one into
# the long-thought format (<think> ... </think>, then a concise solution ending in \boxed{}), with the
# fidelity checks (same final answer, length ratio, n-gram overlap) recorded per rewrite.
# The rewrites shipped in data/ were written by hand for this example in that format; no model made them.
#
#   OPENAI_API_KEY=... ENDPOINT=https://api.example.com/v1 MODEL=teacher-model ./reformat.sh WORKSPACE
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
WS="${1:?usage: reformat.sh WORKSPACE}"
distillate ingest "$HERE/data/short_solutions.jsonl" --source o1j-short --format plain --license Apache-2.0 -w "$WS"
distillate reformat --traces o1j-short --model "${MODEL:?set MODEL}" --endpoint "${ENDPOINT:?set ENDPOINT}" \
    --source o1j-stage1-rewrites --field solution --n 1 --temperature 0.7 --max-tokens 4096 -w "$WS"
# the rewrites are traces of source o1j-stage1-rewrites in WS: the recipe's format_only ablation selects them
