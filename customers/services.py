"""Every write about a partner's customers."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from customers import signals
from customers.models import Customer
from partners.models import Partner

EDITABLE_FIELDS = (
    "name",
    "company",
    "email",
    "cc_emails",
    "email_reminders",
    "phone",
    "tax_id",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "country",
    "notes",
)
UNIQUE_EMAIL_CONSTRAINT = "customer_unique_email_per_partner"


def customer_create(*, partner: Partner, data: dict) -> Customer:
    """Add a customer. Raises ValidationError by field, e.g. when the email is already a customer's."""
    customer = Customer(partner=partner)
    _apply(customer, data)
    _save(customer)
    signals.customer_created.send(sender=Customer, customer=customer)
    return customer


def customer_update(*, customer: Customer, data: dict) -> Customer:
    """Change the fields given in `data` and only those."""
    changed = _apply(customer, data)
    _save(customer, update_fields=[*changed, "updated_at"])
    signals.customer_updated.send(sender=Customer, customer=customer, fields=changed)
    return customer


def customer_archive(*, customer: Customer) -> Customer:
    """Hide the customer from the list and from new invoices. Their invoices and history stay."""
    return _set_archived_at(customer, timezone.now())


def customer_unarchive(*, customer: Customer) -> Customer:
    return _set_archived_at(customer, None)


def _set_archived_at(customer: Customer, value: datetime | None) -> Customer:
    with transaction.atomic():
        locked = Customer.objects.select_for_update().get(partner_id=customer.partner_id, pk=customer.pk)
        if locked.is_archived != (value is not None):
            locked.archived_at = value
            locked.save(update_fields=["archived_at", "updated_at"])
            signals.customer_updated.send(sender=Customer, customer=locked, fields=["archived_at"])
    customer.archived_at, customer.updated_at = locked.archived_at, locked.updated_at
    return customer


def _apply(customer: Customer, data: dict) -> list[str]:
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable customer fields: {', '.join(sorted(unknown))}")
    for field, value in data.items():
        setattr(customer, field, value)
    # Stored lowercased so that duplicates, search and sending all agree on one spelling.
    customer.email = (customer.email or "").strip().lower()
    customer.cc_emails = list(dict.fromkeys(e.strip().lower() for e in customer.cc_emails or [] if e.strip()))
    customer.country = (customer.country or "").strip().upper()
    return list(data)


def _save(customer: Customer, update_fields: list[str] | None = None) -> None:
    # The unique constraint is checked below with a message that names the existing customer.
    customer.full_clean(exclude=["partner"], validate_unique=False, validate_constraints=False)
    _refuse_duplicate_email(customer)
    try:
        # A savepoint, so that losing a race to the constraint leaves the request's transaction usable.
        with transaction.atomic():
            customer.save(update_fields=update_fields)
    except IntegrityError as error:
        if getattr(getattr(error.__cause__, "diag", None), "constraint_name", "") != UNIQUE_EMAIL_CONSTRAINT:
            raise
        _refuse_duplicate_email(customer)
        raise ValidationError({"email": f"Another customer already uses {customer.email}."}) from error


def _refuse_duplicate_email(customer: Customer) -> None:
    existing = (
        Customer.objects.filter(partner_id=customer.partner_id, email__iexact=customer.email)
        .exclude(pk=customer.pk)
        .first()
    )
    if existing is None:
        return
    name = existing.display_name
    if existing.is_archived:
        message = (
            f"{name}, an archived customer, already uses {customer.email}. Restore {name} instead: "
            "tick “Show archived” on the Customers page to find them."
        )
    else:
        message = f"{name} already uses {customer.email}. Each customer needs their own email address."
    raise ValidationError({"email": message})
