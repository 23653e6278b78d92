"""One audited control attempt: whatever happens while acting, an audit record is written.

``perform`` turns every Genesys answer into an outcome, but opening the client, reading the token or a bug
can raise anything, and Ctrl-C or a cancelled run can stop the attempt midway. Whatever it is, the attempt
still ends in one record (in a ``finally``): an ``Exception`` becomes the outcome ``failed`` saying that
the action's effect is unknown, and an interruption is recorded as such and then goes on being raised.
The CLI and the Dagster job both act through ``attempt``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

from recording_assets.control.actions import ControlOutcome, ControlRequest
from recording_assets.control.audit import ControlAuditEvent, ControlAuditStore
from recording_assets.genesys.redact import clean_text, redact_text

_SHOWN_CHARS = 200
_CHECK = "check the recording state before acting again (`recording-assets recording status`)"


@dataclass(frozen=True)
class AuditedAttempt:
    outcome: ControlOutcome
    event: ControlAuditEvent
    audit_uri: str | None  # where the record is; None when not audited (see ``audit_error``)
    audit_error: str | None  # why the record could not be written; None when it was, or was not asked for


def attempt(
    request: ControlRequest,
    act: Callable[[], ControlOutcome],
    *,
    audit: ControlAuditStore | None,
    launched_by: str,
    source: str,
    run_id: str | None = None,
    oauth_client_id: str | None = None,
    reason: str | None = None,
) -> AuditedAttempt:
    """Run ``act`` (which opens the client and calls ``perform``) and record what became of it in
    ``audit`` (None: the operator chose no audit). Never raises an ``Exception``; an interruption
    (``KeyboardInterrupt``, cancellation) is recorded, then re-raised."""
    outcome: ControlOutcome | None = None
    try:
        outcome = act()
    except Exception as exc:  # anything at all: the attempt must still be recorded, and say so
        outcome = unknown_effect(request, exc, what="failed")
    finally:
        if outcome is None:  # a BaseException is on its way out: record it, let it go on
            outcome = unknown_effect(request, sys.exc_info()[1], what="interrupted")
        event = ControlAuditEvent.from_outcome(
            outcome,
            launched_by=launched_by,
            source=source,
            run_id=run_id,
            oauth_client_id=oauth_client_id,
            reason=reason,
        )
        audit_uri, audit_error = _append(audit, event)
    return AuditedAttempt(outcome, event, audit_uri, audit_error)


def unknown_effect(request: ControlRequest, error: BaseException | None, *, what: str) -> ControlOutcome:
    """The outcome of an attempt cut short by ``error``: the request may or may not have reached Genesys.
    The error's text is cleaned and its URLs cut to scheme, host and path (no query, no userinfo)."""
    kind = type(error).__name__ if error is not None else "unknown"
    detail = clean_text(redact_text(str(error)), limit=_SHOWN_CHARS) if error is not None else ""
    message = f"{what}: {kind}{f' ({detail})' if detail else ''} before the outcome was known; {_CHECK}"
    return ControlOutcome(request, "failed", message, error_type=kind)


def _append(audit: ControlAuditStore | None, event: ControlAuditEvent) -> tuple[str | None, str | None]:
    if audit is None:
        return None, None
    try:
        return audit.append(event), None
    except Exception as exc:  # the caller reports it with the event itself, so it is never lost silently
        return None, str(exc)
