"""The governed training-data pipeline: plain, typed logic behind the Dagster assets.

Importing this package switches off the telemetry and network lookups of the libraries it
drives (Dagster, GX, MLflow, Presidio's email recognizer) unless the user set them already:
the pipeline must run offline and must not report usage anywhere.
"""

import os

_OFFLINE_DEFAULTS = {
    # tldextract (used by Presidio's email recognizer) otherwise fetches the public suffix list.
    "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "DAGSTER_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "1",
}

for _name, _value in _OFFLINE_DEFAULTS.items():
    os.environ.setdefault(_name, _value)
