from django.apps import AppConfig
from django.core import checks

from partners.signals import invitation_created
from payments.signals import (
    charge_failed,
    collection_started,
    pay_link_requested,
    payment_disputed,
    payments_received,
    portal_sign_in_requested,
)


class RemindersConfig(AppConfig):
    name = "reminders"
    verbose_name = "Emails and reminders"

    def ready(self) -> None:
        from anymail.signals import tracking

        from reminders import receivers  # imports models: only once the app registry is ready
        from reminders.checks import webhook_secret_check
        from reminders.tracking import tracking_received

        tracking.connect(tracking_received, dispatch_uid="reminders.tracking")
        checks.register(webhook_secret_check, checks.Tags.security, deploy=True)
        collection_started.connect(receivers.plan_invoice_emails, dispatch_uid="reminders.invoice")
        payments_received.connect(receivers.plan_receipts, dispatch_uid="reminders.receipts")
        charge_failed.connect(receivers.plan_charge_failed, dispatch_uid="reminders.charge_failed")
        payment_disputed.connect(receivers.plan_dispute_alert, dispatch_uid="reminders.dispute")
        invitation_created.connect(receivers.email_invitation, dispatch_uid="reminders.invitation")
        pay_link_requested.connect(receivers.email_pay_link, dispatch_uid="reminders.pay_link")
        portal_sign_in_requested.connect(receivers.email_portal_sign_in, dispatch_uid="reminders.sign_in")
