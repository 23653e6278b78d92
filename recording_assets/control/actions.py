"""One control request -> one outcome: the action sent through ``GenesysClient.control`` and every
answer (success, no-op, refusal, failure) reduced to what the operator and the audit trail need.

Outcomes:
- ``changed``: the state was written.
- ``already``: the conversation was already in the requested state; nothing was written.
- ``refused``: Genesys or our pre-check refused (403 permission, unknown conversation or participant,
  conversation ended, participant left, not a call, nothing to resume, bad credentials). Fix the cause;
  a blind retry gives the same answer.
- ``failed``: the outcome was prevented by something that may pass on a retry (409 twice, 429 or 5xx
  after the transport's retries, no connection).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from recording_assets.genesys.control import ControlRefusedError
from recording_assets.genesys.errors import (
    AuthenticationError,
    BadRequestError,
    GenesysApiError,
    GenesysError,
    NotFoundError,
    PermissionDeniedError,
)

ACTIONS = ("pause", "resume", "start", "stop")
Action = Literal["pause", "resume", "start", "stop"]
Outcome = Literal["changed", "already", "refused", "failed"]
OK_OUTCOMES = ("changed", "already")


class ControlUsageError(ValueError):
    """The request itself is malformed (unknown action, participant missing or superfluous)."""


@dataclass(frozen=True)
class ControlRequest:
    action: str
    conversation_id: str
    participant_id: str | None = None

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ControlUsageError(f"action {self.action!r} is not one of {', '.join(ACTIONS)}")
        if not self.conversation_id or not self.conversation_id.strip():
            raise ControlUsageError("conversation_id is required")
        if self.per_participant and not self.participant_id:
            raise ControlUsageError(
                f"{self.action} needs a participant id: it sets one participant's recording flag"
            )
        if not self.per_participant and self.participant_id:
            raise ControlUsageError(
                f"{self.action} applies to the whole conversation; a participant id is only for start/stop"
            )

    @property
    def per_participant(self) -> bool:
        return self.action in ("start", "stop")


@dataclass(frozen=True)
class ControlOutcome:
    request: ControlRequest
    outcome: Outcome
    message: str
    state: str | None = None  # the state after the action, when known
    http_status: int | None = None
    correlation_id: str | None = None
    error_type: str | None = None
    missing_permission: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in OK_OUTCOMES


async def perform(client, request: ControlRequest) -> ControlOutcome:
    """Send ``request`` through ``client.control``; never raises for a Genesys answer."""
    control = client.control
    try:
        if request.action in ("pause", "resume"):
            result = await control.set_recording_state(
                request.conversation_id, paused=request.action == "pause"
            )
        else:
            result = await control.set_participant_recording(
                request.conversation_id, request.participant_id, on=request.action == "start"
            )
    except GenesysError as exc:
        return describe_error(request, exc)
    subject = f"conversation {request.conversation_id}"
    if request.participant_id:
        subject = f"participant {request.participant_id} of {subject}"
    message = f"{subject}: {result.message}"
    return ControlOutcome(
        request,
        "changed" if result.changed else "already",
        message,
        state=result.state,
        http_status=result.http_status,
        correlation_id=result.correlation_id,
    )


def describe_error(request: ControlRequest, exc: GenesysError) -> ControlOutcome:
    """A readable, token-free outcome for anything the Genesys client raised."""
    status = getattr(exc, "status", None)
    correlation_id = getattr(exc, "correlation_id", None)
    kind = type(exc).__name__
    if isinstance(exc, PermissionDeniedError):
        permission = exc.permission
        needed = f"the permission {permission}" if permission else "a permission this call needs"
        message = (
            f"refused: the OAuth client's roles lack {needed} (HTTP 403 on {exc.method} {exc.path}"
            f"{_correlation(correlation_id)}). Grant it to a role of this OAuth client, then retry"
        )
        return ControlOutcome(
            request,
            "refused",
            message,
            http_status=status,
            correlation_id=correlation_id,
            error_type=kind,
            missing_permission=permission,
        )
    if isinstance(exc, NotFoundError):
        message = (
            f"refused: conversation {request.conversation_id} was not found (HTTP 404"
            f"{_correlation(correlation_id)}): check the id; it may belong to another org or region, "
            "or not be visible to this OAuth client's divisions"
        )
        return ControlOutcome(
            request, "refused", message, http_status=status, correlation_id=correlation_id, error_type=kind
        )
    if isinstance(exc, AuthenticationError):
        message = f"refused: Genesys Cloud did not accept the OAuth client credentials ({exc})"
        return ControlOutcome(
            request, "refused", message, http_status=status, correlation_id=correlation_id, error_type=kind
        )
    if isinstance(exc, (ControlRefusedError, BadRequestError)):
        return ControlOutcome(
            request,
            "refused",
            f"refused: {exc}",
            http_status=status,
            correlation_id=correlation_id,
            error_type=kind,
        )
    if isinstance(exc, GenesysApiError):
        return ControlOutcome(
            request,
            "failed",
            f"failed: {exc}",
            http_status=status,
            correlation_id=correlation_id,
            error_type=kind,
        )
    return ControlOutcome(request, "failed", f"failed: {exc}", error_type=kind)


def _correlation(correlation_id: str | None) -> str:
    return f", correlation id {correlation_id}" if correlation_id else ""
