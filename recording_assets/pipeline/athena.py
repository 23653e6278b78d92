"""Athena tables over the day's manifests and metadata tables, derived from their schemas
(``tables.MANIFEST``, ``tables.METADATA``) so they can never lag behind a column added there: each is one
Hive-style dataset (``manifests/date=YYYY-MM-DD/``, ``metadata/date=YYYY-MM-DD/``) read with partition
projection, no crawler. Printed by ``python -m recording_assets.pipeline.athena``; docs/finding.md shows
them.
"""

from __future__ import annotations

import pyarrow as pa

from recording_assets.pipeline.tables import MANIFEST, METADATA


def hive_type(kind: pa.DataType) -> str:
    """``kind`` in Athena's (Hive's) DDL spelling."""
    if pa.types.is_list(kind):
        return f"array<{hive_type(kind.value_type)}>"
    if pa.types.is_struct(kind):
        fields = ", ".join(
            f"{kind.field(i).name}:{hive_type(kind.field(i).type)}" for i in range(kind.num_fields)
        )
        return f"struct<{fields}>"
    for test, name in _SCALARS:
        if test(kind):
            return name
    raise TypeError(f"no Athena type for {kind}")


_SCALARS = (
    (pa.types.is_string, "string"),
    (pa.types.is_timestamp, "timestamp"),
    (lambda kind: kind == pa.int64(), "bigint"),
    (lambda kind: kind == pa.int32(), "int"),
    (pa.types.is_boolean, "boolean"),
)


def athena_ddl(
    name: str, schema: pa.Schema, folder: str, *, bucket: str = "BUCKET", first_day: str = "2025-01-01"
) -> str:
    """``CREATE EXTERNAL TABLE name`` of ``schema`` over ``s3://{bucket}/{folder}/``, its ``date``
    partitions projected from ``first_day`` to now."""
    columns = ",\n".join(f"  {field.name} {hive_type(field.type)}" for field in schema)
    location = f"s3://{bucket}/{folder}/"
    return f"""CREATE EXTERNAL TABLE {name} (
{columns}
)
PARTITIONED BY (`date` string)
STORED AS PARQUET
LOCATION '{location}'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.date.type' = 'date',
  'projection.date.format' = 'yyyy-MM-dd',
  'projection.date.range' = '{first_day},NOW',
  'projection.date.interval' = '1',
  'projection.date.interval.unit' = 'DAYS',
  'storage.location.template' = '{location}date=${{date}}/'
);
"""


def manifest_ddl() -> str:
    return athena_ddl("recording_manifest", MANIFEST, "manifests")


def metadata_ddl() -> str:
    return athena_ddl("recording_metadata", METADATA, "metadata")


if __name__ == "__main__":
    print(manifest_ddl(), metadata_ddl(), sep="\n", end="")
