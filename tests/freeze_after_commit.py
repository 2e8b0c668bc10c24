"""`govern`, frozen right after one table's Delta commit: a test launcher, never production code.

    python tests/freeze_after_commit.py TABLE MARKER govern-args...

runs ``govern govern-args...`` in this process; when a write to the Delta table whose location
ends with ``TABLE`` (``redacted/customers``) has committed, it writes ``MARKER`` and sleeps, so
a test can ``kill -9`` it at the worst moment of a publish: the new version committed, the
asset's other table (its quarantine) not yet, and Dagster's record of it not at all. The write
itself is delta-rs's, untouched; only the return is withheld. A signal cannot hit that window
reliably from outside: it lasts milliseconds.
"""

import os
import sys
import time
from pathlib import Path

import pipeline.storage.tables as tables


def main() -> int:
    table, marker, *args = sys.argv[1:]
    write_deltalake = tables.write_deltalake

    def write_then_freeze(uri: str, *rest, **options):
        write_deltalake(uri, *rest, **options)
        if str(uri).rstrip("/").endswith(table.replace("/", os.sep)):
            Path(marker).write_text(str(uri))
            while True:
                time.sleep(60)

    tables.write_deltalake = write_then_freeze
    from pipeline.cli.app import main as govern

    return govern(args)


if __name__ == "__main__":
    raise SystemExit(main())
