"""Live recording control for operators, knowing nothing of argparse or Dagster.

``actions`` (what to do and how each answer maps to an outcome) and ``audit`` (the control audit trail:
one JSON object per event in S3). Two thin shells drive them and both write that trail: the ``calls`` /
``recording`` CLI commands (``tools/control_cli.py`` and ``tools/control_commands.py``) and the
``recording_control`` Dagster job (``defs/control.py``). Import the submodules directly: this package
imports nothing, so the CLI stays quick to start.
"""
