"""The code location: one ``Definitions`` with the assets, their checks and resources."""

from __future__ import annotations

import dagster as dg

from recording_assets.assets.audio import build_recording_audio
from recording_assets.assets.manifest import build_recording_manifest
from recording_assets.assets.metadata import build_recording_metadata
from recording_assets.partitions import PartitionSettings
from recording_assets.resources import build_resources


def build_definitions(environ=None) -> dg.Definitions:
    partitions = PartitionSettings.from_env(environ).definition()
    return dg.Definitions(
        assets=[
            build_recording_metadata(partitions),
            build_recording_audio(partitions),
            build_recording_manifest(partitions),
        ],
        resources=build_resources(environ),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
