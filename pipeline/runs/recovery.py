"""Runs whose process died: marked failed, and what they held freed, before the next run.

``govern run`` executes a job in its own process (``execute_in_process``): there is no run
worker a daemon could watch. If that process is killed (``kill -9``, the OOM killer, a laptop
closed mid-run) the run stays STARTED in the instance forever, and a step it had queued keeps
its place in a concurrency pool, so the next run can wait behind it for ever. Every run
``govern`` starts is therefore tagged with the process that runs it (host, boot, pid and the
pid's start time, so a reused pid is not mistaken for it); before starting a run, ``govern``
marks each of its unfinished runs whose process is gone as failed, with a message that says
so, and frees its pool slots, as Dagster's run monitoring does for runs it launched.

A run killed while it publishes may have committed a Delta version that Dagster never recorded.
Such commits are undone in the same pass (``assets.recovery``): once the next run starts, every
table is again at a version a recorded materialization, or an erasure, made.

Runs without the tag (launched from the UI or by the daemon) are Dagster's to watch: its code
server marks a run failed when the run's process dies, and the ``roll_back_failed_run`` sensor
undoes that run's unrecorded commits.
"""

import os
import socket
from pathlib import Path

import dagster as dg

from assets.recovery import pid_alive, roll_back_unrecorded_commits

HOST_TAG = "govern/host"
PROCESS_TAG = "govern/process"
_UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux); "" where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # The command name (field 2) may hold spaces: the fields after it follow its ")".
    return stat.rsplit(")", 1)[-1].split()[19]


def process_tags() -> dict[str, str]:
    """Tags naming this process, for a run it is about to execute."""
    pid = os.getpid()
    return {
        HOST_TAG: socket.gethostname(),
        PROCESS_TAG: f"{_boot_id()}:{pid}:{_start_time(pid)}",
    }


def _alive(process: str) -> bool:
    """Whether the process a ``PROCESS_TAG`` names is still running (on this host)."""
    boot, _, rest = process.partition(":")
    pid_text, _, started = rest.partition(":")
    if boot != _boot_id() or not pid_text.isdigit():
        return False  # the machine has restarted since
    pid = int(pid_text)
    return pid_alive(pid) and (not started or _start_time(pid) in ("", started))


def fail_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark this host's unfinished ``govern`` runs whose process is gone as failed and free
    their concurrency slots; their run ids."""
    host = socket.gethostname()
    failed = []
    for run in instance.get_runs(
        filters=dg.RunsFilter(statuses=_UNFINISHED, tags={HOST_TAG: host})
    ):
        process = run.tags.get(PROCESS_TAG, "")
        if not process or _alive(process):
            continue
        rolled_back = roll_back_unrecorded_commits(instance, run.run_id)
        instance.report_run_failed(
            run,
            "The process running this run is gone (killed or crashed) and no step is still "
            "running: marked failed by the next `govern run`. Published tables are as the "
            "last successful step left them"
            + (f" ({rolled_back.describe()})" if rolled_back.restored or rolled_back.left else "")
            + "; run again to rebuild what this run did not.",
        )
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        failed.append(run.run_id)
    return failed
