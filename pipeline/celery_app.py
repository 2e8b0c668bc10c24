"""The Celery app a worker runs: dagster-celery's, with a step acknowledged only once it ran.

Celery acknowledges a task, by default, as soon as a worker takes it. A worker killed mid-step
(``kill -9``, the OOM killer, a machine lost) then takes the step with it: no result ever
comes back, and the run that sent it waits for ever (dagster-celery's executor polls for the
result, with no timeout). With late acknowledgement the broker keeps the step until the worker
has run it; when the worker's connection drops, RabbitMQ hands the step to another worker,
which runs it again (``task_reject_on_worker_lost`` does the same when only a pool process
dies). Every step may run twice, then: each publishes in one Delta commit and records the
version it made, so a second attempt replaces the first's table and the run reads its own.

A worker starts with ``celery -A pipeline.celery_app worker ...`` (see the README).
"""

from dagster_celery.app import app, execute_job, execute_plan, resume_job

app.conf.update(task_acks_late=True, task_reject_on_worker_lost=True)

__all__ = ["app", "execute_job", "execute_plan", "resume_job"]
