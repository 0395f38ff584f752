"""Celery tasks of the customer side: thin, idempotent, taking ids (STYLE.md)."""

from celery import shared_task


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_sign_in_code(code_id: int, code: str, destination: str) -> bool:
    from workflow.services.customers import deliver_sign_in_code

    return deliver_sign_in_code(code_id, code, destination)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=8)
def deliver_notice(notice_id: int) -> bool:
    from workflow.services.notices import deliver_notice as deliver

    return deliver(notice_id)


@shared_task
def notify_visible_disclosures() -> int:
    from workflow.services.notices import notify_visible_disclosures as notify

    return notify()


@shared_task
def resume_deferred_erasures() -> list[str]:
    from workflow.services.erasure import resume_deferred_erasures as resume

    return resume()


@shared_task
def remind_due_requests() -> list[str]:
    from workflow.services.deadlines import remind_due_requests as remind

    return remind()


@shared_task
def purge_expired_files() -> list[str]:
    from workflow.services.retention import purge_expired_files as purge

    return purge().purged


@shared_task(acks_late=True)
def build_access_package(dsr_id: int) -> str:
    from workflow.services.access import build_access_package as build

    return build(dsr_id)
