"""Emails that carry a secret link, sent at once rather than planned: a team invitation, a fresh pay
link, a portal sign-in link. Each follows a signal from the app that made the link (reminders.receivers)
or a task a worker runs."""

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from core import money
from invoicing.models import Invoice
from partners.models import Invitation, Partner
from payments.portal.account.services import portal_sign_in_link_create
from payments.portal.services import pay_link_issue
from reminders.services import email_send


def invitation_email(*, invitation: Invitation, token: str) -> None:
    link = settings.SITE_URL + reverse("invitation_accept", kwargs={"token": token})
    inviter = invitation.invited_by.get_full_name() if invitation.invited_by else invitation.partner.name
    email_send(
        to=[invitation.email],
        subject=f"{inviter} invited you to {invitation.partner.name}",
        template="emails/invitation",
        context={"invitation": invitation, "link": link, "inviter": inviter},
    )


@transaction.atomic
def pay_link_email(*, invoice: Invoice) -> None:
    """Email a freshly issued link to the customer's address on file."""
    partner = invoice.partner
    url = pay_link_issue(invoice=invoice)
    email_send(
        to=[invoice.customer.email],
        subject=f"Your link to invoice {invoice.number} from {partner.name}",
        template="emails/pay_link",
        context={
            "invoice": invoice,
            "partner": partner,
            "link": url,
            "amount_due": money.format_money(invoice.amount_due, invoice.currency),
            "valid_days": partner.pay_link_valid_days,
        },
        reply_to=[partner.email] if partner.email else None,
    )


@transaction.atomic
def portal_sign_in_email(*, partner: Partner, email: str) -> bool:
    """Email a sign-in link if `email` is a (current) customer of `partner`. Says nothing to the asker."""
    made = portal_sign_in_link_create(partner=partner, email=email)
    if made is None:
        return False
    customer, link = made
    email_send(
        to=[customer.email],
        subject=f"Sign in to your account at {partner.name}",
        template="emails/portal_sign_in",
        context={
            "partner": partner,
            "customer": customer,
            "link": link,
            "minutes": settings.PORTAL_SIGN_IN_LINK_MINUTES,
        },
        reply_to=[partner.email] if partner.email else None,
    )
    return True
