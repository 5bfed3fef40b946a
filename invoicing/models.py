"""Invoices and everything that hangs off them. State changes happen only in invoicing.services."""

from django.conf import settings
from django.contrib.postgres.indexes import OpClass
from django.db import models
from django.db.models.functions import Upper
from django_scopes import ScopedManager

from core import money
from customers.models import Customer
from partners.models import Partner


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    VOID = "void", "Void"
    UNCOLLECTIBLE = "uncollectible", "Uncollectible"


class PaymentOption(models.TextChoices):
    """The seed's five payment timing options, named exactly as partners know them."""

    CHARGE_LATER = "charge_later", "Charge later"
    CHARGE_NOW = "charge_now", "Charge now"
    CHARGE_ON_DUE_DATE = "charge_on_due_date", "Charge on due date"
    EMAIL_PAYMENT_LINK = "email_payment_link", "Email payment link"
    CHARGE_METHOD_ON_FILE = "charge_method_on_file", "Charge method on file"


# Issued and not settled: these take payments and credit notes, and count as owed (uncollectible too:
# the debt stands even if the partner no longer chases it).
ISSUED_STATUSES = (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE)
# What a customer can pay, as a query: Invoice.refusal(InvoiceAction.PAY) says the same of one invoice.
PAYABLE = models.Q(status__in=ISSUED_STATUSES, amount_due__gt=0)


class InvoiceAction(models.TextChoices):
    """What a person (or a job) may ask of an invoice; Invoice.refusal says whether it may, now."""

    EDIT = "edit", "Edit"  # the customer, lines, dates and texts of a draft
    FINALIZE = "finalize", "Finalize"
    PAY_LINK = "pay_link", "Issue a pay link"
    SEND = "send", "Send"
    TAKE_PAYMENT = "take_payment", "Record a payment"  # offline money, gateway money, customer credit
    CHARGE = "charge", "Charge a saved payment method"
    PAY = "pay", "Pay online"  # the customer, on the pay page or in the portal
    CREDIT_NOTE = "credit_note", "Issue a credit note"
    MARK_UNCOLLECTIBLE = "mark_uncollectible", "Mark uncollectible"
    VOID = "void", "Void"
    DUPLICATE = "duplicate", "Duplicate"


OPTIONS_NEEDING_A_METHOD = {
    PaymentOption.CHARGE_NOW,
    PaymentOption.CHARGE_ON_DUE_DATE,
    PaymentOption.CHARGE_METHOD_ON_FILE,
}


# "Needs attention", the one definition (the list's tab, the dashboard's figure, the customer page): an
# open invoice whose last charge of a saved method failed (a retry may be planned) or whose automatic
# charging stopped (hard decline, retries used up, no method). Invoice.needs_attention says it of one.
NEEDS_ATTENTION = models.Q(status="open") & (
    models.Q(collection_failed_at__isnull=False) | models.Q(charge_failed_at__isnull=False)
)


class Invoice(models.Model):
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="invoices")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    status = models.CharField(max_length=20, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT)
    number = models.CharField(max_length=40, blank=True, help_text="Assigned when the invoice is finalized.")
    currency = models.CharField(max_length=3)
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField()
    memo = models.TextField(blank=True, help_text="Visible to the customer.")
    footer = models.TextField(blank=True)
    payment_option = models.CharField(
        max_length=30, choices=PaymentOption.choices, default=PaymentOption.CHARGE_LATER
    )
    payment_method = models.ForeignKey(
        "customers.PaymentMethod", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # Amounts in the currency's minor unit, kept in step by invoicing.services (the only writer).
    subtotal = models.BigIntegerField(default=0)
    tax_total = models.BigIntegerField(default=0)
    total = models.BigIntegerField(default=0)
    amount_paid = models.BigIntegerField(default=0)
    amount_credited = models.BigIntegerField(default=0)
    amount_due = models.BigIntegerField(default=0)
    amount_refunded = models.BigIntegerField(default=0, db_default=0)
    credit_applied = models.BigIntegerField(
        default=0, db_default=0, help_text="Paid from the customer's credit balance."
    )

    # Automatic collection: when the due-date job should next charge, and whether it gave up.
    next_charge_at = models.DateTimeField(null=True, blank=True)
    collection_failed_at = models.DateTimeField(
        null=True, blank=True, help_text="Automatic charging stopped (hard decline or retries used up)."
    )
    charge_failed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The latest charge of a saved method failed (cleared when one succeeds).",
    )

    # Copied at finalization so a later change to the partner or customer never rewrites an issued invoice.
    seller = models.JSONField(default=dict, blank=True)
    buyer = models.JSONField(default=dict, blank=True)

    version = models.PositiveIntegerField(default=1, help_text="Bumped on every change; the PDF cache key.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finalized_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    uncollectible_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "number"], condition=~models.Q(number=""), name="invoice_unique_number"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    amount_paid__gte=0,
                    amount_credited__gte=0,
                    amount_due__gte=0,
                    total__gte=0,
                    amount_refunded__gte=0,
                    credit_applied__gte=0,
                ),
                name="invoice_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft") | ~models.Q(number=""), name="invoice_issued_has_number"
            ),
        ]
        indexes = [
            models.Index(fields=["partner", "-created_at", "-id"], name="invoice_list_created"),
            models.Index(fields=["partner", "status", "due_date", "id"], name="invoice_list_status_due"),
            models.Index(fields=["partner", "due_date", "id"], name="invoice_list_due"),
            models.Index(fields=["partner", "total", "id"], name="invoice_list_total"),
            models.Index(fields=["partner", "customer", "-created_at"], name="invoice_customer"),
            # "Needs attention": open invoices whose last charge failed or whose charging stopped; few.
            models.Index(
                fields=["partner", "due_date", "id"],
                condition=models.Q(status="open")
                & (models.Q(collection_failed_at__isnull=False) | models.Q(charge_failed_at__isnull=False)),
                name="invoice_needs_attention",
            ),
            models.Index(
                fields=["next_charge_at"],
                condition=models.Q(next_charge_at__isnull=False),
                name="invoice_charge_due",
            ),
            # The dashboard and aging report: every figure over open invoices in one index-only pass.
            models.Index(
                fields=["partner", "currency", "due_date"],
                include=["amount_due", "collection_failed_at", "charge_failed_at", "customer"],
                condition=models.Q(status="open"),
                name="invoice_open_by_currency",
            ),
            # "Paid in the last 30 days" and the list's paid-between filter.
            models.Index(
                fields=["partner", "paid_at"],
                include=["currency", "total"],
                condition=models.Q(status="paid"),
                name="invoice_paid_by_date",
            ),
            # Prefix search on numbers ("INV-00") in any database collation.
            models.Index(
                OpClass(Upper("number"), name="text_pattern_ops"), "partner", name="invoice_number_upper"
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"Draft {self.pk}"

    @property
    def display_number(self) -> str:
        return self.number or "Draft"

    # Its state, for pages (a template compares no status strings) ---------------------------------

    @property
    def is_draft(self) -> bool:
        return self.status == InvoiceStatus.DRAFT

    @property
    def is_open(self) -> bool:
        return self.status == InvoiceStatus.OPEN

    @property
    def is_paid(self) -> bool:
        return self.status == InvoiceStatus.PAID

    @property
    def is_void(self) -> bool:
        return self.status == InvoiceStatus.VOID

    @property
    def is_uncollectible(self) -> bool:
        return self.status == InvoiceStatus.UNCOLLECTIBLE

    @property
    def is_overdue(self) -> bool:
        """Open and past its due date where the partner is."""
        return self.is_open and self.due_date < self.partner.today()

    @property
    def needs_attention(self) -> bool:
        """Still open, and its last charge failed or its automatic charging stopped (NEEDS_ATTENTION)."""
        return self.is_open and (self.collection_failed_at is not None or self.charge_failed_at is not None)

    # What it allows: the one definition. Services refuse with these words; pages offer only what
    # is allowed ({% if invoice.allows.void %}). Rules that need other rows stay with what reads them: a
    # charge in flight (payments.services.live_attempt_error), what a payment has left to refund
    # (Payment.refundable).

    def refusal(self, action: InvoiceAction) -> str:
        """Why the invoice does not allow `action` now, in words for a person; "" when it does."""
        status = self.get_status_display().lower()
        issued = self.status in ISSUED_STATUSES
        match InvoiceAction(action):
            case InvoiceAction.EDIT if not self.is_draft:
                return "Only drafts can be edited. An issued invoice is frozen; only its memo can change."
            case InvoiceAction.FINALIZE if not self.is_draft:
                return f"{self.display_number} is already {status}."
            case InvoiceAction.PAY_LINK if self.is_draft:
                return "A draft has no pay link. Finalize the invoice first."
            case InvoiceAction.SEND if self.is_draft or self.is_void:
                return f"A {status} invoice can't be sent."
            case InvoiceAction.TAKE_PAYMENT if not issued:
                return f"A {status} invoice can't take payments."
            case InvoiceAction.CHARGE if not issued:
                return f"This invoice is {status}; there is nothing to charge."
            case InvoiceAction.PAY if self.is_paid:
                return f"Invoice {self.number} is already paid."
            case InvoiceAction.PAY if self.is_void:
                return f"Invoice {self.number} was cancelled (void)."
            case InvoiceAction.PAY if not issued or not self.amount_due:
                return f"Nothing is due on invoice {self.display_number}."
            case InvoiceAction.CREDIT_NOTE if not issued:
                return f"Credit notes apply to open invoices; this one is {status}."
            case InvoiceAction.MARK_UNCOLLECTIBLE if not self.is_open:
                return "Only open invoices can be marked uncollectible."
            case InvoiceAction.VOID if not issued:
                return f"A {status} invoice can't be voided."
            case InvoiceAction.VOID if self.amount_paid:
                return "This invoice has payments. Issue a credit note for the unpaid part instead."
        return ""

    @property
    def allows(self) -> "InvoiceAllows":
        return InvoiceAllows(self)


class InvoiceAllows:
    """`invoice.allows.credit_note` in a template: whether the invoice allows the action now. A name
    that is not an InvoiceAction raises, so a typo fails the page instead of hiding a button."""

    def __init__(self, invoice: Invoice):
        self._invoice = invoice

    def __getattr__(self, action: str) -> bool:
        if action.startswith("_"):  # copy, pickle and friends probing for special methods
            raise AttributeError(action)
        return not self._invoice.refusal(InvoiceAction(action))


class InvoiceLine(models.Model):
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(max_length=500)
    quantity = models.DecimalField(
        max_digits=money.QUANTITY_DIGITS, decimal_places=money.QUANTITY_PLACES, default=1
    )
    unit_price = models.BigIntegerField(help_text="In the currency's minor unit.")
    tax_rate = models.DecimalField(
        "tax rate (%)", max_digits=money.TAX_RATE_DIGITS, decimal_places=money.TAX_RATE_PLACES, default=0
    )
    amount = models.BigIntegerField(default=0)
    tax_amount = models.BigIntegerField(default=0, help_text="This line's share of its rate's tax.")

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.description


class EventKind(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Draft updated"
    FINALIZED = "finalized", "Finalized"
    MEMO_CHANGED = "memo_changed", "Memo changed"
    SENT = "sent", "Sent"
    VIEWED = "viewed", "Viewed by customer"
    PAY_LINK_REISSUED = "pay_link_reissued", "Pay link reissued"
    PAYMENT_ATTEMPTED = "payment_attempted", "Payment attempted"
    PAYMENT_PROCESSING = "payment_processing", "Payment processing"
    PAYMENT_FAILED = "payment_failed", "Payment failed"
    PAYMENT_RECORDED = "payment_recorded", "Payment recorded"
    CHARGE_SCHEDULED = "charge_scheduled", "Charge scheduled"
    COLLECTION_STOPPED = "collection_stopped", "Automatic charging stopped"
    REFUNDED = "refunded", "Refunded"
    DISPUTE = "dispute", "Payment disputed"
    CREDIT_APPLIED = "credit_applied", "Customer credit applied"
    CREDIT_ADDED = "credit_added", "Customer credit added"
    PAID = "paid", "Paid"
    CREDIT_NOTE = "credit_note", "Credit note issued"
    VOIDED = "voided", "Voided"
    UNCOLLECTIBLE = "uncollectible", "Marked uncollectible"
    DUPLICATED = "duplicated", "Duplicated"
    REMINDER_SENT = "reminder_sent", "Reminder sent"
    EMAIL = "email", "Email"
    RECURRING = "recurring", "Issued by a recurring payment"


class InvoiceEvent(models.Model):
    """One line of an invoice's timeline: what happened, when and who did it. Never edited."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30, choices=EventKind.choices)
    message = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(
        max_length=200, blank=True, help_text="Who, when not a user: 'System', 'Customer'."
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["created_at", "id"]
        # The activity log and the dashboard's recent activity, newest first.
        indexes = [
            models.Index(fields=["partner", "-created_at", "-id"], name="invoice_event_partner_recent")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.created_at:%Y-%m-%d %H:%M})"


class NumberKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


class NumberCounter(models.Model):
    """The next number of a partner's sequence. Finalizing locks this row, so numbers are gap-free."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="number_counters")
    kind = models.CharField(max_length=20, choices=NumberKind.choices)
    year = models.PositiveSmallIntegerField(
        default=0, help_text="0 when numbering does not restart each year."
    )
    next_value = models.PositiveBigIntegerField(default=1)

    objects = ScopedManager(partner="partner")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "kind", "year"], name="number_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.year or ''} next {self.next_value}"


class CreditNote(models.Model):
    """Reduces or cancels an issued invoice. Has its own gap-free number."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_notes")
    number = models.CharField(max_length=40)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=500)
    idempotency_key = models.CharField(
        max_length=100, null=True, blank=True, help_text="The key of the form that issued it."
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "number"], name="credit_note_unique_number"),
            models.UniqueConstraint(
                fields=["partner", "idempotency_key"], name="credit_note_unique_idempotency_key"
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="credit_note_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.number


class InvoicePdf(models.Model):
    """A rendered PDF of one version of an invoice, so each version is drawn once."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="pdfs")
    version = models.PositiveIntegerField()
    content = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invoice", "version"], name="invoice_pdf_unique_version")
        ]

    def __str__(self) -> str:
        return f"PDF of {self.invoice_id} v{self.version}"


# Recurring payments ------------------------------------------------------------------------------
# The rules (period dates, issuing, catching up) live in invoicing.recurring.


class RecurringFrequency(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    EVERY_N_WEEKS = "every_n_weeks", "Every N weeks"
    MONTHLY = "monthly", "Monthly"
    EVERY_N_MONTHS = "every_n_months", "Every N months"
    QUARTERLY = "quarterly", "Quarterly"
    YEARLY = "yearly", "Yearly"


class RecurringEnd(models.TextChoices):
    NEVER = "never", "Never"
    AFTER_COUNT = "after_count", "After a number of invoices"
    ON_DATE = "on_date", "On a date"


class RecurringStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    CANCELLED = "cancelled", "Cancelled"
    COMPLETED = "completed", "Completed"


class RecurringSchedule(models.Model):
    """A recurring payment: one invoice per period, from `start_date`, until its end.

    Period dates are computed from `start_date`, the frequency and `anchor_day` by their index (never
    from the previous period), so a schedule on the 31st issues on Jan 31, Feb 28 and Mar 31.
    `next_period_date` is the next period to issue; the job claims schedules whose next period has
    come in the partner's time zone.
    """

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="recurring_schedules")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="recurring_schedules")
    currency = models.CharField(max_length=3)
    frequency = models.CharField(
        max_length=20, choices=RecurringFrequency.choices, default=RecurringFrequency.MONTHLY
    )
    interval = models.PositiveSmallIntegerField(default=1, help_text="N, for every N weeks or months.")
    anchor_day = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Day of the month (monthly and longer); 31 means the last day."
    )
    start_date = models.DateField(help_text="The first period's date, or where an edit restarted the series.")
    end_mode = models.CharField(max_length=20, choices=RecurringEnd.choices, default=RecurringEnd.NEVER)
    end_count = models.PositiveIntegerField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    payment_option = models.CharField(
        max_length=30, choices=PaymentOption.choices, default=PaymentOption.CHARGE_LATER
    )
    payment_method = models.ForeignKey(
        "customers.PaymentMethod", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    days_until_due = models.PositiveSmallIntegerField(default=30)
    memo = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=RecurringStatus.choices, default=RecurringStatus.ACTIVE)
    next_index = models.PositiveIntegerField(default=0, help_text="Index of the next period from start_date.")
    invoices_issued = models.PositiveIntegerField(default=0)
    next_period_date = models.DateField(null=True, blank=True)
    problem = models.CharField(
        max_length=500, blank=True, help_text="Why the job paused this schedule, shown to the partner."
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(interval__gte=1, interval__lte=520), name="recurring_interval_range"
            ),
            models.CheckConstraint(
                condition=models.Q(anchor_day__isnull=True) | models.Q(anchor_day__gte=1, anchor_day__lte=31),
                name="recurring_anchor_day_range",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_period_date"],
                condition=models.Q(status="active"),
                name="recurring_due",
            ),
            models.Index(fields=["partner", "-created_at", "-id"], name="recurring_list"),
        ]

    def __str__(self) -> str:
        return f"Recurring payment {self.pk} ({self.get_frequency_display().lower()})"


class RecurringLine(models.Model):
    """What each invoice of a schedule bills: copied into the invoice's lines when it is issued."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    schedule = models.ForeignKey(RecurringSchedule, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(max_length=500)
    quantity = models.DecimalField(
        max_digits=money.QUANTITY_DIGITS, decimal_places=money.QUANTITY_PLACES, default=1
    )
    unit_price = models.BigIntegerField(help_text="In the currency's minor unit.")
    tax_rate = models.DecimalField(
        "tax rate (%)", max_digits=money.TAX_RATE_DIGITS, decimal_places=money.TAX_RATE_PLACES, default=0
    )

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.description


class RecurringOutcome(models.TextChoices):
    ISSUED = "issued", "Issued"
    SKIPPED = "skipped", "Skipped"


class RecurringRun(models.Model):
    """One period of a schedule, done: its invoice, or why it was skipped. The unique constraint is
    what makes a period produce at most one invoice, whatever runs the job and how often."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="+")
    schedule = models.ForeignKey(RecurringSchedule, on_delete=models.CASCADE, related_name="runs")
    period_date = models.DateField()
    outcome = models.CharField(max_length=20, choices=RecurringOutcome.choices)
    invoice = models.OneToOneField(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="recurring_run"
    )
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(partner="partner")

    class Meta:
        ordering = ["-period_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "period_date"], name="recurring_run_once_per_period"),
            models.CheckConstraint(
                condition=models.Q(outcome="skipped", invoice__isnull=True)
                | models.Q(outcome="issued", invoice__isnull=False),
                name="recurring_run_issued_has_invoice",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.schedule_id} {self.period_date}: {self.outcome}"
