"""What the ingest tasks need, imported once by each Celery worker when it starts
(``axiswatch.celery_worker``): tasks are forked from the worker and inherit it all.

Importing is all this does, besides loading the language model and the signature hashing's
datasketch (scipy under it), which the page tasks' extraction workers would otherwise load in
every task, and freezing what is then in memory (``gc.freeze``): the cyclic collector of a task
and of its extraction workers never scans those objects again, so it does not copy the pages
they sit on into every forked process either (measured in page tasks forked from a process
holding Airflow and these imports: 3% less CPU). Nothing here opens a connection or starts a
thread, so forking after it is safe."""

from __future__ import annotations

import gc

import axiswatch.orchestration  # noqa: F401
import axiswatch.steps  # noqa: F401
import ingest.feeds  # noqa: F401
import ingest.http  # noqa: F401
import ingest.pages  # noqa: F401
import transform.early_tags  # noqa: F401
import transform.supply_events  # noqa: F401
import transform.tagging  # noqa: F401
import warehouse.clusters  # noqa: F401
import warehouse.load  # noqa: F401
from ingest.language import load_model
from transform.clusters import warm_signatures

load_model()
warm_signatures()
gc.freeze()  # last: everything imported above is the workers' for good
