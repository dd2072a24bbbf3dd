"""Grading conventions on which the major graders disagree: options, with the verifier's defaults.

docs/verify.md lists which grader applies which. A convention only changes what the caller decides or
which strings it sends to the worker, never the worker's check of a pair of strings, so cached worker
results stay valid whatever the conventions."""

from __future__ import annotations

from dataclasses import dataclass, fields

from distillate.errors import DistillateError

CHOICES = {
    "percent": ("either", "number", "fraction"),
    "units": ("ignore", "match"),
    "lists": ("unordered", "ordered"),
}


@dataclass(frozen=True)
class Conventions:
    """percent: "either" (10% equals 10 and 0.1: Qwen2.5-Math `math_equal(include_percentage=True)`,
    math-verify), "number" (10% equals 10 only: Hendrycks MATH / Minerva drop the sign) or "fraction"
    (10% equals 0.1 only).
    units: "ignore" (a trailing unit is dropped, 5 cm = 5 = 5 m: PRM800K, Minerva, Qwen2.5-Math, simple-evals'
    "benefit of the doubt to units") or "match" (when both answers carry a unit, the units must agree).
    lists: "unordered" (a bare list "3, 7" is a set of answers: math-verify, OlympiadBench multi-answer) or
    "ordered" (compared position by position: PRM800K, Qwen2.5-Math `compare_lists`); tuples `(a, b)` are
    ordered and sets `\\{a, b\\}` unordered either way."""

    percent: str = "either"
    units: str = "ignore"
    lists: str = "unordered"

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            if v not in CHOICES[f.name]:
                raise DistillateError(f"verify convention {f.name}={v!r}: choose one of {', '.join(CHOICES[f.name])}")

    @classmethod
    def parse(cls, specs: list[str] | None) -> "Conventions":
        """From command-line items like "percent=number"."""
        kw = {}
        for spec in specs or []:
            key, sep, value = spec.partition("=")
            key = key.strip().replace("-", "_")
            if not sep or key not in CHOICES:
                raise DistillateError(f"--convention takes NAME=VALUE with NAME one of {', '.join(CHOICES)} "
                                      f"(got {spec!r})")
            kw[key] = value.strip()
        return cls(**kw)


DEFAULT = Conventions()
