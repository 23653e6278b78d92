"""Reading an in-process run's result by asset, not by node: the day's step is one node that materialises
``recording_metadata`` and ``recording_audio`` (``defs/day.py``)."""

from __future__ import annotations

import dagster as dg


def materialisations_of(result, asset_name: str) -> list[dg.AssetMaterialization]:
    key = dg.AssetKey(asset_name)
    return [
        event.event_specific_data.materialization
        for event in result.get_asset_materialization_events()
        if event.asset_key == key
    ]
