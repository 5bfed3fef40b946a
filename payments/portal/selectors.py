"""Reads for the customer's pay pages. The token is the credential, so these are the only reads here that
cross partners (with `scopes_disabled`); everything after runs inside the invoice's partner scope."""

import enum
import hmac
from dataclasses import dataclass

from django.http import Http404
from django.utils import timezone
from django_scopes import scopes_disabled

from customers.models import PaymentMethod
from invoicing.models import Invoice, InvoiceAction, InvoiceStatus
from partners.tokens import token_hash
from payments.models import AttemptTrigger, PayLink, PaymentAttempt
from payments.portal.account.selectors import open_invoices_by_currency
from payments.services import method_to_charge

MAX_TOKEN_LENGTH = 200


class LinkState(enum.StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ResolvedLink:
    state: LinkState
    link: PayLink | None = None

    @property
    def ok(self) -> bool:
        return self.state == LinkState.VALID


def pay_link_resolve(*, token: str) -> ResolvedLink:
    """What a token points at. Every token is hashed and looked up the same way, so the time taken says
    nothing about how close a guess was; callers show one "link not valid" page for every state but VALID."""
    digest = token_hash(token[:MAX_TOKEN_LENGTH])
    with scopes_disabled():  # the token names the partner: no scope yet
        link = (
            PayLink.objects.select_related("invoice", "invoice__partner", "invoice__customer")
            .filter(token_hash=digest)
            .first()
        )
    if link is None or not hmac.compare_digest(link.token_hash, digest):
        return ResolvedLink(LinkState.UNKNOWN)
    if link.invoice.is_draft:
        return ResolvedLink(LinkState.UNKNOWN)
    if link.revoked_at is not None:
        return ResolvedLink(LinkState.REVOKED, link)
    if link.expires_at <= timezone.now():
        return ResolvedLink(LinkState.EXPIRED, link)
    return ResolvedLink(LinkState.VALID, link)


def invoices_for_lookup(*, number: str, email: str, limit: int = 5) -> list[Invoice]:
    """Issued invoices numbered `number` whose customer's address on file is `email`, at any partner
    (numbers repeat across partners; the email is what makes a match theirs)."""
    with scopes_disabled():  # the lookup page: no partner is known yet
        return list(
            Invoice.objects.filter(number__iexact=number.strip(), customer__email__iexact=email.strip())
            .exclude(status=InvoiceStatus.DRAFT)
            .select_related("partner", "customer")[:limit]
        )


def invoice_is_payable(invoice: Invoice) -> bool:
    return not invoice.refusal(InvoiceAction.PAY)


def method_offered(invoice: Invoice) -> PaymentMethod | None:
    """The saved method the pay page offers: the invoice's chosen one, else the default; not if expired."""
    method = method_to_charge(invoice)
    if method is None or method.is_expired_on(invoice.partner.today()):
        return None
    return method


def customer_attempt(*, invoice: Invoice, key: str) -> PaymentAttempt | None:
    """The attempt made from this invoice's pay page with the confirm form carrying `key`."""
    return PaymentAttempt.objects.filter(
        partner_id=invoice.partner_id, invoice=invoice, idempotency_key=key, trigger=AttemptTrigger.CUSTOMER
    ).first()


def other_open_invoices(*, invoice: Invoice) -> list[Invoice]:
    """The same customer's other invoices with something to pay, at the same partner (the portal's rule,
    oldest due first within each currency): what a pay link shows besides its own invoice."""
    groups = open_invoices_by_currency(customer=invoice.customer)
    return [other for group in groups.values() for other in group if other.pk != invoice.pk]


def other_open_invoice_get(*, invoice: Invoice, invoice_id: int) -> Invoice:
    other = next((o for o in other_open_invoices(invoice=invoice) if o.pk == invoice_id), None)
    if other is None:
        raise Http404
    return other
