"""Celery settings of axiswatch's Airflow workers (``[celery] celery_config_options`` in
docker/airflow.env): Airflow's own, plus modules each worker imports once when it starts.

A Celery worker runs every task in a process forked from itself, so what the worker imported
the task has already: the page and feed tasks no longer import trafilatura, datasketch and the
rest, and load the language model, each time they start. Only Airflow's Celery app reads this
module (the scheduler for the broker settings, the workers for the imports too); no command
of ``axiswatch`` imports it.
"""

from __future__ import annotations

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

CELERY_CONFIG = {**DEFAULT_CELERY_CONFIG,
                 "imports": (*DEFAULT_CELERY_CONFIG.get("imports", ()), "axiswatch.worker_imports")}
