"""Readings of what the Genesys documentation leaves open, one field per behaviour.

The sandbox plays each plausible reading so the product can be shown correct and economical under all of
them, never tuned to one guess (docs/genesys-api.md §11; docs/genesys-behaviours.md lists every
behaviour, its readings, the source that leaves it open and what the product does). The defaults are
the sandbox's first reading; ``DIALECTS`` names the combinations the test matrix and benchmarks run.
(Whether a deleted recording answers 404 or 410 is ``Faults.deleted_status``: switchable while running.)
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from recording_assets.sandbox.ratelimit import SCOPES as RATE_LIMIT_SCOPE

RECORDING_FLAGS = ("per_recording", "agent_only", "customer_and_agent")
SCREEN_FLAGS = ("per_screen", "with_recording")
BATCH_UNAVAILABLE = ("error_item", "omitted")
TOTAL_HITS = ("exact", "approximate")
TIMESTAMPS = ("millis", "seconds", "offset")
RETENTION_THRESHOLD = ("retained_longer", "deleted_within")
PROTECTION_REFUSAL = ("failed_updates", "error_400")
RESTORE_BODY = ("merge", "replace")
ALL_DIVISIONS_GRANT = ("star", "expanded")
JOB_RESULTS_PAGE = ("up_to_1000", "up_to_100", "refuses_over_100")


@dataclass(frozen=True)
class Dialect:
    # Which analytics sessions carry `recording: true`: the session each recording belongs to; only
    # agents' sessions (one flag whatever the count); the customer's and the agent's for one stereo call.
    recording_flags: str = "per_recording"
    # `screenRecording` on participants: set per screen recording; or set on every participant whose
    # session is flagged `recording` (the flag then says nothing about screens).
    screen_flags: str = "per_screen"
    # A batch job's answer for ARCHIVED / DELETED recordings: an item with `errorMsg`; or no item at all.
    batch_unavailable: str = "error_item"
    # `totalHits` of the details query: exact; or approximate (within ±10 %, changing from page to page).
    total_hits: str = "exact"
    # Timestamps in recording bodies: `.000Z` milliseconds; whole seconds `Z`; or a +02:00 offset.
    timestamps: str = "millis"
    # Presigned media URLs answer 302 to another host this many times before the bytes (0: 200 at once).
    media_redirects: int = 0
    # `retentionThresholdDays` of the retention query: the SDK's words, recordings "retained for more days
    # than the provided value" (created more than N days ago); or those deleted within the next N days.
    retention_threshold: str = "retained_longer"
    # A protection the org cannot apply (its 1,000-conversation cap, a recording not policy-based): a
    # `failedUpdates` item of the 200 answer (ManageDeleteProtectionResult); or the whole request refused
    # with a 400 (nothing of it applied) when it would pass the cap.
    protection_refusal: str = "failed_updates"
    # A restore body without `deleteDate`: leaves the date alone; or removes it (the SDK: the PUT
    # "supports updating and removing both archive and delete dates").
    restore_body: str = "merge"
    # A role granted in all divisions (the grant `*`), as `GET /api/v2/oauth/clients/{id}` shows it in
    # `roleDivisions`: one entry with divisionId `*`; or one entry per division that exists.
    all_divisions_grant: str = "star"
    # The rate limit's window: each token's own; or one window for all the tokens of one OAuth client
    # (docs/genesys-api.md §7: "per token", but whether tokens of one client share it is unconfirmed).
    rate_limit_scope: str = "per_token"
    # The largest page of a details job's results (the SDK: pageSize is "the desired maximum number of
    # results", no cap stated): 1,000, a larger size served as 1,000; 100, a larger size served as 100;
    # or 100, a larger size refused with a 400.
    job_results_page: str = "up_to_1000"

    def __post_init__(self) -> None:
        for name, allowed in (
            ("recording_flags", RECORDING_FLAGS),
            ("screen_flags", SCREEN_FLAGS),
            ("batch_unavailable", BATCH_UNAVAILABLE),
            ("total_hits", TOTAL_HITS),
            ("timestamps", TIMESTAMPS),
            ("retention_threshold", RETENTION_THRESHOLD),
            ("protection_refusal", PROTECTION_REFUSAL),
            ("restore_body", RESTORE_BODY),
            ("all_divisions_grant", ALL_DIVISIONS_GRANT),
            ("rate_limit_scope", RATE_LIMIT_SCOPE),
            ("job_results_page", JOB_RESULTS_PAGE),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(
                    f"dialect {name}={getattr(self, name)!r}: choose one of {', '.join(map(str, allowed))}"
                )
        if not 0 <= self.media_redirects <= 10:
            raise ValueError("dialect media_redirects must be within 0..10")

    @classmethod
    def parse(cls, text: str) -> Dialect:
        """``NAME`` of ``DIALECTS``, or ``field=value,...`` over the defaults (the CLI's ``--dialect``)."""
        text = text.strip()
        if text in DIALECTS:
            return DIALECTS[text]
        types = {f.name: f.type for f in fields(cls)}
        values: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, sep, value = part.partition("=")
            if not sep or name not in types:
                raise ValueError(
                    f"dialect {part!r}: use one of {', '.join(DIALECTS)} or field=value with fields "
                    f"{', '.join(types)}"
                )
            values[name] = int(value) if types[name] in ("int", int) else value
        return cls(**values)

    def differences(self) -> dict[str, object]:
        """The fields that differ from the default reading (for logs and benchmark labels)."""
        default = Dialect()
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) != getattr(default, f.name)
        }


def _all_other_readings() -> Dialect:
    return Dialect(
        recording_flags="customer_and_agent",
        screen_flags="with_recording",
        batch_unavailable="omitted",
        total_hits="approximate",
        timestamps="offset",
        media_redirects=1,
        retention_threshold="deleted_within",
        protection_refusal="error_400",
        restore_body="replace",
        all_divisions_grant="expanded",
        rate_limit_scope="per_client",
        job_results_page="up_to_100",
    )


# The combinations the matrix runs: each reading alone, and every non-default reading together. The
# retention readings change no archive of a day: their tests (pipeline/test_retention*.py) pick them alone;
# nor does all_divisions_grant unless the config grants `*` (genesys/test_division_coverage.py picks it).
DIALECTS: dict[str, Dialect] = {
    "default": Dialect(),
    "agent-flags": Dialect(recording_flags="agent_only"),
    "stereo-flags": Dialect(recording_flags="customer_and_agent"),
    "screen-with-recording": Dialect(screen_flags="with_recording"),
    "omitting-batches": Dialect(batch_unavailable="omitted"),
    "approximate-hits": Dialect(total_hits="approximate"),
    "seconds-times": Dialect(timestamps="seconds"),
    "offset-times": Dialect(timestamps="offset"),
    "redirecting-media": Dialect(media_redirects=2),
    "small-job-pages": Dialect(job_results_page="up_to_100"),
    "refusing-job-pages": Dialect(job_results_page="refuses_over_100"),
    "independent": _all_other_readings(),
}
