"""Epoch-millisecond helpers in the exact ISO-8601 shape Genesys uses (``2026-01-01T00:00:00.000Z``)."""

from __future__ import annotations

import datetime as dt

DAY_MS = 86_400_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def iso(ms: int) -> str:
    moment = _EPOCH + dt.timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


_OFFSET = dt.timezone(dt.timedelta(hours=2))


def stamp(ms: int, style: str) -> str:
    """A timestamp in one of the dialect's forms: ``millis`` (as ``iso``), ``seconds`` or ``offset``."""
    if style == "millis":
        return iso(ms)
    moment = _EPOCH + dt.timedelta(milliseconds=ms)
    if style == "seconds":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.astimezone(_OFFSET).isoformat(timespec="milliseconds")


def parse_iso(text: str) -> int:
    """ISO-8601 with an offset or ``Z`` to epoch ms; naive values are taken as UTC."""
    value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return round((value - _EPOCH).total_seconds() * 1000)


def parse_interval(text: str) -> tuple[int, int]:
    start, sep, end = text.partition("/")
    if not sep:
        raise ValueError("interval must look like <start>/<end>")
    return parse_iso(start), parse_iso(end)


def day_start_ms(day: dt.date) -> int:
    return (day.toordinal() - _EPOCH_ORDINAL) * DAY_MS


def day_of_ms(ms: int) -> dt.date:
    return dt.date.fromordinal(ms // DAY_MS + _EPOCH_ORDINAL)


def amz_date(ms: int) -> str:
    return (_EPOCH + dt.timedelta(milliseconds=ms)).strftime("%Y%m%dT%H%M%SZ")


def parse_amz_date(text: str) -> int:
    value = dt.datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)
    return round((value - _EPOCH).total_seconds() * 1000)
