from django.apps import AppConfig

from invoicing import signals


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        from payments import receivers  # imports models: only once the app registry is ready

        signals.invoice_issued.connect(receivers.start_collection, dispatch_uid="payments.collection")
        signals.invoice_settling.connect(receivers.refuse_while_charging, dispatch_uid="payments.settling")
        signals.invoice_voided.connect(receivers.give_back_credit, dispatch_uid="payments.credit")
        signals.amount_checking.connect(receivers.refuse_uncollectible_amount, dispatch_uid="payments.amount")
