"""Reads about emails and reminders, scoped to a partner."""

import datetime
from dataclasses import dataclass

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from invoicing.models import Invoice, InvoiceStatus
from partners.models import Membership, Partner, Role
from payments.models import AttemptStatus, PaymentAttempt
from reminders.models import (
    REMINDER_KINDS,
    EmailStatus,
    Notification,
    NotificationKind,
    NotificationSettings,
    NotificationStatus,
    OutboundEmail,
    SuppressedAddress,
)

UPCOMING_DAYS = 14
UPCOMING_LIMIT = 500


def notification_settings(*, partner: Partner) -> NotificationSettings:
    """The partner's saved choices, or the defaults (unsaved) when they never changed them."""
    found = NotificationSettings.objects.filter(partner=partner).first()
    return found or NotificationSettings(partner=partner)


def addresses_suppressed(*, partner: Partner, addresses: list[str]) -> set[str]:
    """Which of `addresses` (lowercased) automatic emails are paused for; one query."""
    wanted = {address.strip().lower() for address in addresses}
    return set(
        SuppressedAddress.objects.filter(partner=partner, address__in=wanted).values_list(
            "address", flat=True
        )
    )


def suppressed_addresses(*, partner: Partner) -> QuerySet[SuppressedAddress]:
    return SuppressedAddress.objects.filter(partner=partner).select_related("email__invoice")


def suppressed_address_get(*, partner: Partner, suppressed_id: int) -> SuppressedAddress:
    found = SuppressedAddress.objects.filter(partner=partner, pk=suppressed_id).first()
    if found is None:
        raise Http404("No such address.")
    return found


def bounced_emails(*, partner: Partner) -> QuerySet[OutboundEmail]:
    """Messages that hard-bounced or were marked as spam (for the dashboard and the settings page)."""
    return OutboundEmail.objects.filter(
        partner=partner, status__in=[EmailStatus.BOUNCED, EmailStatus.COMPLAINED]
    )


def bounced_recipients_count(*, partner: Partner) -> int:
    """How many addresses automatic emails are paused for, because they bounced or complained."""
    return SuppressedAddress.objects.filter(partner=partner).count()


def alert_recipients(*, partner: Partner) -> list[str]:
    """Who hears about failed charges and bounces: the address in Settings → Notifications, else the
    business email, else the owners."""
    prefs = notification_settings(partner=partner)
    if prefs.alert_email:
        return [prefs.alert_email]
    if partner.email:
        return [partner.email]
    return list(
        Membership.objects.filter(partner=partner, role=Role.OWNER)
        .order_by("user__email")
        .values_list("user__email", flat=True)
    )


def invoice_emails(*, invoice: Invoice) -> QuerySet[OutboundEmail]:
    return (
        OutboundEmail.objects.filter(invoice=invoice)
        .select_related("notification")
        .prefetch_related("events")
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class Upcoming:
    at: datetime.datetime
    invoice: Invoice
    what: str


def _planned_notifications(until: datetime.datetime) -> Q:
    """What makes a notification upcoming: still scheduled, due to go by `until`, for an open invoice
    or a receipt waiting for the morning (its invoice is paid by then), and not a reminder to a
    customer who turned reminders off."""
    return (
        Q(status=NotificationStatus.SCHEDULED, send_at__lte=until)
        & (Q(invoice__status=InvoiceStatus.OPEN) | Q(kind=NotificationKind.RECEIPT))
        & ~Q(kind__in=REMINDER_KINDS, invoice__customer__email_reminders=False)
    )


def _planned_charges(until: datetime.datetime) -> Q:
    """What makes an invoice's charge upcoming: open, with its next charge (due date or retry) by `until`."""
    return Q(status=InvoiceStatus.OPEN, next_charge_at__isnull=False, next_charge_at__lte=until)


def _retrying() -> Exists:
    return Exists(PaymentAttempt.objects.filter(invoice=OuterRef("pk"), status=AttemptStatus.FAILED))


def _charge_label(retrying: bool) -> str:
    return "Charge retry" if retrying else "Charge on due date"


def _until(days: int) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(days=days)


def upcoming(*, partner: Partner, days: int = UPCOMING_DAYS) -> list[Upcoming]:
    """Every email and charge planned for the next `days` days, soonest first: emails still scheduled
    for open invoices whose customer gets them, receipts waiting for the morning, and the due-date
    charges and retries."""
    until = _until(days)
    notifications = (
        Notification.objects.filter(_planned_notifications(until), partner=partner)
        .select_related("invoice__customer")
        .order_by("send_at", "id")[:UPCOMING_LIMIT]
    )
    charges = (
        Invoice.objects.filter(_planned_charges(until), partner=partner)
        .annotate(retrying=_retrying())
        .select_related("customer")
        .order_by("next_charge_at", "id")[:UPCOMING_LIMIT]
    )
    items = [Upcoming(at=n.send_at, invoice=n.invoice, what=n.label) for n in notifications]
    items += [Upcoming(at=c.next_charge_at, invoice=c, what=_charge_label(c.retrying)) for c in charges]
    return sorted(items, key=lambda item: (item.at, item.invoice.pk))[:UPCOMING_LIMIT]


@dataclass(frozen=True)
class InvoicePlan:
    upcoming: list[Upcoming]  # as `upcoming` lists them, for this invoice only
    skipped: list[Notification]  # emails the invoice was owed that were not sent, and why


def invoice_plan(*, invoice: Invoice, days: int = UPCOMING_DAYS) -> InvoicePlan:
    """The invoice page's plan: its upcoming emails and charge, and its skipped emails. One query for
    the notifications (each marked upcoming or not by the same rule as `upcoming`) and one for the
    charge, neither reading the invoice or its customer again."""
    until = _until(days)
    notifications = (
        Notification.objects.filter(invoice=invoice)
        .filter(Q(status=NotificationStatus.SKIPPED) | _planned_notifications(until))
        .annotate(planned=ExpressionWrapper(_planned_notifications(until), output_field=BooleanField()))
        .order_by("send_at", "id")
    )
    items, skipped = [], []
    for notification in notifications:
        if notification.planned:
            items.append(Upcoming(at=notification.send_at, invoice=invoice, what=notification.label))
        else:
            skipped.append(notification)
    # No next charge, or none this soon, is known from the invoice in hand; else the rule decides.
    soon = invoice.next_charge_at is not None and invoice.next_charge_at <= until
    charge = soon and (
        Invoice.objects.filter(_planned_charges(until), partner_id=invoice.partner_id, pk=invoice.pk)
        .annotate(retrying=_retrying())
        .values_list("next_charge_at", "retrying")
        .first()
    )
    if charge:
        items.append(Upcoming(at=charge[0], invoice=invoice, what=_charge_label(charge[1])))
    items.sort(key=lambda item: item.at)
    return InvoicePlan(upcoming=items[:UPCOMING_LIMIT], skipped=skipped)
