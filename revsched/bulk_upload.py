"""Bulk API 2.0 update jobs uploaded in the background while the plan is saved, and
aborted when a run stops before closing them.

Apart from the waves because a job's life (open, close or abort) spans the whole apply.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from revsched.errors import RevschedError
from revsched.logs import logger
from revsched.org import OrgGateway
from revsched.write_waves import Payloads, Uploaded


@contextmanager
def bulk_jobs_uploaded(
    payloads: Callable[[], Payloads], changes: int, org: OrgGateway
) -> Iterator[Future[Uploaded] | None]:
    """While the plan is saved, create the update job of each object written by Bulk and
    upload its records (`payloads` gives them by object), in the background. A job is
    closed, and so runs, only by `write_changes`, once the plan is saved; one still open
    when the run stops is aborted. None when the plan's `changes` are too few for Bulk."""
    if changes <= org.api.bulk_write_threshold:
        yield None
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="revsched-upload") as pool:
        uploading = pool.submit(_upload, payloads, org)
        try:
            yield uploading
        finally:
            if uploading.exception() is None:
                _abort(org, uploading.result().jobs)


def _upload(payloads: Callable[[], Payloads], org: OrgGateway) -> Uploaded:
    writes = payloads()
    jobs: dict[str, str] = {}
    try:
        for sobject, records in writes.items():
            if len(records) > org.api.bulk_write_threshold:
                jobs[sobject] = org.open_bulk_update(sobject, records)
    except BaseException:
        _abort(org, jobs)
        raise
    return Uploaded(writes, jobs)


def _abort(org: OrgGateway, jobs: Mapping[str, str]) -> None:
    """Drop jobs never closed; one that cannot be reached expires unprocessed."""
    for sobject, job_id in jobs.items():
        try:
            org.abort_bulk_job(sobject, job_id)
        except RevschedError as error:
            logger.warning("Bulk API 2.0 job %s left open, never run: %s", job_id, error)
