"""The Athena table over the day's manifests, derived from ``tables.MANIFEST`` so it can never lag behind
a column added there: one Hive-style dataset (``manifests/date=YYYY-MM-DD/``) read with partition projection,
no crawler. Printed by ``python -m recording_assets.pipeline.athena``; docs/finding.md shows it.
"""

from __future__ import annotations

import pyarrow as pa

from recording_assets.pipeline.tables import MANIFEST


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


def manifest_ddl(*, bucket: str = "BUCKET", first_day: str = "2025-01-01") -> str:
    """``CREATE EXTERNAL TABLE recording_manifest`` over ``s3://{bucket}/manifests/``, its partitions
    projected from ``first_day`` to now."""
    columns = ",\n".join(f"  {field.name} {hive_type(field.type)}" for field in MANIFEST)
    location = f"s3://{bucket}/manifests/"
    return f"""CREATE EXTERNAL TABLE recording_manifest (
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


if __name__ == "__main__":
    print(manifest_ddl(), end="")
