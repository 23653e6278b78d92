"""The one exception route handlers raise; the gateway turns it into a Genesys ErrorBody."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ApiError(Exception):
    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


def bad_request(message: str, code: str = "bad.request") -> ApiError:
    return ApiError(400, code, message)


def not_found(message: str = "The requested resource was not found.") -> ApiError:
    return ApiError(404, "not.found", message)
