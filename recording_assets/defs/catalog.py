"""What the catalog shows about each asset: column schemas from ``pipeline/tables.py`` (the one source of
the columns), owners, tags for the personal data these tables hold, links to the code, and per-run row
counts and S3 locations under Dagster's own metadata keys."""

from __future__ import annotations

import warnings
from pathlib import Path

import dagster as dg
import pyarrow as pa

from recording_assets.pipeline.orphans import ORPHANS_TABLE
from recording_assets.pipeline.radar_table import RADAR_TABLE
from recording_assets.pipeline.tables import MANIFEST_TABLE, METADATA_TABLE, OUTCOMES_TABLE, Table
from recording_assets.settings import OperationsSettings

OWNERS = ["team:contact-center-platform"]
# Every table names agents and conversations; the objects are the calls themselves. Retention and access
# reviews filter the catalog on these.
TAGS = {"pii": "", "compliance": ""}
TABLE_OF_ASSET = {
    "recording_metadata": METADATA_TABLE,
    "recording_audio": OUTCOMES_TABLE,  # the objects, and beside them the per-recording outcome table
    "recording_manifest": MANIFEST_TABLE,
    "recording_orphans": ORPHANS_TABLE,
    "recording_expiry_radar": RADAR_TABLE,
}
_PACKAGE = Path(__file__).resolve().parents[1]  # recording_assets/


def column_schema(table: Table) -> dg.TableSchema:
    """Each column with its meaning; personal data (addresses, agents' e-mails) tagged ``pii`` column by
    column, as the Parquet field metadata is."""
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=c.name, type=str(c.type), description=c.doc, tags={"pii": ""} if c.pii else None
            )
            for c in table.columns
        ]
    )


def table_metadata(table: pa.Table, uri: str) -> dict:
    """Row count and location of the day's table one materialisation wrote.

    ``dagster/partition_row_count`` is the rows of the day's file at ``dagster/uri``. No
    ``dagster/row_count``: the catalog shows that one as the asset's size, and the latest day's count
    there read as the whole archive's after a year (no run reads every day to total them)."""
    return {
        "dagster/partition_row_count": dg.MetadataValue.int(table.num_rows),
        "dagster/uri": dg.MetadataValue.text(uri),
    }


def catalogued(assets: list, settings: OperationsSettings) -> list:
    """``assets`` with column schema, owners, tags and code references (to the repository when
    RECORDING_CODE_URL names it, else to the local files)."""

    def describe(spec: dg.AssetSpec) -> dg.AssetSpec:
        table = TABLE_OF_ASSET.get(spec.key.to_user_string())
        metadata = {"dagster/column_schema": column_schema(table)} if table else {}
        return spec.merge_attributes(metadata=metadata, owners=OWNERS, tags=TAGS)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)  # code references are beta in 1.13: used knowingly
        return _with_code_references(dg.map_asset_specs(describe, assets), settings)


def _with_code_references(assets, settings: OperationsSettings) -> list:
    described = dg.with_source_code_references(assets)
    if not settings.code_url:
        return list(described)
    return list(
        dg.link_code_references_to_git(
            described,
            git_url=settings.code_url,
            git_branch=settings.code_branch,
            file_path_mapping=dg.AnchorBasedFilePathMapping(
                local_file_anchor=_PACKAGE / "__init__.py",
                file_anchor_path_in_repository="recording_assets/__init__.py",
            ),
        )
    )
