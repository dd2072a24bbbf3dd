"""Recipes: a YAML description of one SFT set (and its ablations), loaded into dataclasses.

Every key is checked: an unknown key is an error that names it (with its path in the file), so a typo
never silently builds a different dataset. `resolve_variants` turns one recipe into the list of concrete
variants to build (the base, each named ablation, each sweep bin); each variant is a plain `Recipe`
whose `to_dict()` is what the manifest records as "the resolved recipe"."""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distillate.errors import DistillateError

# Drop reasons a recipe may apply (`exclude`), in funnel order after `where`. Left out: all of them.
QUALITY_REASONS = ("contaminated", "unsuitable_problem", "flagged", "truncated", "looping", "no_answer",
                   "answer_incorrect")
DEDUP_REASONS = ("exact_duplicate", "near_duplicate")
EXCLUDE_REASONS = QUALITY_REASONS + DEDUP_REASONS
# Reasons that are not `exclude` codes: the steps that are always applied when configured.
STEP_REASONS = ("not_selected", "per_problem_cap", "sampled_out")
ALL_REASONS = ("not_selected",) + EXCLUDE_REASONS + ("per_problem_cap", "sampled_out")

KEEP_POLICIES = ("stored", "first_seen", "verified_first", "shortest", "longest")
SAMPLE_WEIGHTS = ("none", "tokens", "rank")
ALLOCATIONS = ("proportional", "equal")
STYLES = ("messages", "prompt_completion")
REASONING_MODES = ("inline", "field", "none")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class Dedup:
    """Which member of each stored duplicate cluster is kept (among the members that pass every earlier step)."""

    keep: str = "stored"
    """stored: the dedup stage's own choice (else first_seen); first_seen: earliest ingested;
    verified_first: a verdict 'correct' first, then first_seen; shortest / longest: by n_tokens (characters
    when no token count), ties by first_seen."""


@dataclass
class Range:
    """A numeric window on one candidates column: min <= column < max (either bound may be left out).
    Rows outside it (or with NULL in the column) are `not_selected`."""

    column: str = ""
    min: float | None = None
    max: float | None = None


@dataclass
class Sample:
    """Seeded sampling of the rows left after the per-problem cap."""

    n: int | None = None
    """Keep this many rows (all when fewer are left)."""
    fraction: float | None = None
    """Or keep this fraction of the rows (rounded down); exactly one of n / fraction."""
    seed: int = 0
    """Same seed, same catalog: same rows. Each row's draw depends only on (seed, trace_id), so adding
    traces to the catalog does not reshuffle the others."""
    stratify: str | None = None
    """A candidates column (e.g. source, difficulty): the quota is split across its values."""
    allocation: str = "proportional"
    """proportional: each stratum keeps its share; equal: the same quota per stratum (leftover quota of
    small strata goes to the others), like s1's uniform draw over domains."""
    weight: str = "none"
    """none: uniform; tokens: probability proportional to n_tokens; rank: s1's preference for long traces,
    weight 2^-rank by length rank within the stratum (the longest has rank 0)."""


@dataclass
class Format:
    """How a kept trace becomes an SFT row."""

    style: str = "messages"
    """messages: {"messages": [system?, user, assistant]} (TRL conversational language modelling);
    prompt_completion: {"prompt": [system?, user], "completion": [assistant]} (TRL completion-only loss)."""
    reasoning: str = "inline"
    """inline: the thought in think tags before the solution in the assistant content; field: the thought
    in the assistant message's `reasoning_content` (what Qwen3-style templates read); none: solution only."""
    think_open: str = "<think>"
    think_close: str = "</think>"
    system_prompt: str | None = None
    """A system message added before the user turn (none by default)."""
    prompt_template: str = "{problem}"
    """The user turn; `{problem}` is replaced by the problem text (the only placeholder)."""


@dataclass
class Sweep:
    """Generates one variant per bin of a numeric candidates column, named <sweep>_q1.. (quantiles) or
    <sweep>_b1.. (edges). Quantile edges are computed on the base recipe's rows before sampling."""

    column: str = "n_tokens"
    quantiles: int | None = None
    edges: list[float] | None = None


@dataclass
class Recipe:
    """One SFT set. Every field maps to a YAML key of the same name."""

    name: str = ""
    description: str = ""
    where: str | None = None
    """A SQL boolean over the candidates view (docs/build.md lists its columns); rows where it is false or
    NULL are dropped as `not_selected`."""
    range: Range | None = None
    bin: Range | None = None
    """Like range, but applied to the rows left after dedup and per_problem (before sampling), so the bins
    of a sweep partition the base set exactly; rows outside it are `not_selected` (funnel step `bin`)."""
    exclude: list[str] = field(default_factory=lambda: list(EXCLUDE_REASONS))
    """Drop reasons to apply; a reason not listed drops nothing. Left out of the YAML: all of them."""
    dedup: Dedup = field(default_factory=Dedup)
    per_problem: int | None = None
    """At most this many traces per canonical problem (problem_clusters merge duplicate problems)."""
    sample: Sample | None = None
    format: Format = field(default_factory=Format)
    tokenizer: str | None = None
    """Tokenizer whose chat template renders every row in the check (CLI --tokenizer overrides)."""
    max_length: int | None = None
    """Training max_length the check compares rendered lengths against (CLI --max-length overrides)."""
    ablations: dict[str, dict] = field(default_factory=dict)
    """name -> overrides of base keys, plus `and_where` (ANDed to the base where), `exclude_add` and
    `exclude_remove` (edit the base exclude list)."""
    sweeps: dict[str, Sweep] = field(default_factory=dict)
    transparency: dict[str, Any] = field(default_factory=dict)
    """Declared facts for the Technical Transparency Index that no record can show (where the set, weights,
    code or paper are published; hardware; a search or RL stage used outside distillate): keys and meaning
    in distillate.experiment.transparency.DECLARABLE. Not part of the resolved recipe or its sha256 (it
    selects nothing); every variant carries the base recipe's declarations."""
    variant: str = ""
    """Set on resolved variants ('' for the base); not a YAML key."""

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("ablations")
        d.pop("sweeps")
        d.pop("transparency")
        return d


_NESTED = {"dedup": Dedup, "range": Range, "bin": Range, "sample": Sample, "format": Format}
_ABLATION_EXTRA = ("and_where", "exclude_add", "exclude_remove")


def _fields(cls) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def _build(cls, data: Any, path: str):
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise DistillateError(f"recipe key '{path}' must be a mapping, got {type(data).__name__}")
    known = _fields(cls)
    for k in data:
        if k not in known:
            raise DistillateError(f"unknown recipe key '{path}.{k}'; known keys: {', '.join(known)}")
    return cls(**data)


def _check_reasons(reasons: Any, key: str) -> list[str]:
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons):
        raise DistillateError(f"recipe key '{key}' must be a list of reason codes")
    for r in reasons:
        if r not in EXCLUDE_REASONS:
            raise DistillateError(f"unknown drop reason '{r}' in '{key}'; reasons: {', '.join(EXCLUDE_REASONS)}")
    return list(dict.fromkeys(reasons))


def _choice(value: Any, options: tuple, key: str) -> None:
    if value not in options:
        raise DistillateError(f"recipe key '{key}' is {value!r}; choose one of: {', '.join(options)}")


def _parse(data: dict, *, allow_variants: bool, where: str = "recipe") -> Recipe:
    known = set(_fields(Recipe)) - {"variant"}
    if not allow_variants:
        known -= {"ablations", "sweeps", "name", "transparency"}
    for k in data:
        if k not in known:
            raise DistillateError(f"unknown key '{k}' in {where}; known keys: {', '.join(sorted(known))}")
    kw = dict(data)
    for k, cls in _NESTED.items():
        if k in kw:
            kw[k] = _build(cls, kw[k], k) if kw[k] is not None or k in ("dedup", "format") else None
    if "sweeps" in kw:
        sw = kw["sweeps"] or {}
        if not isinstance(sw, dict):
            raise DistillateError("recipe key 'sweeps' must map sweep names to {column, quantiles | edges}")
        kw["sweeps"] = {str(n): _build(Sweep, s, f"sweeps.{n}") for n, s in sw.items()}
    if "ablations" in kw:
        ab = kw["ablations"] or {}
        if not isinstance(ab, dict):
            raise DistillateError("recipe key 'ablations' must map ablation names to overrides")
        kw["ablations"] = {str(n): (v or {}) for n, v in ab.items()}
    if "exclude" in kw:
        kw["exclude"] = _check_reasons(kw["exclude"] if kw["exclude"] is not None else [], "exclude")
    if "transparency" in kw:
        from distillate.experiment.transparency import parse_declared

        kw["transparency"] = parse_declared(kw["transparency"], where)
    r = Recipe(**kw)
    validate(r, where)
    return r


def validate(r: Recipe, where: str = "recipe") -> None:
    """Check values (types and choices); the column names are checked against the view at build time."""
    if r.where is not None and (not isinstance(r.where, str) or not r.where.strip()):
        raise DistillateError(f"'where' in {where} must be a non-empty SQL boolean expression")
    _choice(r.dedup.keep, KEEP_POLICIES, "dedup.keep")
    if r.per_problem is not None and (not isinstance(r.per_problem, int) or r.per_problem < 1):
        raise DistillateError(f"'per_problem' in {where} must be a positive integer, got {r.per_problem!r}")
    if r.sample is not None:
        s = r.sample
        if (s.n is None) == (s.fraction is None):
            raise DistillateError(f"'sample' in {where} needs exactly one of n or fraction")
        if s.n is not None and (not isinstance(s.n, int) or s.n < 0):
            raise DistillateError(f"'sample.n' in {where} must be a non-negative integer")
        if s.fraction is not None and not (isinstance(s.fraction, (int, float)) and 0 <= s.fraction <= 1):
            raise DistillateError(f"'sample.fraction' in {where} must be between 0 and 1")
        if not isinstance(s.seed, int):
            raise DistillateError(f"'sample.seed' in {where} must be an integer")
        _choice(s.weight, SAMPLE_WEIGHTS, "sample.weight")
        _choice(s.allocation, ALLOCATIONS, "sample.allocation")
    f = r.format
    _choice(f.style, STYLES, "format.style")
    _choice(f.reasoning, REASONING_MODES, "format.reasoning")
    if "{problem}" not in f.prompt_template:
        raise DistillateError("'format.prompt_template' must contain {problem}")
    for key, rg in (("range", r.range), ("bin", r.bin)):
        if rg is not None and not rg.column:
            raise DistillateError(f"'{key}' in {where} needs a column")
    if r.max_length is not None and (not isinstance(r.max_length, int) or r.max_length < 1):
        raise DistillateError(f"'max_length' in {where} must be a positive integer")
    for n, s in r.sweeps.items():
        if (s.quantiles is None) == (s.edges is None):
            raise DistillateError(f"sweep '{n}' needs exactly one of quantiles or edges")
        if s.quantiles is not None and (not isinstance(s.quantiles, int) or s.quantiles < 2):
            raise DistillateError(f"sweep '{n}': quantiles must be an integer >= 2")
        if s.edges is not None and (len(s.edges) < 2 or list(s.edges) != sorted(s.edges)):
            raise DistillateError(f"sweep '{n}': edges must be at least two increasing numbers")
    for name in list(r.ablations) + list(r.sweeps):
        if not _NAME.match(name):
            raise DistillateError(f"variant name {name!r} must be a plain folder name (letters, digits, _ . -)")


def parse_recipe(data: Any, origin: str = "recipe") -> Recipe:
    """A Recipe from parsed YAML (a mapping); ablation overrides are validated too."""
    if not isinstance(data, dict):
        raise DistillateError(f"{origin} must be a YAML mapping of recipe keys")
    if not data.get("name") or not isinstance(data["name"], str):
        raise DistillateError(f"{origin} needs a 'name'")
    if not _NAME.match(data["name"]):
        raise DistillateError(f"recipe name {data['name']!r} must be letters, digits, _ . -")
    r = _parse(data, allow_variants=True, where=origin)
    for name in r.ablations:
        apply_ablation(r, name)  # validates each ablation's keys and values now, not mid-build
    names = list(r.ablations) + [n for n in r.sweeps]
    if len(set(names)) != len(names):
        raise DistillateError("ablation and sweep names must differ")
    return r


def load_recipe(path: str | Path) -> Recipe:
    import yaml

    p = Path(path)
    if not p.is_file():
        raise DistillateError(f"recipe file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise DistillateError(f"{p} is not valid YAML: {e}") from e
    return parse_recipe(data, origin=str(p))


def apply_ablation(base: Recipe, name: str) -> Recipe:
    """The variant `name`: base keys overridden by the ablation's keys (nested mappings merge key by key)."""
    ov = dict(base.ablations[name])
    where_label = f"ablation '{name}'"
    extra = {k: ov.pop(k) for k in _ABLATION_EXTRA if k in ov}
    merged = base.to_dict()
    merged.pop("variant")
    for k, v in ov.items():
        if k in _NESTED and isinstance(v, dict) and isinstance(merged.get(k), dict):
            known = _fields(_NESTED[k])
            for kk in v:
                if kk not in known:
                    raise DistillateError(f"unknown key '{k}.{kk}' in {where_label}; known keys: {', '.join(known)}")
            merged[k] = {**merged[k], **v}
        else:
            merged[k] = v
    for k in list(ov):
        if k in ("name", "ablations", "sweeps", "transparency"):
            raise DistillateError(f"key '{k}' cannot be overridden in {where_label}")
    merged = {k: v for k, v in merged.items() if k != "name"}
    if "and_where" in extra:
        aw = extra["and_where"]
        if not isinstance(aw, str) or not aw.strip():
            raise DistillateError(f"'and_where' in {where_label} must be a SQL boolean expression")
        merged["where"] = f"({merged['where']}) AND ({aw})" if merged.get("where") else aw
    excl = list(merged["exclude"])
    if "exclude_add" in extra:
        excl += [x for x in _check_reasons(extra["exclude_add"], f"{name}.exclude_add") if x not in excl]
    if "exclude_remove" in extra:
        rm = _check_reasons(extra["exclude_remove"], f"{name}.exclude_remove")
        excl = [x for x in excl if x not in rm]
    merged["exclude"] = excl
    r = _parse(merged, allow_variants=False, where=where_label)
    r.name, r.variant = base.name, name
    r.transparency = dict(base.transparency)
    return r


def with_range(base: Recipe, variant: str, column: str, lo: float | None, hi: float | None) -> Recipe:
    r = copy.deepcopy(base)
    r.ablations, r.sweeps = {}, {}
    r.variant = variant
    r.bin = Range(column=column, min=lo, max=hi)
    return r


def base_variant(r: Recipe) -> Recipe:
    b = copy.deepcopy(r)
    b.ablations, b.sweeps = {}, {}
    b.variant = ""
    return b
