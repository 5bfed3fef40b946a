"""Reads about emails and reminders, scoped to a partner."""

import datetime
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet
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


def invoice_notifications(*, invoice: Invoice) -> QuerySet[Notification]:
    return Notification.objects.filter(invoice=invoice).order_by("send_at", "id")


@dataclass(frozen=True)
class Upcoming:
    at: datetime.datetime
    invoice: Invoice
    what: str


def upcoming(
    *, partner: Partner, invoice: Invoice | None = None, days: int = UPCOMING_DAYS
) -> list[Upcoming]:
    """Every email and charge planned for the next `days` days, soonest first: emails still scheduled
    for open invoices whose customer gets them, receipts waiting for the morning (the invoice is paid
    by then), and the due-date charges and retries."""
    now = timezone.now()
    until = now + datetime.timedelta(days=days)
    notifications = (
        Notification.objects.filter(partner=partner, status=NotificationStatus.SCHEDULED, send_at__lte=until)
        .filter(Q(invoice__status=InvoiceStatus.OPEN) | Q(kind=NotificationKind.RECEIPT))
        .exclude(kind__in=REMINDER_KINDS, invoice__customer__email_reminders=False)
    )
    charges = Invoice.objects.filter(
        partner=partner, status=InvoiceStatus.OPEN, next_charge_at__isnull=False, next_charge_at__lte=until
    ).annotate(
        retrying=Exists(PaymentAttempt.objects.filter(invoice=OuterRef("pk"), status=AttemptStatus.FAILED))
    )
    if invoice is None:
        notifications = notifications.select_related("invoice__customer")
        charges = charges.select_related("customer")
    else:  # the invoice's own page, which holds the invoice and its customer already
        notifications, charges = notifications.filter(invoice=invoice), charges.filter(pk=invoice.pk)
    items = [
        Upcoming(at=n.send_at, invoice=invoice or n.invoice, what=n.label)
        for n in notifications.order_by("send_at", "id")[:UPCOMING_LIMIT]
    ]
    items += [
        Upcoming(
            at=c.next_charge_at,
            invoice=invoice or c,
            what="Charge retry" if c.retrying else "Charge on due date",
        )
        for c in charges.order_by("next_charge_at", "id")[:UPCOMING_LIMIT]
    ]
    return sorted(items, key=lambda item: (item.at, item.invoice.pk))[:UPCOMING_LIMIT]
