"""Command-line flags generated from the sandbox's config dataclasses (``SandboxConfig`` and its
``Faults``), so each setting is declared once, on its field.

A field's flag is its name in kebab case less a seconds suffix (``url_ttl_s`` -> ``--url-ttl``), its type
the field's type; ``option()`` adds the --help text and, where wanted, another flag name, a metavar or a
command-line default unlike the field's, or keeps the field off the command line. A bool field is a
switch, a frozenset field a repeatable flag, a dataclass field an argument group of its own fields.
A flag left out leaves the field at its default.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any

_KEY = "sandbox.flag"
_SAME = object()  # cli_default not given: the field's default


@dataclasses.dataclass(frozen=True)
class _Flag:
    help: str | None = None
    name: str | None = None
    metavar: str | None = None
    cli_default: Any = _SAME
    offered: bool = True
    parse: Any = None  # a str -> value function for a field no plain type reads (a dataclass, say)


def option(
    default: Any,
    help: str | None = None,
    *,
    flag: str | None = None,
    metavar: str | None = None,
    cli_default: Any = _SAME,
    cli: bool = True,
    parse: Any = None,
) -> Any:
    """A dataclass field with ``default`` and how the command line offers it (``cli=False``: not at all,
    the command line leaves it at its default; ``parse``: the function that reads its one flag)."""
    return dataclasses.field(
        default=default, metadata={_KEY: _Flag(help, flag, metavar, cli_default, cli, parse)}
    )


def add_flags(parser: argparse.ArgumentParser | argparse._ArgumentGroup, config_class: type) -> None:
    """One flag per field of ``config_class``; a dataclass-typed field becomes a group named after it."""
    hints = typing.get_type_hints(config_class)
    for field in dataclasses.fields(config_class):
        spec = _spec(field)
        kind = _unwrap_optional(hints[field.name])
        if not spec.offered:
            continue
        if isinstance(kind, type) and dataclasses.is_dataclass(kind) and spec.parse is None:
            add_flags(parser.add_argument_group(field.name), kind)
            continue
        settings: dict[str, Any] = {"help": spec.help}
        if spec.metavar:
            settings["metavar"] = spec.metavar
        if kind is bool:
            if field.default is not False:
                raise TypeError(f"{config_class.__name__}.{field.name}: a switch must default to False")
            settings["action"] = "store_true"
        elif typing.get_origin(kind) is frozenset:
            settings.update(action="append", type=typing.get_args(kind)[0], default=None)
        elif spec.parse is not None:
            settings.update(type=spec.parse, default=None)  # not given: the field's default
        else:
            default = field.default if spec.cli_default is _SAME else spec.cli_default
            settings.update(type=kind, default=None if default is dataclasses.MISSING else default)
        parser.add_argument(_flag(field), **settings)


def from_flags(config_class: type, args: argparse.Namespace) -> Any:
    """``config_class`` built from flags added by ``add_flags`` (a flag not given: the field's default)."""
    hints = typing.get_type_hints(config_class)
    values = {}
    for field in dataclasses.fields(config_class):
        kind = _unwrap_optional(hints[field.name])
        if not _spec(field).offered:
            continue
        if isinstance(kind, type) and dataclasses.is_dataclass(kind) and _spec(field).parse is None:
            values[field.name] = from_flags(kind, args)
            continue
        value = getattr(args, _flag(field).removeprefix("--").replace("-", "_"))
        if value is not None:
            values[field.name] = frozenset(value) if typing.get_origin(kind) is frozenset else value
    return config_class(**values)


def flag_for(config_class: type, name: str) -> str:
    """The command-line flag of field ``name`` (for callers that start the sandbox as a process)."""
    field = next((f for f in dataclasses.fields(config_class) if f.name == name), None)
    if field is None or not _spec(field).offered:
        raise KeyError(f"{config_class.__name__} has no command-line field {name!r}")
    return _flag(field)


def _spec(field: dataclasses.Field) -> _Flag:
    return field.metadata.get(_KEY, _Flag())


def _flag(field: dataclasses.Field) -> str:
    return _spec(field).name or "--" + field.name.removesuffix("_s").replace("_", "-")


def _unwrap_optional(kind: Any) -> Any:
    """``int | None`` -> ``int``; anything else as it is."""
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        if len(options) == 1:
            return options[0]
    return kind
