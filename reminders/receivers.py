"""The emails that follow what invoicing and payments announce (invoicing.signals, payments.signals),
connected in RemindersConfig.ready. Recording that an email was sent announces nothing, so planning
never feeds back into itself."""

from core.tasks import enqueue
from reminders import link_emails, tasks
from reminders.schedule import (
    charge_failed_plan,
    dispute_alert_plan,
    invoice_plan,
    payment_receipt_plan,
    payment_receipts_plan,
)


def plan_invoice_emails(sender, *, invoice, **kwargs) -> None:
    invoice_plan(invoice=invoice)


def plan_receipts(sender, *, receipts, **kwargs) -> None:
    if len(receipts) == 1:
        invoice, payment_id = receipts[0]
        payment_receipt_plan(invoice=invoice, payment_id=payment_id)
    else:
        payment_receipts_plan(receipts)


def plan_charge_failed(sender, *, invoice, attempt_id, **kwargs) -> None:
    charge_failed_plan(invoice=invoice, attempt_id=attempt_id)


def plan_dispute_alert(sender, *, dispute, invoice, **kwargs) -> None:
    dispute_alert_plan(invoice=invoice, dispute=dispute)


def email_invitation(sender, *, invitation, token, **kwargs) -> None:
    link_emails.invitation_email(invitation=invitation, token=token)


def email_pay_link(sender, *, invoice, **kwargs) -> None:
    enqueue(tasks.email_pay_link, partner_id=invoice.partner_id, invoice_id=invoice.pk)


def email_portal_sign_in(sender, *, partner, email, **kwargs) -> None:
    enqueue(tasks.email_portal_sign_in, partner_id=partner.pk, email=email)
