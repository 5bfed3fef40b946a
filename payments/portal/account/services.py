"""Writes for the customer account portal: magic sign-in links, paying several invoices at once.

A customer signs in to their account *at one partner*: the same email at two partners is two customers,
two accounts, two sessions. Sign-in is by a link emailed to the address on file: 256 bits from
`secrets`, only its SHA-256 stored, working once and for `PORTAL_SIGN_IN_LINK_MINUTES`. Asking for one
always gets the same answer, and the look-up and sending happen in a worker, so neither the page nor its
timing says whether the address has an account.
"""

import datetime
import hashlib
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, PaymentMethod
from invoicing.models import Invoice
from partners.models import Partner
from partners.tokens import token_hash, token_new
from payments import signals
from payments.models import AttemptTrigger, PaymentAttempt, PortalSignInLink
from payments.portal.account import selectors
from payments.services import charge_invoice

logger = logging.getLogger(__name__)


def portal_sign_in_request(*, partner: Partner, email: str) -> None:
    """Someone typed `email` on the partner's sign-in page; a worker decides whether to email a link."""
    signals.portal_sign_in_requested.send(sender=Partner, partner=partner, email=email.strip().lower())


def portal_sign_in_link_create(*, partner: Partner, email: str) -> tuple[Customer, str] | None:
    """A new sign-in link for the (current) customer of `partner` at `email`: the customer and the
    link's URL, which is never stored. None if there is no such customer."""
    customer = selectors.portal_customer_by_email(partner=partner, email=email)
    if customer is None:
        return None
    token = token_new()
    PortalSignInLink.objects.create(
        partner=partner,
        customer=customer,
        token_hash=token_hash(token),
        expires_at=timezone.now() + datetime.timedelta(minutes=settings.PORTAL_SIGN_IN_LINK_MINUTES),
    )
    path = reverse("portal_sign_in_link", kwargs={"partner_slug": partner.slug, "token": token})
    return customer, settings.SITE_URL + path


def portal_sign_in_redeem(*, partner: Partner, token: str) -> Customer | None:
    """The customer the link signs in, or None if it is unknown, used, expired or another partner's. The
    conditional update decides, so a link clicked twice at once still signs in once."""
    now = timezone.now()
    link = PortalSignInLink.objects.filter(
        partner=partner, token_hash=token_hash(token[:200]), used_at=None, expires_at__gt=now
    ).first()
    if link is None:
        return None
    claimed = PortalSignInLink.objects.filter(pk=link.pk, used_at=None).update(used_at=now)
    if not claimed:
        return None
    return selectors.portal_customer_get(partner=partner, customer_id=link.customer_id)


def invoice_key(form_key: str, invoice_id: int) -> str:
    """Each invoice's own idempotency key, derived from the key the form was drawn with: submitting the
    same form again finds every invoice's first attempt instead of charging it twice."""
    return hashlib.sha256(f"{form_key}:{invoice_id}".encode()).hexdigest()[:32]


def portal_pay_invoices(
    *, customer: Customer, invoices: list[Invoice], method: PaymentMethod, form_key: str
) -> list[tuple[Invoice, PaymentAttempt | None, str]]:
    """Pay several of the customer's open invoices with one saved method: one charge per invoice, each
    through the exactly-once path with its own key. One refused invoice doesn't stop the others.
    Returns (invoice, attempt or None, message) for each."""
    if method.is_expired_on(customer.partner.today()):
        raise ValidationError(f"{method} has expired. Choose another payment method.")
    outcomes = []
    for invoice in invoices:
        try:  # a repeat of the form gets each invoice's first attempt back (charge_invoice)
            attempt = charge_invoice(
                invoice=invoice,
                method=method,
                trigger=AttemptTrigger.CUSTOMER,
                actor=None,
                idempotency_key=invoice_key(form_key, invoice.pk),
            )
        except ValidationError as error:
            outcomes.append((invoice, None, " ".join(error.messages)))
        else:
            outcomes.append((invoice, attempt, ""))
    return outcomes
