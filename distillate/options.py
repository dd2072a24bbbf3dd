"""Command-line options built from configuration dataclasses, so that each option is declared once.

A config field that is also a flag says so in its metadata:

    max_tokens: int = field(default=16384, metadata={"flag": "--max-tokens", "help": "Output token cap ..."})

`config_options(GenerateConfig)` decorates a typer command whose signature has a `cfg: GenerateConfig`
parameter: the command gets one option per such field (the dataclass default, its help, extra spellings from
`aliases`), and is called with the config built from them. `field_option(Cls, "name")` gives the same option
as an annotation for a hand-written signature (e.g. `eval`'s endpoint flags). A boolean field's flag may be
a pair (`"--stream/--no-stream"`); a list field is a repeatable option; `required: True` makes an option
mandatory although the dataclass has a default (e.g. reformat's `--traces`)."""

from __future__ import annotations

import functools
import inspect
import types
import typing
from dataclasses import MISSING, Field, fields
from typing import Annotated, Any, Optional, Union

import typer


def _option_type(tp: Any) -> Any:
    if typing.get_origin(tp) in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return Optional[args[0]] if len(args) == 1 else tp
    return tp


def _spec(cls: type, f: Field, hints: dict) -> tuple[Any, Any]:
    """(annotation, default) of the typer option of field `f`."""
    meta = f.metadata
    tp = _option_type(hints[f.name])
    if f.default_factory is not MISSING:  # a list: a repeatable option, None when not given
        tp, default = Optional[tp], None
    elif meta.get("required") or f.default is MISSING:
        default = inspect.Parameter.empty
    else:
        default = f.default
    opt = typer.Option(meta["flag"], *meta.get("aliases", ()), help=meta["help"], show_default=default is not None,
                       metavar=meta.get("metavar"))
    return Annotated[tp, opt], default


def flagged_fields(cls: type, exclude: tuple[str, ...] = ()) -> list[Field]:
    return [f for f in fields(cls) if "flag" in f.metadata and f.name not in exclude]


def field_option(cls: type, name: str) -> Any:
    """The option of one field, as an annotation for a hand-written command signature."""
    f = next(f for f in fields(cls) if f.name == name)
    return _spec(cls, f, typing.get_type_hints(cls))[0]


def config_options(cls: type, *, param: str = "cfg", exclude: tuple[str, ...] = ()):
    """Decorator: replace the command's `param` by one option per flagged field of `cls`."""
    hints = typing.get_type_hints(cls)
    flagged = flagged_fields(cls, exclude)
    names = {f.name for f in flagged}
    factories = {f.name for f in flagged if f.default_factory is not MISSING}  # None: the field's default

    def deco(fn):
        fn_hints = typing.get_type_hints(fn, include_extras=True)
        params: list[inspect.Parameter] = []
        for p in inspect.signature(fn).parameters.values():
            if p.name == param:
                for f in flagged:
                    ann, default = _spec(cls, f, hints)
                    params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, annotation=ann,
                                                    default=default))
            else:
                params.append(p.replace(kind=inspect.Parameter.KEYWORD_ONLY,
                                        annotation=fn_hints.get(p.name, p.annotation)))

        @functools.wraps(fn)
        def command(**kw):
            values = {k: kw.pop(k) for k in list(kw) if k in names}
            kw[param] = cls(**{k: v for k, v in values.items() if v is not None or k not in factories})
            return fn(**kw)

        del command.__wrapped__
        command.__signature__ = inspect.Signature(params)
        command.__annotations__ = {p.name: p.annotation for p in params}
        return command

    return deco


def redefault(cls: type, name: str, default: Any = MISSING, **meta: Any) -> Any:
    """A subclass's redefinition of an inherited field: another default and/or help, the same flag."""
    f = cls.__dataclass_fields__[name]
    from dataclasses import field

    md = {**f.metadata, **meta}
    return field(metadata=md) if default is MISSING else field(default=default, metadata=md)
