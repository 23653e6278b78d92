"""The day's archiving steps, free of Dagster: discover → download → verify → store → manifest."""
