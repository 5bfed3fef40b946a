"""Pay links, and what the customer does on the hosted invoice page.

A pay link's token (256 bits from `secrets`) is stored only as its SHA-256, so its URL exists only at the
moment it is issued: whoever issues one (finalizing, the partner's "Reissue pay link", an email) gets the
URL back and must use it right away. Each email may carry its own link; they all keep working until they
expire (partner.pay_link_valid_days after the due date) or the partner reissues, which revokes them all.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from core import idempotency
from customers.models import PaymentMethod
from invoicing.models import EventKind, Invoice, InvoiceAction
from invoicing.services import invoice_event, invoice_lock
from partners.models import User
from partners.tokens import token_hash, token_new
from payments import signals
from payments.gateways.base import BankAccountDetails, CardDetails
from payments.models import AttemptTrigger, PayLink, PaymentAttempt
from payments.portal.selectors import LinkState, ResolvedLink, invoices_for_lookup, other_open_invoice_get
from payments.services import charge_invoice, customer_set_autopay, payment_method_new, payment_method_remove

VIEW_EVENT_EVERY = datetime.timedelta(hours=1)


def pay_link_expiry(*, invoice: Invoice, now: datetime.datetime) -> datetime.datetime:
    """The end of the partner's day `pay_link_valid_days` after the due date; a link issued later than
    that (a long-overdue invoice) still gets as many days from now."""
    partner = invoice.partner
    days = partner.pay_link_valid_days
    last_day = invoice.due_date + datetime.timedelta(days=days + 1)
    end = datetime.datetime.combine(last_day, datetime.time(0), tzinfo=partner.zone)
    return max(end, now + datetime.timedelta(days=days))


def pay_link_url(token: str) -> str:
    return settings.SITE_URL + reverse("pay_page", kwargs={"token": token})


def pay_link_issue(*, invoice: Invoice) -> str:
    """A new link for an issued invoice; returns its URL, the only time it can be known. This is the
    hook for emails (issue 7): call it while drawing each email and put the URL in that email."""
    if refusal := invoice.refusal(InvoiceAction.PAY_LINK):
        raise ValidationError(refusal)
    return pay_link_url(
        _pay_link_create(invoice=invoice, expires_at=pay_link_expiry(invoice=invoice, now=timezone.now()))
    )


def _pay_link_create(*, invoice: Invoice, expires_at: datetime.datetime) -> str:
    token = token_new()
    PayLink.objects.create(
        partner_id=invoice.partner_id, invoice=invoice, token_hash=token_hash(token), expires_at=expires_at
    )
    return token


def pay_link_for_other_invoice(*, link: PayLink, invoice_id: int) -> str:
    """A pay link opens its customer's other open invoices at that partner (it can already pay with their
    saved method): a link of their own, whose token this returns. It ends no later than the link it came
    from, so a forwarded link gives no more time than it had. Anything but one of those invoices is a 404."""
    invoice = other_open_invoice_get(invoice=link.invoice, invoice_id=invoice_id)
    expires_at = min(pay_link_expiry(invoice=invoice, now=timezone.now()), link.expires_at)
    return _pay_link_create(invoice=invoice, expires_at=expires_at)


@transaction.atomic
def pay_link_reissue(*, invoice: Invoice, actor: User | None) -> str:
    """Revoke every live link of the invoice (links already emailed die) and issue a new one."""
    now = timezone.now()
    revoked = PayLink.objects.filter(
        partner_id=invoice.partner_id, invoice=invoice, revoked_at=None, expires_at__gt=now
    ).update(revoked_at=now)
    url = pay_link_issue(invoice=invoice)
    earlier = f"; {revoked} earlier link{'s' if revoked != 1 else ''} no longer work" if revoked else ""
    invoice_event(invoice, EventKind.PAY_LINK_REISSUED, actor=actor, message=f"New pay link issued{earlier}")
    return url


def pay_link_record_view(*, link: PayLink) -> bool:
    """'Viewed by customer' on the timeline, at most once an hour per link, so reloads don't flood it.
    The conditional update decides, so two tabs opening at once still write one line; the link as read
    already tells whether there is anything to write, so most opens write nothing (the page is read-only
    and outside a transaction for speed, hence the atomic block here)."""
    now = timezone.now()
    if link.last_viewed_at is not None and link.last_viewed_at > now - VIEW_EVENT_EVERY:
        return False
    with transaction.atomic():
        claimed = (
            PayLink.objects.filter(pk=link.pk)
            .filter(Q(last_viewed_at=None) | Q(last_viewed_at__lte=now - VIEW_EVENT_EVERY))
            .update(last_viewed_at=now)
        )
        if claimed:
            invoice_event(
                link.invoice,
                EventKind.VIEWED,
                actor=None,
                actor_label="Customer",
                message="Opened the pay page",
            )
    return bool(claimed)


def _same_address(a: str, b: str) -> bool:
    return bool(a) and a.strip().lower() == b.strip().lower()


def pay_link_request_fresh(*, resolved: ResolvedLink, email: str) -> None:
    """Someone with a dead link asks for a fresh one. Only an expired link (not an unknown or revoked
    one) whose customer's address on file is `email` gets one, by email to that address; the caller
    answers the same whatever happens here, and the email itself is drawn and sent by a worker."""
    if resolved.state != LinkState.EXPIRED:
        return
    invoice = resolved.link.invoice
    if _same_address(email, invoice.customer.email):
        signals.pay_link_requested.send(sender=Invoice, invoice=invoice)


def pay_link_request_by_number(*, number: str, email: str) -> None:
    """The address printed on PDFs: an invoice number and the customer's email get a link emailed."""
    for invoice in invoices_for_lookup(number=number, email=email):
        signals.pay_link_requested.send(sender=Invoice, invoice=invoice)


def pay_with_saved_method(*, invoice: Invoice, method_id: int, idempotency_key: str) -> PaymentAttempt:
    """The customer's "Confirm payment": charge the saved method they were shown, once per key."""
    method = PaymentMethod.objects.filter(
        partner_id=invoice.partner_id, customer_id=invoice.customer_id, pk=method_id, removed_at=None
    ).first()
    if method is None:
        raise ValidationError("That payment method is no longer available. Go back to the invoice.")
    if method.is_expired_on(invoice.partner.today()):
        raise ValidationError(f"{method} has expired. Go back to the invoice.")
    return charge_invoice(
        invoice=invoice,
        method=method,
        trigger=AttemptTrigger.CUSTOMER,
        actor=None,
        idempotency_key=idempotency_key,
    )


@transaction.atomic
def pay_with_new_method(
    *,
    invoice: Invoice,
    details: CardDetails | BankAccountDetails | None = None,
    reference: str = "",
    save: bool,
    autopay: bool,
    idempotency_key: str,
) -> PaymentAttempt:
    """The customer's one-form payment with a card entered on the pay page (in the processor's own
    fields: `reference`) or a sandbox bank account (`details`).

    The method is saved through the gateway like any other (only its token and last 4 are kept) and
    charged through the same exactly-once path. Not kept ("Save it for next time" unticked), it is
    removed in the same transaction that commits the attempt, so no one ever sees it usable: the attempt
    carries its own copy of the gateway token for the worker and the janitor, and a customer payment is
    never retried. Kept with Auto-Pay, it becomes the default that Auto-Pay charges.
    """
    invoice = invoice_lock(invoice)  # lock order: the invoice before the customer

    def pay() -> PaymentAttempt:
        method = payment_method_new(
            customer=invoice.customer, details=details, reference=reference, make_default=save and autopay
        )
        attempt = charge_invoice(
            invoice=invoice,
            method=method,
            trigger=AttemptTrigger.CUSTOMER,
            actor=None,
            idempotency_key=idempotency_key,
        )
        if not save:
            payment_method_remove(method=method)
        elif autopay:
            customer_set_autopay(customer=invoice.customer, enabled=True)
        return attempt

    # The same form submitted twice gets its first attempt: nothing is saved or charged again.
    return idempotency.once(PaymentAttempt, partner_id=invoice.partner_id, key=idempotency_key, create=pay)
