"""The image's dependencies (deploy/Dockerfile, deploy/constraints.txt) against pyproject.toml: every runtime
and ``kubernetes`` requirement is pinned within its specifier, nothing of the local extras is in the image,
and the pinned layer is installed before the source is copied, so a source change does not reinstall it."""

from __future__ import annotations

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from recording_assets_tests.ops.ops_support import REPO

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11, the project's and the image's

PROJECT = "recording-assets"
# What only a developer's machine needs (the local extra), and the runtime set must not pull in.
LOCAL_ONLY = ("dagster-webserver", "dagster-dg-cli", "starlette", "uvicorn", "moto", "flask", "flask-cors")


def _pins() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (REPO / "deploy" / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"deploy/constraints.txt pins exact versions only: {line!r}"
            pins[canonicalize_name(name)] = Version(version)
    return pins


def _image_requirements() -> list[Requirement]:
    """The runtime dependencies plus the kubernetes extra, the extras it names expanded."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    found, wanted, seen = [Requirement(r) for r in project["dependencies"]], ["kubernetes"], set()
    while wanted:
        extra = wanted.pop()
        seen.add(extra)
        for requirement in map(Requirement, extras[extra]):
            if canonicalize_name(requirement.name) == PROJECT:
                wanted += [e for e in requirement.extras if e not in seen]
            else:
                found.append(requirement)
    return found


def test_constraints_pin_every_requirement_of_the_image_within_its_specifier():
    pins = _pins()
    requirements = _image_requirements()
    assert {"dagster", "dagster-aws", "dagster-postgres", "dagster-k8s"} <= {
        canonicalize_name(r.name) for r in requirements
    }
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not pinned: regenerate deploy/constraints.txt (its header says how)"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"deploy/constraints.txt pins {name}=={pins[name]}, outside {requirement}: regenerate it"
        )


def test_the_image_holds_nothing_of_the_local_extras():
    pins = _pins()
    assert not [name for name in LOCAL_ONLY if canonicalize_name(name) in pins]
    assert canonicalize_name(PROJECT) not in pins  # the package itself is installed from the source


def test_the_pinned_layer_comes_before_the_source():
    lines = [line.strip() for line in (REPO / "deploy" / "Dockerfile").read_text().splitlines()]

    def index(text: str) -> int:
        return next(i for i, line in enumerate(lines) if line.startswith(text))

    pinned = index("RUN pip install -r deploy/constraints.txt")
    assert index("COPY deploy/constraints.txt") < pinned < index("COPY recording_assets")
    assert index('RUN pip install -c deploy/constraints.txt ".[kubernetes]"') > index("COPY recording_assets")
