"""``govern``: run the governed pipeline, make sample data, serve the UI.

govern run [--dataset NAME] [--source NAME=PATH] [--json]
govern redact --source NAME INPUT OUTPUT
govern policy check
govern contract init --source NAME [--force]
govern new-dataset NAME --source PATH [--source PATH ...] --target COLUMN
govern lineage MODEL[@VERSION|@ALIAS] [--json]
govern reproduce MODEL@VERSION [--json]
govern report MODEL@VERSION [--out DIR]
govern generate (--customers N | --patients N) [--out DIR] [--seed N]
govern ui [--port N]
"""

# This docstring is `govern --help`. The package holds the parser (app.py), one module per
# command group, and output.py for what the commands print. Each command imports what it drives
# (Dagster, GX, Presidio, MLflow) inside its handler, so `--help` and argument errors answer at
# once.
