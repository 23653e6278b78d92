"""``docs/tables.md``: every Parquet table the archive writes, its columns, types and meaning, generated
from the column lists (``tables.py``, and the radar's and orphans' own). Regenerate with
``python -m recording_assets.pipeline.tables_doc > docs/tables.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

from recording_assets.pipeline.orphans import ORPHANS_TABLE
from recording_assets.pipeline.radar_table import RADAR_TABLE
from recording_assets.pipeline.tables import TABLES, Table

DOCUMENTED = (*TABLES, RADAR_TABLE, ORPHANS_TABLE)


def tables_markdown(tables: Sequence[Table] = DOCUMENTED) -> str:
    lines = [
        "# Tables",
        "",
        "The Parquet tables written to the manifest bucket, one file per day. Generated from their column",
        "lists by `python -m recording_assets.pipeline.tables_doc`: do not edit.",
    ]
    for table in tables:
        lines += ["", f"## {table.name}", "", table.doc, "", f"Key of one day: `{table.example_key}`", ""]
        lines += ["| column | type | meaning |", "|---|---|---|"]
        lines += [
            f"| `{c.name}` | `{c.type}` | {'**PII.** ' if c.pii else ''}{c.doc} |" for c in table.columns
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(tables_markdown(), end="")
