"""Raw JSON beside the official SDK's models, key by key (no tests here; the strict contract test uses it).

The SDK's deserialiser drops every key its model does not declare, so reading an answer through the SDK
cannot show a field the real API does not have. ``undeclared`` walks the raw body with the model's
``attribute_map`` (JSON names) and ``swagger_types`` (nested types: models, ``list[X]``,
``dict(str, X)``) and names each key the model lacks by its path, e.g. ``Recording.region``, and each
value of the wrong JSON kind (a string for an int, a date that does not parse) or outside the model's enum.
``SdkEndpoint`` reads method, path, body model and answer model from the SDK's own generated method, so
the contract never rests on our guess of which model an endpoint uses. ``Exchanges`` records what goes
over the wire, through httpx event hooks on the client the product's transport is given.
"""

from __future__ import annotations

import ast
import functools
import inspect
import json
import pathlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import httpx
import PureCloudPlatformClientV2 as PureCloud

_LIST = re.compile(r"list\[(.+)\]$")
_DICT = re.compile(r"dict\((\w+), (.+)\)$")
# JSON kinds each SDK scalar accepts (bool is an int in Python, so it is refused apart).
_SCALARS: dict[str, type | tuple[type, ...]] = {
    "str": str,
    "int": int,
    "long": int,
    "float": (int, float),
    "bool": bool,
    "date": str,
    "datetime": str,
}
_PARSERS: dict[str, Callable[[Any], object]] = {
    "date": date.fromisoformat,
    "datetime": datetime.fromisoformat,
}


@functools.cache
def _json_names(model_name: str) -> dict[str, tuple[str, tuple[str, ...] | None]]:
    """JSON key -> (nested type name, the enum values its setter allows or None), for one SDK model."""
    cls = getattr(PureCloud, model_name)
    model = cls()
    return {
        json_key: (model.swagger_types[attribute], _allowed_values(getattr(cls, attribute).fset))
        for attribute, json_key in model.attribute_map.items()
    }


def _allowed_values(setter) -> tuple[str, ...] | None:
    listed = re.search(r"allowed_values = (\[.*?\])", inspect.getsource(setter))
    return tuple(ast.literal_eval(listed[1])) if listed else None


def undeclared(body: Any, type_name: str, path: str | None = None) -> list[str]:
    """Every place where ``body`` says more than (or something shaped unlike) the SDK type ``type_name``."""
    path = path or type_name
    misfit = [f"{path}: a {type(body).__name__} where the SDK has {type_name}"]
    if body is None or type_name == "object":
        return []
    if match := _LIST.match(type_name):
        if not isinstance(body, list):
            return misfit
        return [found for i, item in enumerate(body) for found in undeclared(item, match[1], f"{path}[{i}]")]
    if match := _DICT.match(type_name):
        if not isinstance(body, dict):
            return misfit
        return [found for k, item in body.items() for found in undeclared(item, match[2], f'{path}["{k}"]')]
    if type_name in _SCALARS:
        return [] if _is_scalar(body, type_name) else misfit
    if not isinstance(body, dict):
        return misfit
    declared = _json_names(type_name)
    found: list[str] = []
    for key, value in body.items():
        if key not in declared:
            found.append(f"{path}.{key} (not in {type_name})")
            continue
        nested, allowed = declared[key]
        found.extend(undeclared(value, nested, f"{path}.{key}"))
        if allowed and isinstance(value, str) and value not in allowed:  # exact case, as the spec lists them
            found.append(f"{path}.{key}: {value!r} is none of {', '.join(allowed)}")
    return found


def _is_scalar(value: Any, type_name: str) -> bool:
    if not isinstance(value, _SCALARS[type_name]) or (isinstance(value, bool) and type_name != "bool"):
        return False
    try:
        _PARSERS.get(type_name, str)(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class SdkEndpoint:
    """One SDK API method, as its generated source states it."""

    api: str  # e.g. "RecordingApi"
    name: str  # e.g. "get_conversation_recording"
    method: str
    path: str  # the resource path with {placeholders}
    body_type: str | None
    answer_type: str | None

    @classmethod
    @functools.cache
    def of(cls, api: str, name: str) -> SdkEndpoint:
        function = getattr(getattr(PureCloud, api), name)
        source = inspect.getsource(function)
        path = _group(r"resource_path = '([^']+)'", source, name)
        method = _group(r"call_api\(resource_path, '(\w+)'", source, name)
        answer = _group(r"response_type=(?:'([^']+)'|None)", source, name)  # None: the method answers nothing
        body = inspect.signature(function).parameters.get("body")
        body_type = body.annotation.strip("'") if body is not None else None
        if body is None and (optional := re.search(r":param (\w+) body:", source)):
            body_type = optional[1]  # an optional body the method takes in **kwargs
        return cls(api, name, method, path, body_type, answer)

    def matches(self, method: str, path: str) -> bool:
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(self.path))
        return method == self.method and re.fullmatch(pattern, path) is not None

    @property
    def specificity(self) -> tuple[int, int]:
        """Literal paths first: ``jobs/availability`` before ``jobs/{jobId}``."""
        return (self.path.count("{"), -len(self.path))


def endpoint_for(endpoints: list[SdkEndpoint], method: str, path: str) -> SdkEndpoint | None:
    return next((e for e in sorted(endpoints, key=lambda e: e.specificity) if e.matches(method, path)), None)


@dataclass
class Exchange:
    method: str
    path: str
    status: int
    request_body: Any
    answer_body: Any


@dataclass
class Exchanges:
    """Every Platform API request and answer that went over one httpx client (media and tokens excluded)."""

    seen: list[Exchange] = field(default_factory=list)

    def client(self) -> httpx.AsyncClient:
        hooks = {"response": [self._on_response]}
        return httpx.AsyncClient(event_hooks=hooks, follow_redirects=False, timeout=30)

    async def _on_response(self, response: httpx.Response) -> None:
        if not response.request.url.path.startswith("/api/v2/"):
            return
        await response.aread()
        self.seen.append(self.exchange(response))

    @staticmethod
    def exchange(response: httpx.Response) -> Exchange:
        """One read response (of this client or any other) as an ``Exchange``."""
        request = response.request
        return Exchange(
            request.method,
            request.url.path,
            response.status_code,
            json.loads(request.content) if request.content else None,
            response.json() if response.content else None,
        )


def contract_breaches(exchanges: list[Exchange], endpoints: list[SdkEndpoint]) -> list[str]:
    """Each exchange's request body against the endpoint's body model and its answer against the answer
    model (``ErrorBody`` for 4xx/5xx); an exchange with no endpoint in ``endpoints`` is a breach too."""
    breaches: list[str] = []
    for exchange in exchanges:
        where = f"{exchange.method} {exchange.path} -> {exchange.status}"
        endpoint = endpoint_for(endpoints, exchange.method, exchange.path)
        if endpoint is None:
            breaches.append(f"{where}: no SDK endpoint in the contract's table")
            continue
        if endpoint.body_type:
            found = undeclared(exchange.request_body, endpoint.body_type)
            breaches += [f"{where} request: {b}" for b in found]
        elif exchange.request_body is not None:
            breaches.append(f"{where}: a request body where the SDK sends none")
        answer_type = "ErrorBody" if exchange.status >= 400 else endpoint.answer_type
        if answer_type:
            breaches += [f"{where} answer: {b}" for b in undeclared(exchange.answer_body, answer_type)]
    return breaches


def documented_nulls(exchanges: list[Exchange]) -> list[str]:
    """Keys the SDK's docstrings say are null in the case at hand (the docstrings are checked to still say
    so): RecordingMetadata ``startTime`` outside screen recordings, Recording ``startTime`` / ``endTime``
    without playable media."""
    assert "for screen recordings. Null for other types" in PureCloud.RecordingMetadata.start_time.__doc__
    for attribute in (PureCloud.Recording.start_time, PureCloud.Recording.end_time):
        assert "Null when there is no playable media" in attribute.__doc__
    found = []
    for exchange in exchanges:
        bodies = exchange.answer_body if isinstance(exchange.answer_body, list) else [exchange.answer_body]
        for body in bodies:
            if exchange.path.endswith("/recordingmetadata"):
                if body.get("media") != "screen" and "startTime" in body:
                    found.append(f"RecordingMetadata.startTime of a {body.get('media')} recording")
            elif "/recordings" in exchange.path and "mediaUris" not in body:
                if body.get("fileState") != "AVAILABLE":  # AVAILABLE without media: transcoding (202)
                    times = [key for key in ("startTime", "endTime") if key in body]
                    found += [f"Recording.{key} of a {body['fileState']} recording" for key in times]
    return found


def _group(pattern: str, source: str, name: str) -> Any:
    """The first group of ``pattern`` in an SDK method's source (None where the group matched nothing)."""
    found = re.search(pattern, source)
    if found is None:
        raise LookupError(f"the SDK's {name} source has no {pattern!r}")
    return found[1]


def _fstring_piece(part: ast.expr, constants: dict[str, Any]) -> str:
    """A piece of an f-string: its text, a module constant's value, or ``x`` for any other field."""
    if isinstance(part, ast.Constant):
        return str(part.value)
    name = getattr(part.value, "id", None) if isinstance(part, ast.FormattedValue) else None
    return str(constants.get(name, "x")) if name is not None else "x"


def platform_paths(directory: pathlib.Path) -> set[str]:
    """Every ``/api/v2`` path literal in the modules of ``directory``; f-string fields become ``x``, module
    constants their value (``f"{JOBS_PATH}/{job_id}"`` -> ``/api/v2/.../jobs/x``)."""
    named = set()
    for source in sorted(directory.glob("*.py")):
        tree = ast.parse(source.read_text())
        constants = {
            node.targets[0].id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Constant)
        }
        in_fstrings = {
            id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                text = "".join(_fstring_piece(part, constants) for part in node.values)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = "" if id(node) in in_fstrings else node.value
            else:
                continue
            if text.startswith("/api/v2/"):
                named.add(text)
    return named
