"""Bulk API 2.0 update jobs uploaded in the background while the plan is saved, and
aborted when a run stops before closing them.

Apart from the waves because a job's life (open, close or abort) spans the whole apply.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from revsched.errors import RevschedError
from revsched.logs import logger
from revsched.org import OrgGateway
from revsched.plan import Plan
from revsched.write_waves import Uploaded, writes_by_object


@contextmanager
def bulk_jobs_uploaded(
    plan: Plan, org: OrgGateway, skip: Mapping[str, str]
) -> Iterator[Future[Uploaded] | None]:
    """While the plan is saved, create the update job of each object written by Bulk and
    upload its records, in the background. A job is closed, and so runs, only by
    `write_changes`, once the plan is saved; one still open when the run stops is aborted.
    Not when leads are converted first: what they planned then goes to their contacts."""
    if plan.conversions or len(plan.changes) <= org.api.bulk_write_threshold:
        yield None
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="revsched-upload") as pool:
        uploading = pool.submit(_upload, plan, org, skip)
        try:
            yield uploading
        finally:
            if uploading.exception() is None:
                _abort(org, uploading.result().jobs)


def _upload(plan: Plan, org: OrgGateway, skip: Mapping[str, str]) -> Uploaded:
    payloads = writes_by_object(plan, skip)
    jobs: dict[str, str] = {}
    try:
        for sobject, records in payloads.items():
            if len(records) > org.api.bulk_write_threshold:
                jobs[sobject] = org.open_bulk_update(sobject, records)
    except BaseException:
        _abort(org, jobs)
        raise
    return Uploaded(payloads, jobs)


def _abort(org: OrgGateway, jobs: Mapping[str, str]) -> None:
    """Drop jobs never closed; one that cannot be reached expires unprocessed."""
    for sobject, job_id in jobs.items():
        try:
            org.abort_bulk_job(sobject, job_id)
        except RevschedError as error:
            logger.warning("Bulk API 2.0 job %s left open, never run: %s", job_id, error)
