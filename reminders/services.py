"""Sending email. Every message leaves through Django's mail API, so the ESP is whatever EMAIL_ESP says.

Two ways out:
- `email_send`: a one-off message drawn by the caller (invitations, pay-link and sign-in emails), sent
  right after commit. Its body may hold a secret token, so it is never kept and never retried.
- `email_queue`: the emails about an invoice. An `OutboundEmail` row is committed first; a worker draws
  it (with a fresh pay link and the PDF), sends it, records what the ESP answered, and retries with
  backoff when sending fails. The invoice counts as sent only once the ESP accepted the message.
"""

import datetime
import logging
from email.utils import formataddr, make_msgid, parseaddr

from anymail.exceptions import AnymailRecipientsRefused
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from core.tasks import enqueue
from invoicing.models import EventKind, Invoice, InvoiceAction
from invoicing.pdf import invoice_pdf_get
from invoicing.services import invoice_event
from partners.models import Partner, User
from payments.portal.services import pay_link_issue
from reminders import emails, signals
from reminders.models import (
    EmailStatus,
    Notification,
    NotificationKind,
    NotificationStatus,
    OutboundEmail,
)
from reminders.selectors import addresses_suppressed, alert_recipients, notification_settings

logger = logging.getLogger(__name__)

# After the n-th failed try, wait RETRY_BACKOFF[n-1] seconds; after the last one the email has failed.
RETRY_BACKOFF = [60, 300, 900, 3600, 4 * 3600]
MAX_TRIES = len(RETRY_BACKOFF) + 1
# A worker that stopped while talking to the ESP may or may not have sent: such a message is marked
# failed rather than sent again, so no customer gets the same email twice.
SENDING_STALE = datetime.timedelta(minutes=10)
# Emails to the partner about an invoice: not part of what the customer was sent.
PARTNER_KINDS = (
    NotificationKind.PARTNER_CHARGE_FAILED,
    NotificationKind.PARTNER_BOUNCE,
    NotificationKind.PARTNER_DISPUTE,
)


def email_render(*, template: str, context: dict) -> tuple[str, str]:
    """Render `<template>.txt` and `<template>.html` with the same context: (text, html)."""
    context = {"site_url": settings.SITE_URL, **context}
    return render_to_string(f"{template}.txt", context), render_to_string(f"{template}.html", context)


def email_send(
    *, to: list[str], subject: str, template: str, context: dict, reply_to: list[str] | None = None
) -> None:
    """Send a text + HTML email once the current transaction commits.

    Sending after commit means a rolled-back action never emails anyone; a failure to send is logged
    rather than turning the user's (already committed) action into an error page.
    """
    text, html = email_render(template=template, context=context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=to, reply_to=reply_to)
    message.attach_alternative(html, "text/html")

    def send() -> None:
        try:
            message.send()
        except Exception:
            logger.exception("Could not send %r to %s", subject, to)

    transaction.on_commit(send)


# Queued emails ------------------------------------------------------------------------------------


def email_queue(
    *,
    partner: Partner,
    kind: NotificationKind,
    to: list[str],
    invoice: Invoice | None = None,
    cc: list[str] | None = None,
    notification: Notification | None = None,
    created_by: User | None = None,
    params: dict | None = None,
) -> OutboundEmail:
    """Commit the email's row; a worker sends it after commit (or the beat sweep, if that is lost)."""
    from reminders.tasks import deliver_email

    email = OutboundEmail.objects.create(
        partner=partner,
        invoice=invoice,
        notification=notification,
        kind=kind,
        to=to,
        cc=cc or [],
        params=params or {},
        created_by=created_by,
        next_try_at=timezone.now(),
    )
    enqueue(deliver_email, partner_id=email.partner_id, email_id=email.pk)
    return email


def customer_recipients(invoice: Invoice) -> tuple[list[str], list[str]]:
    """(to, cc) for an email to the invoice's customer, without addresses that bounced."""
    customer = invoice.customer
    addresses = list({address.lower(): address for address in [customer.email, *customer.cc_emails]}.values())
    paused = addresses_suppressed(partner=invoice.partner, addresses=addresses)
    live = [address for address in addresses if address.lower() not in paused]
    return live[:1], live[1:]


def invoice_send(*, invoice: Invoice, actor: User | None) -> OutboundEmail:
    """The partner's "Send": the invoice to the customer and their CC contacts, with its pay link."""
    if refusal := invoice.refusal(InvoiceAction.SEND):
        raise ValidationError(refusal)
    to, cc = customer_recipients(invoice)
    if not to:
        raise ValidationError(
            f"Emails to {invoice.customer.email} bounced, so sending to it is paused. Change the customer's "
            "email, or resume sending to it in Settings → Notifications."
        )
    return email_queue(
        partner=invoice.partner,
        kind=NotificationKind.INVOICE,
        invoice=invoice,
        to=to,
        cc=cc,
        created_by=actor,
    )


def _claim(email_id: int, now: datetime.datetime) -> OutboundEmail | None:
    """Take the email for this worker: committed as 'sending' before the ESP is called, so a second
    worker (a duplicate task, the sweep) never sends it too."""
    with transaction.atomic(), scopes_disabled():  # the worker's or the sweep's
        email = (
            OutboundEmail.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("partner", "invoice__partner", "invoice__customer", "notification")
            .filter(pk=email_id, status__in=[EmailStatus.QUEUED, EmailStatus.RETRYING], next_try_at__lte=now)
            .first()
        )
        if email is None:
            return None
        email.status = EmailStatus.SENDING
        email.tries += 1
        email.next_try_at = now
        email.save(update_fields=["status", "tries", "next_try_at"])
        return email


def email_deliver(*, email_id: int) -> int | None:
    """Draw and send one queued email and record the ESP's answer. Returns the seconds to wait before
    trying again when sending failed and tries remain, else None. Safe to call any number of times."""
    email = _claim(email_id, timezone.now())
    if email is None:
        return None
    try:
        with scope(partner=email.partner), transaction.atomic():
            message = _build(email)
            # The pay link minted while drawing is committed before the message leaves.
        message.send()
    except AnymailRecipientsRefused:
        # Every recipient refused (Postmark: marked inactive by an earlier bounce): final, not retried.
        _record_accepted(email, message)
        return None
    except Exception as error:  # the ESP, the network or drawing: all retried, all logged
        logger.warning("Sending email %s failed (try %s): %s", email.pk, email.tries, error)
        return _record_failure(email, error)
    _record_accepted(email, message)
    return None


def _from_address(partner: Partner | None) -> str:
    name, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((partner.name if partner else name, address))


def _build(email: OutboundEmail) -> EmailMultiAlternatives:
    drawn = _draw(email)
    text, html = email_render(template=drawn.template, context=drawn.context)
    partner = email.partner
    headers = {}
    if not settings.EMAIL_BACKEND.startswith("anymail."):
        # Plain SMTP: our own Message-ID is the id bounces and replies refer to.
        headers["Message-ID"] = make_msgid(domain=parseaddr(settings.DEFAULT_FROM_EMAIL)[1].partition("@")[2])
    message = EmailMultiAlternatives(
        subject=drawn.subject,
        body=text,
        from_email=_from_address(partner),
        to=email.to,
        cc=email.cc,
        reply_to=[partner.email] if partner and partner.email else None,
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    for filename, content, mimetype in drawn.attachments:
        message.attach(filename, content, mimetype)
    # Anymail passes these to the ESP, which returns them in tracking webhooks.
    message.metadata = {"email_id": str(email.pk)}
    message.tags = [email.kind]
    email.subject = drawn.subject[:998]
    return message


def _draw(email: OutboundEmail) -> emails.Drawn:
    invoice, params, kind = email.invoice, email.params, email.kind
    if kind in emails.INVOICE_KINDS:
        notification = email.notification
        return emails.draw_invoice(
            invoice=invoice,
            kind=kind,
            offset_days=notification.offset_days if notification else 0,
            link=pay_link_issue(invoice=invoice),
            prefs=notification_settings(partner=invoice.partner),
            pdf=lambda: invoice_pdf_get(invoice=invoice),
        )
    if kind == NotificationKind.RECEIPT:
        return emails.draw_receipt(
            invoice=invoice,
            amount=params["amount"],
            method_label=params["method_label"],
            paid_on=datetime.date.fromisoformat(params["paid_on"]),
        )
    if kind == NotificationKind.CHARGE_FAILED:
        return emails.draw_charge_failed(
            invoice=invoice,
            method_label=params["method_label"],
            reason=params["reason"],
            link=pay_link_issue(invoice=invoice),
        )
    if kind == NotificationKind.PARTNER_CHARGE_FAILED:
        return emails.draw_partner_charge_failed(
            invoice=invoice, method_label=params["method_label"], reason=params["reason"]
        )
    if kind == NotificationKind.PARTNER_DISPUTE:
        return emails.draw_partner_dispute(invoice=invoice, **params)
    if kind == NotificationKind.PARTNER_BOUNCE:
        return emails.draw_partner_bounce(
            partner=email.partner, address=params["address"], reason=params["reason"], invoice=invoice
        )
    raise ValueError(f"No drawing for email kind {kind!r}")


def _esp_answer(message: EmailMultiAlternatives) -> tuple[str, list[str]]:
    """(message id, recipients the ESP refused) from Anymail's send result, or from our own
    Message-ID when a plain SMTP relay took it (it refuses by raising)."""
    status = getattr(message, "anymail_status", None)
    if status is None:
        return message.extra_headers.get("Message-ID", ""), []
    refused = [
        address.lower()
        for address, recipient in status.recipients.items()
        if recipient.status in ("rejected", "invalid", "failed")
    ]
    return str(status.message_id or ""), refused


@transaction.atomic
def _record_accepted(email: OutboundEmail, message: EmailMultiAlternatives) -> None:
    message_id, refused = _esp_answer(message)
    accepted = [address for address in email.recipients if address.lower() not in refused]
    with scope(partner=email.partner):
        email.esp_message_id = message_id[:200]
        email.sent_at = timezone.now()
        email.status = EmailStatus.SENT if accepted else EmailStatus.FAILED
        email.last_error = f"Refused by the email provider: {', '.join(refused)}" if refused else ""
        email.save(update_fields=["esp_message_id", "sent_at", "status", "last_error", "subject"])
        _notification_done(email, sent=bool(accepted))
        if email.invoice_id and accepted and email.kind not in PARTNER_KINDS:
            _timeline_sent(email, accepted)
            if email.kind == NotificationKind.INVOICE:
                signals.invoice_sent.send(sender=OutboundEmail, invoice=email.invoice, email=email)
        elif email.invoice_id and not accepted:
            _timeline(email, f"Not sent: {email.last_error}")
        if refused:
            from reminders.tracking import address_suppress

            for address in refused:
                address_suppress(email=email, address=address, reason="Refused by the email provider")


def _record_failure(email: OutboundEmail, error: Exception) -> int | None:
    with transaction.atomic(), scope(partner=email.partner):
        email.last_error = f"{type(error).__name__}: {error}"[:500]
        if email.tries < MAX_TRIES:
            wait = RETRY_BACKOFF[email.tries - 1]
            email.status = EmailStatus.RETRYING
            email.next_try_at = timezone.now() + datetime.timedelta(seconds=wait)
        else:
            wait = None
            email.status = EmailStatus.FAILED
            _notification_done(email, sent=False)
            if email.invoice_id:
                _timeline(
                    email, f"{_what(email)} could not be sent after {email.tries} tries: {email.last_error}"
                )
        email.save(update_fields=["status", "next_try_at", "last_error", "subject"])
    return wait


def _notification_done(email: OutboundEmail, *, sent: bool) -> None:
    if email.notification_id:
        Notification.objects.filter(pk=email.notification_id).update(
            status=NotificationStatus.SENT if sent else NotificationStatus.FAILED, updated_at=timezone.now()
        )


def _what(email: OutboundEmail) -> str:
    return email.notification.label if email.notification else NotificationKind(email.kind).label


def _timeline_sent(email: OutboundEmail, accepted: list[str]) -> None:
    kind = EventKind.REMINDER_SENT if email.kind in emails.INVOICE_KINDS[1:] else EventKind.SENT
    invoice_event(
        email.invoice,
        kind,
        actor=email.created_by,
        message=f"{_what(email)} emailed to {', '.join(accepted)}",
        email_id=email.pk,
    )


def _timeline(email: OutboundEmail, message: str) -> None:
    invoice_event(email.invoice, EventKind.EMAIL, actor=None, message=message[:500], email_id=email.pk)


def emails_sweep(*, now: datetime.datetime) -> int:
    """Beat: hand queued or retrying emails whose task was lost to a worker again, and fail the ones
    whose worker stopped mid-send (they may have left, so they are not sent again)."""
    from reminders.tasks import deliver_email

    with scopes_disabled():  # the sweep: every partner's lost emails
        stale = OutboundEmail.objects.filter(status=EmailStatus.SENDING, next_try_at__lt=now - SENDING_STALE)
        for email in stale.select_related("invoice__partner", "notification", "partner"):
            _fail_stale(email.pk, now)
        due = list(
            OutboundEmail.objects.filter(
                status__in=[EmailStatus.QUEUED, EmailStatus.RETRYING],
                next_try_at__lte=now - datetime.timedelta(minutes=1),
            ).values_list("partner_id", "pk")[:500]
        )
    for partner_id, email_id in due:
        enqueue(deliver_email, partner_id=partner_id, email_id=email_id)
    return len(due)


@transaction.atomic
def _fail_stale(email_id: int, now: datetime.datetime) -> None:
    email = (
        OutboundEmail.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(pk=email_id, status=EmailStatus.SENDING, next_try_at__lt=now - SENDING_STALE)
        .select_related("invoice__partner", "notification", "partner")
        .first()
    )
    if email is None:
        return
    email.status = EmailStatus.FAILED
    email.last_error = (
        "The worker stopped while sending: it may not have gone out. Not sent again, to avoid a duplicate."
    )
    email.save(update_fields=["status", "last_error"])
    with scope(partner=email.partner):
        _notification_done(email, sent=False)
        if email.invoice_id:
            _timeline(email, f"{_what(email)}: {email.last_error}")


# Partner alerts ----------------------------------------------------------------------------------


def partner_alert(*, partner: Partner, kind: NotificationKind, invoice: Invoice | None, params: dict) -> None:
    to = alert_recipients(partner=partner)
    if to:
        email_queue(partner=partner, kind=kind, invoice=invoice, to=to[:1], cc=to[1:], params=params)
