import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers import services
from customers.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_emails_are_stored_lowercased_and_cc_duplicates_dropped(partner, unscoped):
    customer = services.customer_create(
        partner=partner,
        data={
            "name": "Jane",
            "email": " Jane@Acme.Example ",
            "cc_emails": ["AP@acme.example", "ap@acme.example", "cfo@acme.example"],
        },
    )
    customer.refresh_from_db()
    assert customer.email == "jane@acme.example"
    assert customer.cc_emails == ["ap@acme.example", "cfo@acme.example"]


def test_an_update_changes_only_the_fields_given(partner, unscoped):
    customer = CustomerFactory(partner=partner, name="Jane", company="Acme", phone="1")
    services.customer_update(customer=customer, data={"phone": "+1 512 555 0100"})
    customer.refresh_from_db()
    assert (customer.name, customer.company, customer.phone) == ("Jane", "Acme", "+1 512 555 0100")


def test_a_bad_value_from_any_caller_is_refused_by_field(partner, unscoped):
    with pytest.raises(ValidationError) as refused:
        services.customer_create(partner=partner, data={"name": "Jane", "email": "not-an-email"})
    assert "email" in refused.value.message_dict
    assert not Customer.objects.exists()


def test_losing_the_race_to_the_unique_email_gives_the_same_message(partner, unscoped, monkeypatch):
    """Two people add the same email at once: both pass the check, the database refuses the second."""
    CustomerFactory(partner=partner, name="Tom", company="Acme", email="ap@acme.example")
    real_check = services._refuse_duplicate_email
    calls = []

    def check_that_misses_the_first_time(customer):
        calls.append(customer)
        if len(calls) > 1:
            real_check(customer)

    monkeypatch.setattr(services, "_refuse_duplicate_email", check_that_misses_the_first_time)
    with pytest.raises(ValidationError) as refused:
        services.customer_create(partner=partner, data={"name": "Jane", "email": "AP@acme.example"})
    assert refused.value.message_dict == {
        "email": ["Acme already uses ap@acme.example. Each customer needs their own email address."]
    }
    # The request's transaction is still usable: the failed insert only rolled back its savepoint.
    assert Customer.objects.filter(partner=partner).count() == 1


def test_archive_and_unarchive_set_and_clear_the_date(partner, unscoped):
    customer = CustomerFactory(partner=partner)
    services.customer_archive(customer=customer)
    archived_at = Customer.objects.get(pk=customer.pk).archived_at
    assert archived_at is not None
    assert customer.is_archived
    services.customer_archive(customer=customer)  # twice is harmless and keeps the first date
    assert Customer.objects.get(pk=customer.pk).archived_at == archived_at
    services.customer_unarchive(customer=customer)
    assert Customer.objects.get(pk=customer.pk).archived_at is None
    assert not customer.is_archived


def test_restoring_keeps_the_customers_email_to_themselves(partner, unscoped):
    customer = CustomerFactory(partner=partner, email="jane@acme.example", archived_at=timezone.now())
    with pytest.raises(ValidationError):
        services.customer_create(partner=partner, data={"name": "New Jane", "email": "jane@acme.example"})
    services.customer_unarchive(customer=customer)
    assert Customer.objects.get(pk=customer.pk).email == "jane@acme.example"
