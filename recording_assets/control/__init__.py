"""Live recording control for operators: the ``calls`` / ``recording`` CLI commands, the
``recording_control`` Dagster job, and the control audit trail they both write.

``actions`` (what to do and how each answer maps to an outcome) and ``audit`` (one JSON object per
event in S3) know nothing of argparse or Dagster; ``cli`` and ``job`` are thin shells over them.
Import the submodules directly: this package imports nothing, so the CLI stays quick to start.
"""
