"""Automatic emails about invoices: planned as `Notification` rows, sent once each by the beat job.

- Issuing an invoice plans its reminders (before, on and after the due date, from the partner's
  settings) at the partner's sending hour in their time zone, and emails the invoice itself.
- A payment plans a receipt; a failed automatic charge plans a notice to the customer and an alert
  to the partner. Those that follow the due-date job's charges (at local midnight) wait for the next
  morning's sending hour; those that follow a charge a person started (Charge now, Charge method on
  file) go at once.
- An invoice charged as it is issued (Charge now, Charge method on file) is not emailed at creation:
  the charge's receipt, or its failure notice with the pay link, is the email that says what is true.
- The job claims due rows with SELECT … FOR UPDATE SKIP LOCKED, decides send or skip, and commits
  that decision with the row; the unique (invoice, kind, offset, key) makes a second send impossible.
  After an outage a reminder is sent late within the catch-up window, older ones are skipped (and
  say so), and of several reminders due at once only the latest goes.
"""

import datetime
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from core import money
from invoicing.models import Invoice, InvoiceStatus, PaymentOption
from partners.models import Partner
from payments.models import AUTOMATIC_TRIGGERS, SCHEDULED_TRIGGERS, Dispute, Payment, PaymentAttempt
from reminders.models import (
    REMINDER_KINDS,
    Notification,
    NotificationKind,
    NotificationSettings,
    NotificationStatus,
)
from reminders.selectors import alert_recipients, notification_settings
from reminders.services import customer_recipients, email_queue

logger = logging.getLogger(__name__)

# Emails that wait for the morning are not sent from this local hour on.
QUIET_FROM_HOUR = 21


def reminder_slots(prefs: NotificationSettings) -> list[tuple[str, int]]:
    """(kind, days from the due date) of every reminder the partner's settings ask for."""
    slots = [(NotificationKind.BEFORE_DUE, -days) for days in sorted(set(prefs.days_before_due)) if days > 0]
    if prefs.remind_on_due_date:
        slots.append((NotificationKind.ON_DUE, 0))
    slots += [(NotificationKind.OVERDUE, days) for days in sorted(set(prefs.days_after_due)) if days > 0]
    return slots


def slot_time(*, invoice: Invoice, offset_days: int, prefs: NotificationSettings) -> datetime.datetime:
    day = invoice.due_date + datetime.timedelta(days=offset_days)
    return datetime.datetime.combine(day, datetime.time(prefs.send_hour), tzinfo=invoice.partner.zone)


def sending_time(
    *, partner: Partner, prefs: NotificationSettings, now: datetime.datetime
) -> datetime.datetime:
    """Now, if it is between the sending hour and 21:00 in the partner's time zone; else the next
    sending hour."""
    local = now.astimezone(partner.zone)
    if prefs.send_hour <= local.hour < max(QUIET_FROM_HOUR, prefs.send_hour + 1):
        return now
    day = local.date() if local.hour < prefs.send_hour else local.date() + datetime.timedelta(days=1)
    return datetime.datetime.combine(day, datetime.time(prefs.send_hour), tzinfo=partner.zone)


def invoice_plan(*, invoice: Invoice, now: datetime.datetime | None = None) -> None:
    """An invoice was issued: plan its reminders, and email it now if the partner (or the payment
    option Email payment link) says so (creation_email says which)."""
    now = now or timezone.now()
    partner = invoice.partner
    prefs = notification_settings(partner=partner)
    _plan_reminders([invoice], prefs=prefs, now=now)
    if creation_email(payment_option=invoice.payment_option, prefs=prefs, customer=invoice.customer):
        _plan_one(invoice, NotificationKind.INVOICE, send_at=now, now=now, prefs=prefs)


CHARGED_AT_ISSUE = (PaymentOption.CHARGE_NOW, PaymentOption.CHARGE_METHOD_ON_FILE)


def creation_email(*, payment_option: str, prefs: NotificationSettings, customer=None) -> bool:
    """Whether issuing an invoice emails it at once: always with Email payment link; with "Email new
    invoices" on, for the options that leave paying to the customer. An invoice charged as it is issued
    gets its receipt or failure notice instead, so an email never says "being charged" of a declined
    card."""
    if payment_option == PaymentOption.EMAIL_PAYMENT_LINK:
        return True
    if payment_option in CHARGED_AT_ISSUE:
        return False
    return prefs.email_on_creation and (customer is None or customer.email_reminders)


def emails_planned(*, payment_option: str, prefs: NotificationSettings, customer=None) -> str:
    """What issuing an invoice with `payment_option` will email the customer, and when, in words for
    the Create invoice page (from the same rules that plan the emails)."""
    hour = datetime.time(prefs.send_hour).strftime("%-I:%M %p")
    if payment_option in CHARGED_AT_ISSUE:
        receipt = "a receipt as soon as the charge succeeds" if prefs.send_receipts else "no receipt"
        declined = (
            "; if it is declined, a notice with a link to pay another way, at once"
            if prefs.notify_customer_failed_charge
            else ""
        )
        return f"Emails: {receipt}{declined}."
    if creation_email(payment_option=payment_option, prefs=prefs, customer=customer):
        now = "the invoice with its pay link as you click Create invoice"
    else:
        now = "nothing now (Send on the invoice emails it)"
    gets_reminders = customer is None or customer.email_reminders
    slots = reminder_slots(prefs) if gets_reminders else []
    reminders = f"; {len(slots)} reminder{'s' if len(slots) != 1 else ''} around the due date at {hour}"
    return f"Emails: {now}{reminders if slots else ''}."


def _plan_reminders(invoices: list[Invoice], *, prefs: NotificationSettings, now: datetime.datetime) -> None:
    """Rows for the reminders still ahead; those whose time has passed already are not planned."""
    rows = [
        Notification(
            partner_id=invoice.partner_id, invoice=invoice, kind=kind, offset_days=offset, send_at=at
        )
        for invoice in invoices
        for kind, offset in reminder_slots(prefs)
        if (at := slot_time(invoice=invoice, offset_days=offset, prefs=prefs)) > now
    ]
    Notification.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)


def _plan_one(
    invoice: Invoice,
    kind: NotificationKind,
    *,
    send_at: datetime.datetime,
    now: datetime.datetime,
    prefs: NotificationSettings,
    key: str = "",
    params: dict | None = None,
) -> Notification | None:
    """Insert one notification (None if it exists: exactly once), and send it now if it is time."""
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                partner_id=invoice.partner_id, invoice=invoice, kind=kind, key=key, send_at=send_at
            )
    except IntegrityError:
        return None
    if send_at <= now:
        _dispatch(notification, now=now, prefs=prefs, params=params)
    return notification


def payment_receipt_plan(*, invoice: Invoice, payment_id: int) -> None:
    """Every payment gets one receipt. An automatic charge's (the due-date job charges at local
    midnight) waits for sending hours; a customer's or partner's own payment is answered at once."""
    prefs = notification_settings(partner=invoice.partner)
    if not prefs.send_receipts:
        return
    payment = Payment.objects.select_related("attempt").get(pk=payment_id)
    now = timezone.now()
    send_at, key, params = _receipt(invoice, payment, prefs=prefs, now=now)
    _plan_one(
        invoice, NotificationKind.RECEIPT, send_at=send_at, now=now, prefs=prefs, key=key, params=params
    )


def payment_receipts_plan(receipts: list[tuple[Invoice, int]]) -> None:
    """The receipts of a batch of payments recorded in this transaction (the due-date job's), planned
    with a few queries: the payments are new, so none can have a receipt yet."""
    now = timezone.now()
    payments = Payment.objects.select_related("attempt").in_bulk([payment_id for _, payment_id in receipts])
    prefs_by_partner: dict[int, NotificationSettings] = {}
    planned = []
    for invoice, payment_id in receipts:
        if invoice.partner_id not in prefs_by_partner:
            prefs_by_partner[invoice.partner_id] = notification_settings(partner=invoice.partner)
        prefs = prefs_by_partner[invoice.partner_id]
        if not prefs.send_receipts:
            continue
        send_at, key, params = _receipt(invoice, payments[payment_id], prefs=prefs, now=now)
        notification = Notification(
            partner_id=invoice.partner_id,
            invoice=invoice,
            kind=NotificationKind.RECEIPT,
            key=key,
            send_at=send_at,
        )
        planned.append((notification, prefs, params))
    Notification.objects.bulk_create([notification for notification, _, _ in planned])
    for notification, prefs, params in planned:
        if notification.send_at <= now:
            _dispatch(notification, now=now, prefs=prefs, params=params)


def _receipt(invoice: Invoice, payment, *, prefs: NotificationSettings, now: datetime.datetime):
    """When a payment's receipt goes, its exactly-once key and what it says."""
    scheduled = payment.attempt is not None and payment.attempt.trigger in SCHEDULED_TRIGGERS
    send_at = sending_time(partner=invoice.partner, prefs=prefs, now=now) if scheduled else now
    return send_at, f"payment:{payment.pk}", _payment_params(payment)


def charge_failed_plan(*, invoice: Invoice, attempt_id: int) -> None:
    """An automatic charge failed: the partner hears now, the customer too (with a link to pay another
    way), or in sending hours after the due-date job's midnight charges. Charges someone made by hand on
    the invoice page are answered on their screen instead."""
    attempt = PaymentAttempt.objects.get(pk=attempt_id)
    if attempt.trigger not in AUTOMATIC_TRIGGERS:
        return
    prefs = notification_settings(partner=invoice.partner)
    now = timezone.now()
    key = f"attempt:{attempt_id}"
    _plan_one(invoice, NotificationKind.PARTNER_CHARGE_FAILED, send_at=now, now=now, prefs=prefs, key=key)
    if prefs.notify_customer_failed_charge:
        scheduled = attempt.trigger in SCHEDULED_TRIGGERS
        at = sending_time(partner=invoice.partner, prefs=prefs, now=now) if scheduled else now
        _plan_one(invoice, NotificationKind.CHARGE_FAILED, send_at=at, now=now, prefs=prefs, key=key)


def dispute_alert_plan(*, invoice: Invoice, dispute: Dispute) -> None:
    """A customer disputed a payment: the partner hears now, once per dispute (it has a deadline)."""
    prefs = notification_settings(partner=invoice.partner)
    now = timezone.now()
    key = f"dispute:{dispute.pk}"
    _plan_one(invoice, NotificationKind.PARTNER_DISPUTE, send_at=now, now=now, prefs=prefs, key=key)


# The beat job ------------------------------------------------------------------------------------


def notifications_send_due(*, now: datetime.datetime | None = None, batch: int = 200) -> int:
    """Send or skip every notification whose time has come. Safe beside itself: each run claims
    its own rows. Returns how many rows it decided."""
    now = now or timezone.now()
    decided = 0
    prefs_by_partner: dict[int, NotificationSettings] = {}
    while True:
        with transaction.atomic(), scopes_disabled():  # a beat job: every partner's due emails
            rows = list(
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=NotificationStatus.SCHEDULED, send_at__lte=now)
                .select_related("invoice__partner", "invoice__customer")
                .order_by("send_at", "id")[:batch]
            )
            for notification in rows:
                partner = notification.invoice.partner
                if partner.pk not in prefs_by_partner:
                    prefs_by_partner[partner.pk] = notification_settings(partner=partner)
                with scope(partner=partner):
                    _dispatch(notification, now=now, prefs=prefs_by_partner[partner.pk])
        if not rows:
            return decided
        decided += len(rows)


def _dispatch(
    notification: Notification,
    *,
    now: datetime.datetime,
    prefs: NotificationSettings,
    params: dict | None = None,
) -> None:
    """Send the notification (queue its email) or record why not. The caller holds its row."""
    invoice = notification.invoice
    reason = _skip_reason(notification, now=now, prefs=prefs)
    to, cc = [], []
    if reason is None:
        to, cc = _recipients(notification)
        if not to:
            reason = "The address bounced: automatic emails to it are paused"
    if reason is not None:
        notification.status, notification.skip_reason = NotificationStatus.SKIPPED, reason[:300]
        notification.save(update_fields=["status", "skip_reason", "updated_at"])
        return
    notification.status = NotificationStatus.QUEUED
    notification.save(update_fields=["status", "updated_at"])
    email_queue(
        partner=invoice.partner,
        kind=notification.kind,
        invoice=invoice,
        to=to,
        cc=cc,
        notification=notification,
        params=_params(notification) if params is None else params,
    )


def _recipients(notification: Notification) -> tuple[list[str], list[str]]:
    if notification.kind in (NotificationKind.PARTNER_CHARGE_FAILED, NotificationKind.PARTNER_DISPUTE):
        to = alert_recipients(partner=notification.invoice.partner)
        return to[:1], to[1:]
    return customer_recipients(notification.invoice)


def _skip_reason(
    notification: Notification, *, now: datetime.datetime, prefs: NotificationSettings
) -> str | None:
    invoice, kind = notification.invoice, notification.kind
    if kind in (*REMINDER_KINDS, NotificationKind.INVOICE) and invoice.status != InvoiceStatus.OPEN:
        return f"The invoice is {invoice.get_status_display().lower()}"
    if kind == NotificationKind.CHARGE_FAILED and (
        invoice.status != InvoiceStatus.OPEN or not invoice.amount_due
    ):
        return f"The invoice is {invoice.get_status_display().lower()}"
    if kind not in REMINDER_KINDS:
        return None
    if (kind, notification.offset_days) not in reminder_slots(prefs):
        return "Turned off in Settings → Notifications"
    if not invoice.customer.email_reminders:
        return "The customer turned off automatic emails"
    late = now - notification.send_at
    if late > datetime.timedelta(days=prefs.catch_up_days):
        return (
            f"Not sent on time ({late.days} days late): older than the {prefs.catch_up_days}-day "
            "catch-up window"
        )
    later = Notification.objects.filter(
        invoice=invoice, kind__in=REMINDER_KINDS, send_at__gt=notification.send_at, send_at__lte=now
    ).exclude(status__in=[NotificationStatus.SKIPPED, NotificationStatus.FAILED])
    if later.exists():
        return "Not sent on time; a later reminder went instead"
    return None


def _params(notification: Notification) -> dict:
    """What a receipt or a failure notice says, read from the payment or attempt it is about."""
    what, _, pk = notification.key.partition(":")
    if what == "payment":
        return _payment_params(Payment.objects.select_related("attempt").get(pk=pk))
    if what == "dispute":
        dispute = Dispute.objects.get(pk=pk)
        return {
            "amount_withdrawn": money.format_money(
                dispute.amount_withdrawn or dispute.amount, dispute.currency
            ),
            "reason": dispute.reason,
            "respond_by": dispute.evidence_due_by.isoformat() if dispute.evidence_due_by else "",
        }
    if what == "attempt":
        attempt = PaymentAttempt.objects.get(pk=pk)
        return {"method_label": attempt.method_label, "reason": attempt.failure_message}
    return {}


def partner_replan(*, partner: Partner, chunk: int = 2000) -> int:
    """The partner changed their reminder settings: plan the open invoices' reminders again from now
    on (sent and skipped ones stay as they are), in one transaction, reading the invoices in chunks so
    a partner with many open invoices needs little memory. Returns how many invoices were planned."""
    prefs = notification_settings(partner=partner)
    now = timezone.now()
    longest = max([0, *prefs.days_after_due])
    invoices = Invoice.objects.filter(
        partner=partner,
        status=InvoiceStatus.OPEN,
        due_date__gte=partner.today() - datetime.timedelta(days=longest),
    ).only("pk", "partner_id", "due_date")
    planned = 0
    with transaction.atomic():
        Notification.objects.filter(
            partner=partner, kind__in=REMINDER_KINDS, status=NotificationStatus.SCHEDULED
        ).delete()
        batch = []
        for invoice in invoices.iterator(chunk_size=chunk):
            invoice.partner = partner  # the zone for every invoice, without a join
            batch.append(invoice)
            if len(batch) == chunk:
                _plan_reminders(batch, prefs=prefs, now=now)
                planned, batch = planned + len(batch), []
        _plan_reminders(batch, prefs=prefs, now=now)
    return planned + len(batch)


def _payment_params(payment) -> dict:
    label = payment.attempt.method_label if payment.attempt else payment.get_method_display()
    return {"amount": payment.amount, "method_label": label, "paid_on": payment.received_on.isoformat()}
