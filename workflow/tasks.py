"""Celery tasks: thin, idempotent, enqueued on commit (STYLE.md). The rules live in
``workflow.package.build``; a task only claims, builds, and decides whether to retry."""

import logging
from typing import Any

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init
from django.conf import settings
from django.utils.translation import gettext as _

from workflow.models import DisclosureOrder
from workflow.package import build as pipeline

logger = logging.getLogger(__name__)


@worker_process_init.connect
def preload_renderer(**_kwargs: Any) -> None:
    """What each worker process does once when it starts, not in every package build: WeasyPrint
    loaded and its fonts warmed (the render children of every build inherit them), and the
    signing material checked (a build decrypts the key again only if its files changed)."""
    from workflow.package import render, sign

    render.preload()
    sign.preload()


# How long a duplicate delivery waits before looking again at a build another worker holds.
BUSY_RETRY_LIMIT = 100


@shared_task(
    bind=True,
    name="workflow.build_package",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # bounded by the package's attempt counter, which survives redeliveries
    time_limit=settings.PACKAGE_TIME_LIMIT_SECONDS,
    soft_time_limit=max(settings.PACKAGE_TIME_LIMIT_SECONDS - 30, 10),
)
def build_package(self: Task, order_id: int, scope_revision: int) -> str | None:
    token = pipeline.attempt_token(self.request.id or "")
    try:
        attempt = pipeline.claim(order_id, scope_revision, token)
    except pipeline.ClaimBusy:
        if (self.request.retries or 0) >= BUSY_RETRY_LIMIT:
            logger.warning("package build for order %s stays claimed by a live worker; giving up", order_id)
            return None
        raise self.retry(countdown=max(settings.PACKAGE_CLAIM_LEASE_SECONDS // 2, 1)) from None
    if attempt is None:
        return None  # already built, superseded, or no longer exporting: nothing to do
    try:
        return pipeline.build(attempt)
    except pipeline.ClaimLost:
        logger.info("package build of order %s was taken over by another attempt", order_id)
        return None
    except SoftTimeLimitExceeded:
        reason = _("The package took longer than %(s)d seconds to build.") % {
            "s": settings.PACKAGE_TIME_LIMIT_SECONDS
        }
        pipeline.fail(order_id, scope_revision, reason, token)
        return None
    except Exception as err:
        permanent = pipeline.permanent_reason(err)
        if permanent is None and pipeline.attempts_left(attempt):
            logger.warning("package build of order %s failed (%s); retrying", order_id, type(err).__name__)
            pipeline.release_claim(attempt)
            raise self.retry(countdown=min(2 ** (self.request.retries or 0), 60), exc=err) from err
        logger.exception("package build of order %s failed", order_id)
        pipeline.fail(order_id, scope_revision, permanent or pipeline.describe(err), token)
        return None


def enqueue_package_build(order: DisclosureOrder) -> None:
    """The export enqueuer (registered in WorkflowConfig.ready), called on commit."""
    build_package.delay(order.pk, order.scope_revision)
