"""Notices to customers on their registered channel: a disclosure they may now be told of, and the
decisions on their requests. Each (customer, topic) is sent once, by a task, after commit."""

import datetime as dt
from collections.abc import Mapping

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from workflow import audit, customer_store
from workflow.ledger import newly_visible
from workflow.models import CustomerNotice


def queue_notice(
    customer_key: str, topic: str, *, last_known: Mapping[str, str] | None = None
) -> CustomerNotice | None:
    """Record that ``topic`` is to be told to the customer and enqueue the send (once per topic).

    ``last_known`` (``{"email": …, "mobile": …}``, read before an erasure) is where to send it if
    the profile holds no contact any more by the time it is sent."""
    channel, address = _preferred(last_known or {})
    try:
        with transaction.atomic():
            notice = CustomerNotice.objects.create(
                customer_key=customer_key, topic=topic, last_known_channel=channel, last_known_address=address
            )
            transaction.on_commit(lambda: _enqueue(notice.pk))
    except IntegrityError:
        return None
    return notice


def _enqueue(notice_id: int) -> None:
    from workflow.tasks_customers import deliver_notice

    deliver_notice.delay(notice_id)


def notify_visible_disclosures(*, today: dt.date | None = None) -> int:
    """Queue a notice for every disclosure a customer may now be told of (Celery beat).

    Nothing is queued for an order while its notice is withheld, so the first notice about an
    embargoed order goes out only after its date has passed or it was lifted.
    """
    queued = 0
    known = set(
        CustomerNotice.objects.filter(topic__startswith="disclosure:").values_list("customer_key", "topic")
    )
    for order, customer_key in newly_visible(today=today):
        topic = f"disclosure:{order.reference}"
        if (customer_key, topic) in known:
            continue
        with transaction.atomic():
            if queue_notice(customer_key, topic) is not None:
                audit.record(
                    "order.customer_notified", actor=None, obj=order, data={"customer": customer_key}
                )
                queued += 1
    return queued


def render_notice(topic: str) -> tuple[str, str]:
    """(subject, body) of a notice, Persian then English. Pure: the topic says everything."""
    store_fa, store_en = settings.STORE_NAME_FA, settings.STORE_NAME
    link = settings.CUSTOMER_PORTAL_URL
    kind, _sep, rest = topic.partition(":")
    if kind == "disclosure":
        return (
            f"{store_en}: a disclosure of your data is recorded",
            f"مشتری گرامی {store_fa}، افشای داده‌های شما به دستور یک مرجع صالح در دفتر افشای شما ثبت شد.\n"
            f"برای دیدن جزئیات وارد شوید: {link}\n\n"
            f"Dear {store_en} customer, a disclosure of your data on the order of a competent authority "
            f"is now recorded in your disclosure ledger. Sign in to see it: {link}",
        )
    reference, _sep, event = rest.partition(":")
    words = {
        "extended": ("مهلت پاسخ به درخواست شما تمدید شد", "The deadline for your request was extended"),
        "deferred": (
            "انجام درخواست حذف شما به دلیل یک تکلیف قانونی فعلاً به تعویق افتاد",
            "Your erasure request is deferred for now because of a legal obligation",
        ),
        "completed": ("درخواست شما انجام شد", "Your request has been completed"),
        "partially_completed": ("درخواست شما تا حدی انجام شد", "Your request has been partially completed"),
        "rejected": ("درخواست شما پذیرفته نشد", "Your request was refused"),
    }
    fa, en = words.get(event, ("وضعیت درخواست شما تغییر کرد", "Your request was updated"))
    return (
        f"{store_en}: {en} ({reference})",
        f"{fa} ({reference}). برای دیدن جزئیات وارد شوید: {link}\n\n"
        f"{en} ({reference}). Sign in for details: {link}",
    )


def _preferred(registered: Mapping[str, str]) -> tuple[str, str]:
    """E-mail first (it carries the longer message), else SMS: the profile's official channels."""
    if registered.get("email"):
        return "email", registered["email"]
    if registered.get("mobile"):
        return "sms", registered["mobile"]
    return "", ""


def deliver_notice(notice_id: int) -> bool:
    """Send one queued notice (the task's body); idempotent: a sent notice is not sent again."""
    from workflow.notify import Message, send

    with transaction.atomic():
        notice = CustomerNotice.objects.select_for_update().filter(pk=notice_id, sent_at=None).first()
        if notice is None:
            return False
        channel, to = _preferred(customer_store.contacts(notice.customer_key))
        if not to:
            channel, to = notice.last_known_channel, notice.last_known_address
        if not to:
            return False
        subject, body = render_notice(notice.topic)
        send(Message(channel=channel, to=to, subject=subject, body=body))
        notice.channel = channel
        notice.sent_at = timezone.now()
        notice.last_known_channel = notice.last_known_address = ""
        notice.save(update_fields=["channel", "sent_at", "last_known_channel", "last_known_address"])
        audit.record(
            "customer.notice_sent",
            actor=None,
            data={"customer": notice.customer_key, "topic": notice.topic, "channel": channel},
        )
    return True
