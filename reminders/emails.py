"""Drawing each kind of email: its subject, its text and HTML, its attachment. Pure: nothing is written
here except the pay link an invoice email carries (`link_for`), so previews draw the very same emails."""

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.urls import reverse

from core import money
from core.formats import format_day
from invoicing.models import Invoice
from invoicing.selectors import invoice_taxes
from partners.models import Partner
from payments.models import LIVE_ATTEMPT_STATUSES, PaymentAttempt
from reminders.models import NotificationKind, NotificationSettings

INVOICE_KINDS = (
    NotificationKind.INVOICE,
    NotificationKind.BEFORE_DUE,
    NotificationKind.ON_DUE,
    NotificationKind.OVERDUE,
)
# Emails to the customer that carry a pay link of their own.
LINKED_KINDS = (*INVOICE_KINDS, NotificationKind.CHARGE_FAILED)


@dataclass
class Drawn:
    subject: str
    template: str
    context: dict
    attachments: list[tuple[str, bytes, str]] = field(default_factory=list)


def _days(n: int) -> str:
    return f"{n} day{'s' if n != 1 else ''}"


def overdue_level(*, offset_days: int, days_after_due: list[int]) -> int:
    """0 friendly, 1 second reminder, 2 final reminder: the later in the partner's list, the firmer."""
    later = sorted(set(days_after_due))
    position = later.index(offset_days) if offset_days in later else len(later) - 1
    if len(later) >= 3 and position == len(later) - 1:
        return 2
    return min(position, 2)


def invoice_subject(*, invoice: Invoice, kind: str, offset_days: int, level: int) -> str:
    number, partner = invoice.number, invoice.partner.name
    amount = money.format_money(invoice.amount_due, invoice.currency)
    if kind == NotificationKind.BEFORE_DUE:
        when = "tomorrow" if offset_days == -1 else f"in {_days(-offset_days)}"
        return f"Reminder: invoice {number} from {partner} ({amount}) is due {when}"
    if kind == NotificationKind.ON_DUE:
        return f"Invoice {number} from {partner} ({amount}) is due today"
    if kind == NotificationKind.OVERDUE:
        prefix = ("", "Second reminder: ", "Final reminder: ")[level]
        return f"{prefix}invoice {number} from {partner} is {_days(offset_days)} overdue ({amount})"
    if not invoice.amount_due:  # paid (or credited) by the time it is drawn: say so, not "$0.00 due"
        return f"Invoice {number} from {partner}: paid in full"
    return f"Invoice {number} from {partner}: {amount} due {format_day(invoice.due_date)}"


def brand(partner: Partner) -> dict:
    logo = (
        settings.SITE_URL + reverse("partner_logo", args=[partner.logo_sha256]) if partner.logo_sha256 else ""
    )
    return {"partner": partner, "brand_colour": partner.brand_colour, "logo_url": logo}


def draw_invoice(
    *,
    invoice: Invoice,
    kind: str,
    offset_days: int,
    link: str,
    prefs: NotificationSettings,
    pdf: Callable[[], bytes] | None,
) -> Drawn:
    """The invoice itself, or a reminder about it (before, on or after the due date)."""
    level = overdue_level(offset_days=offset_days, days_after_due=prefs.days_after_due)
    context = {
        **brand(invoice.partner),
        "invoice": invoice,
        "kind": kind,
        "days": abs(offset_days),
        "level": level,
        "amount_due": money.format_money(invoice.amount_due, invoice.currency),
        "total": money.format_money(invoice.total, invoice.currency),
        "taxes": invoice_taxes(invoice=invoice),
        "link": link,
        "auto_charge_on": _auto_charge_day(invoice),
        "charging_now": _charge_in_flight(invoice),
    }
    drawn = Drawn(
        subject=invoice_subject(invoice=invoice, kind=kind, offset_days=offset_days, level=level),
        template="emails/invoice",
        context=context,
    )
    if pdf is not None and prefs.attach_pdf:
        drawn.attachments.append((f"{invoice.number}.pdf", pdf(), "application/pdf"))
        context["pdf_attached"] = True
    return drawn


def _charge_in_flight(invoice: Invoice) -> bool:
    """A charge of a saved method is under way as the email is drawn: it says so, so the customer
    doesn't pay by hand what their card is paying. Drawn when it is sent, so it is true then."""
    if invoice.pk is None:  # the settings page's sample invoice
        return False
    return PaymentAttempt.objects.filter(invoice=invoice, status__in=LIVE_ATTEMPT_STATUSES).exists()


def _auto_charge_day(invoice: Invoice) -> datetime.date | None:
    """When the saved method will be charged automatically, so a reminder says so instead of asking."""
    if invoice.next_charge_at is None:
        return None
    return invoice.next_charge_at.astimezone(invoice.partner.zone).date()


def draw_receipt(*, invoice: Invoice, amount: int, method_label: str, paid_on: datetime.date) -> Drawn:
    partner = invoice.partner
    return Drawn(
        subject=f"Receipt for invoice {invoice.number} from {partner.name}",
        template="emails/receipt",
        context={
            **brand(partner),
            "invoice": invoice,
            "amount": money.format_money(amount, invoice.currency),
            "method_label": method_label,
            "amount_due": money.format_money(invoice.amount_due, invoice.currency),
            "paid_on": paid_on,
        },
    )


def draw_charge_failed(*, invoice: Invoice, method_label: str, reason: str, link: str) -> Drawn:
    """To the customer: the automatic charge failed; pay or use another method from their pay link."""
    return Drawn(
        subject=f"Your payment for invoice {invoice.number} from {invoice.partner.name} didn't go through",
        template="emails/charge_failed",
        context={
            **brand(invoice.partner),
            "invoice": invoice,
            "amount_due": money.format_money(invoice.amount_due, invoice.currency),
            "method_label": method_label,
            "reason": reason,
            "link": link,
            "retry_on": _auto_charge_day(invoice),
        },
    )


def draw_partner_charge_failed(*, invoice: Invoice, method_label: str, reason: str) -> Drawn:
    return Drawn(
        subject=f"Charge failed: invoice {invoice.number} ({invoice.customer.display_name}), "
        f"{money.format_money(invoice.amount_due, invoice.currency)}",
        template="emails/partner_charge_failed",
        context={
            **brand(invoice.partner),
            "invoice": invoice,
            "amount_due": money.format_money(invoice.amount_due, invoice.currency),
            "method_label": method_label,
            "reason": reason,
            "retry_on": _auto_charge_day(invoice),
            "invoice_url": _invoice_url(invoice),
        },
    )


def draw_partner_dispute(*, invoice: Invoice, amount_withdrawn: str, reason: str, respond_by: str) -> Drawn:
    """To the partner: a customer disputed a payment; respond in the processor's dashboard in time."""
    return Drawn(
        subject=f"Payment disputed: invoice {invoice.number} ({invoice.customer.display_name}), "
        f"{amount_withdrawn} withdrawn",
        template="emails/partner_dispute",
        context={
            **brand(invoice.partner),
            "invoice": invoice,
            "amount_withdrawn": amount_withdrawn,
            "reason": reason,
            "respond_by": datetime.datetime.fromisoformat(respond_by) if respond_by else None,
            "invoice_url": _invoice_url(invoice),
        },
    )


def draw_partner_bounce(*, partner: Partner, address: str, reason: str, invoice: Invoice | None) -> Drawn:
    return Drawn(
        subject=f"Email to {address} bounced: automatic emails to it are paused",
        template="emails/partner_bounce",
        context={
            **brand(partner),
            "address": address,
            "reason": reason,
            "invoice": invoice,
            "invoice_url": _invoice_url(invoice),
            "settings_url": settings.SITE_URL + reverse("settings_notifications"),
        },
    )


def _invoice_url(invoice: Invoice | None) -> str:
    """The invoice's page for the partner; none for the preview's sample invoice, which is not saved."""
    if invoice is None or invoice.pk is None:
        return ""
    return settings.SITE_URL + reverse("invoice_detail", args=[invoice.pk])
