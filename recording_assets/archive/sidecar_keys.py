"""The key of a recording's sidecar, ``{recording}_metadata.json`` beside its object under ``recordings/``,
named as Genesys' own S3 export names its metadata files
(https://help.mypurecloud.com/articles/working-with-exported-recordings-in-aws-s3-bucket), so tools built
for that export find it. Derived from the recording's key alone (``keys.parse_recording_key``).
"""

from __future__ import annotations

from recording_assets.archive.errors import InvalidIdentifierError
from recording_assets.archive.keys import parse_recording_key

SIDECAR_SUFFIX = "_metadata.json"


def sidecar_key(recording_object_key: str) -> str:
    """``.../{conversation}/{recording}_metadata.json`` beside the recording; ``InvalidIdentifierError``
    when the key is not a recording's."""
    parts = parse_recording_key(recording_object_key)
    folder = recording_object_key.rsplit("/", 1)[0]
    return f"{folder}/{parts.recording_id}{SIDECAR_SUFFIX}"


def is_sidecar_key(key: str) -> bool:
    """True for a sidecar under ``recordings/``: never a recording (``parse_recording_key`` alone would read
    ``r1_metadata.json`` as recording ``r1_metadata`` of extension ``.json``) and never a stray."""
    if not isinstance(key, str) or not key.endswith(SIDECAR_SUFFIX):
        return False
    try:
        parse_recording_key(key)
    except InvalidIdentifierError:
        return False
    return True
