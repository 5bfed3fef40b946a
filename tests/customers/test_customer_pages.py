import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, PaymentMethod
from invoicing.models import Invoice
from partners.models import Role
from tests.conftest import client_for, member_of
from tests.factories import CustomerFactory
from tests.test_pages import assert_clean_html

pytestmark = pytest.mark.django_db


def customer_data(**changes) -> dict:
    data = {
        "name": "Jane Fielding",
        "company": "Acme Robotics",
        "email": "jane@acme.example",
        "cc_emails": "",
        "phone": "+1 512 555 0100",
        "tax_id": "US-12-3456789",
        "address_line1": "1 Main St",
        "city": "Austin",
        "region": "TX",
        "postal_code": "78701",
        "country": "us",
        "notes": "Pays by check.",
    }
    data.update(changes)
    return data


def field_error(body: str, field: str) -> str:
    """The error shown under one field of the form (empty when the field has none)."""
    match = re.search(rf'<p class="error" id="id_{field}_error">([^<]*)</p>', body)
    return match.group(1) if match else ""


def method_rows(body: str) -> list[str]:
    """The saved payment methods as listed on the customer page, as text."""
    rows = re.findall(r'<li class="method">(.*?)</li>', body, flags=re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]


@pytest.fixture
def member_client(partner):
    return client_for(member_of(partner, Role.MEMBER).user)


def test_a_member_adds_a_customer_and_lands_on_their_page(member_client, partner, unscoped):
    response = member_client.post(
        reverse("customer_create"),
        customer_data(
            email="Jane@Acme.Example", cc_emails="AP@acme.example, cfo@acme.example\nboss@acme.example"
        ),
        follow=True,
    )
    customer = Customer.objects.get(partner=partner)
    assert response.redirect_chain == [(reverse("customer_detail", args=[customer.pk]), 302)]
    body = response.content.decode()
    assert "Acme Robotics added." in body
    for shown in (
        "Jane Fielding",
        "jane@acme.example",
        "cfo@acme.example",
        "US-12-3456789",
        "Pays by check.",
    ):
        assert shown in body
    assert customer.email == "jane@acme.example"
    assert customer.cc_emails == ["ap@acme.example", "cfo@acme.example", "boss@acme.example"]
    assert customer.country == "US"
    assert_clean_html(body, "customer_detail")


def test_a_customer_is_edited_and_the_form_shows_saved_cc_emails_one_per_line(
    owner_client, partner, unscoped
):
    customer = CustomerFactory(partner=partner, name="Jane", cc_emails=["a@acme.example", "b@acme.example"])
    edit_url = reverse("customer_edit", args=[customer.pk])
    assert "a@acme.example\nb@acme.example</textarea>" in owner_client.get(edit_url).content.decode()

    response = owner_client.post(edit_url, customer_data(name="Jane Doe", company="", email=customer.email))
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.name, customer.company, customer.cc_emails) == ("Jane Doe", "", [])
    page = owner_client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
    assert "<h1>Jane Doe" in page


@pytest.mark.parametrize("typed", ["taken@acme.example", "Taken@ACME.example"])
def test_an_email_another_customer_uses_is_refused_next_to_the_field(owner_client, partner, typed, unscoped):
    CustomerFactory(partner=partner, name="Tom", company="Acme Robotics", email="taken@acme.example")
    response = owner_client.post(
        reverse("customer_create"), customer_data(name="Typed Name", company="Typed Co", email=typed)
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert field_error(body, "email") == (
        "Acme Robotics already uses taken@acme.example. Each customer needs their own email address."
    )
    assert 'value="Typed Name"' in body
    assert 'value="Typed Co"' in body
    assert f'value="{typed}"' in body
    assert Customer.objects.filter(partner=partner).count() == 1


def test_an_archived_customers_email_is_refused_with_how_to_restore_them(owner_client, partner, unscoped):
    CustomerFactory(partner=partner, name="Old Jane", email="jane@acme.example", archived_at=timezone.now())
    response = owner_client.post(reverse("customer_create"), customer_data(company=""))
    message = field_error(response.content.decode(), "email")
    assert "Old Jane, an archived customer, already uses jane@acme.example" in message
    assert "Restore Old Jane" in message
    assert "Show archived" in message
    assert Customer.objects.filter(partner=partner).count() == 1


def test_the_same_email_at_another_partner_is_fine(owner_client, partner, other_partner, unscoped):
    CustomerFactory(partner=other_partner, email="jane@acme.example")
    assert owner_client.post(reverse("customer_create"), customer_data()).status_code == 302
    assert Customer.objects.filter(partner=partner, email="jane@acme.example").exists()


def test_changing_the_email_to_another_customers_is_refused(owner_client, partner, unscoped):
    CustomerFactory(partner=partner, name="Tom", email="tom@acme.example")
    jane = CustomerFactory(partner=partner, name="Jane", email="jane@acme.example")
    response = owner_client.post(
        reverse("customer_edit", args=[jane.pk]), customer_data(company="", email="TOM@acme.example")
    )
    body = response.content.decode()
    assert "Tom already uses tom@acme.example" in field_error(body, "email")
    assert (
        "<h1>Edit Jane</h1>" in body
    )  # the heading keeps the saved name while the form keeps what was typed
    jane.refresh_from_db()
    assert jane.email == "jane@acme.example"


def test_a_bad_cc_email_is_named_in_the_error_and_the_typed_text_kept(owner_client, partner, unscoped):
    typed = "ap@acme.example, not-an-email"
    response = owner_client.post(reverse("customer_create"), customer_data(cc_emails=typed))
    body = response.content.decode()
    assert field_error(body, "cc_emails") == "“not-an-email” is not a valid email address."
    assert f">\n{typed}</textarea>" in body
    assert not Customer.objects.filter(partner=partner).exists()


def test_several_bad_cc_emails_are_all_named(owner_client):
    response = owner_client.post(
        reverse("customer_create"), customer_data(cc_emails="x@\ny@acme\nok@acme.example")
    )
    assert field_error(response.content.decode(), "cc_emails") == (
        "These are not valid email addresses: “x@”, “y@acme”."
    )


def test_missing_name_and_a_country_name_instead_of_a_code_are_explained(owner_client):
    response = owner_client.post(
        reverse("customer_create"), customer_data(name="", email="", country="United Kingdom")
    )
    body = response.content.decode()
    assert field_error(body, "name") == "This field is required."
    assert field_error(body, "email") == "This field is required."
    assert field_error(body, "country") == "Use the two-letter country code, e.g. US, GB or DE."
    assert 'value="United Kingdom"' in body


def test_archiving_hides_a_customer_from_the_list_and_restoring_brings_them_back(
    owner_client, partner, unscoped
):
    customer = CustomerFactory(partner=partner, name="Jane Archivable")
    list_url = reverse("customer_list")

    response = owner_client.post(reverse("customer_archive", args=[customer.pk]), follow=True)
    body = response.content.decode()
    assert "Jane Archivable archived." in body
    assert "Archived on" in body
    assert "Restore</button>" in body
    assert "Jane Archivable" not in owner_client.get(list_url).content.decode()
    assert "Jane Archivable" in owner_client.get(list_url, {"archived": "1"}).content.decode()

    response = owner_client.post(reverse("customer_unarchive", args=[customer.pk]), follow=True)
    assert "Jane Archivable restored." in response.content.decode()
    assert "Jane Archivable" in owner_client.get(list_url).content.decode()
    customer.refresh_from_db()
    assert customer.archived_at is None


def test_archive_and_restore_answer_only_post(owner_client, partner, unscoped):
    customer = CustomerFactory(partner=partner)
    assert owner_client.get(reverse("customer_archive", args=[customer.pk])).status_code == 405
    assert owner_client.get(reverse("customer_unarchive", args=[customer.pk])).status_code == 405
    customer.refresh_from_db()
    assert customer.archived_at is None


def test_the_detail_page_shows_balance_recent_invoices_and_payment_methods(owner_client, partner, unscoped):
    customer = CustomerFactory(partner=partner, name="Jane")
    due = datetime.date(2030, 1, 31)
    for number, status, currency, total, amount_due in [
        ("INV-1", "open", "USD", 125_050, 100_000),
        ("INV-2", "uncollectible", "USD", 5_000, 5_000),
        ("INV-3", "paid", "USD", 9_900, 0),
        ("INV-4", "open", "EUR", 2_000, 2_000),
    ]:
        Invoice.objects.create(
            partner=partner,
            customer=customer,
            currency=currency,
            due_date=due,
            status=status,
            number=number,
            total=total,
            amount_due=amount_due,
        )
    PaymentMethod.objects.create(
        partner=partner,
        customer=customer,
        kind="card",
        brand="Visa",
        last4="4242",
        exp_month=12,
        exp_year=2030,
        gateway_token="tok",
        is_default=True,
    )
    PaymentMethod.objects.create(
        partner=partner,
        customer=customer,
        kind="card",
        brand="Amex",
        last4="0005",
        exp_month=1,
        exp_year=2020,
        gateway_token="tok2",
    )
    PaymentMethod.objects.create(
        partner=partner,
        customer=customer,
        kind="card",
        brand="Mastercard",
        last4="4444",
        exp_month=1,
        exp_year=2031,
        gateway_token="tok3",
        removed_at=timezone.now(),
    )

    body = owner_client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
    assert "Outstanding in EUR</dt><dd>€20.00" in body
    assert "Outstanding in USD</dt><dd>$1,050.00" in body
    for shown in ("INV-1", "INV-2", "INV-3", "INV-4", "Uncollectible", "$1,250.50", "Jan 31, 2030"):
        assert shown in body
    visa, amex = method_rows(body)
    assert visa.startswith("Visa •••• 4242 Expires 12/2030 Default Remove")  # no "Set as default" on it
    assert "Expired" not in visa
    assert amex.startswith("Amex •••• 0005 Expires 01/2020 Expired Set as default Remove")
    assert "Mastercard" not in body
    assert "No saved payment methods." not in body


def test_a_new_customers_page_says_there_is_nothing_yet(owner_client, partner, unscoped):
    customer = CustomerFactory(partner=partner)
    body = owner_client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
    assert "Nothing outstanding." in body
    assert "No invoices yet." in body
    assert "No saved payment methods." in body


def test_read_only_members_see_customers_without_ways_to_change_them(partner, unscoped):
    customer = CustomerFactory(partner=partner, name="Jane")
    reader = client_for(member_of(partner, Role.READ_ONLY).user)
    assert "Add customer" not in reader.get(reverse("customer_list")).content.decode()
    detail = reader.get(reverse("customer_detail", args=[customer.pk])).content.decode()
    assert "Jane" in detail
    assert "Edit</a>" not in detail
    assert "Archive</button>" not in detail
    form_page = reader.get(reverse("customer_create")).content.decode()
    assert "Read-only members can look at customers but not add or change them." in form_page
    assert reader.post(reverse("customer_create"), customer_data()).status_code == 403
    assert Customer.objects.filter(partner=partner).count() == 1


@pytest.mark.parametrize(
    "name", ["customer_detail", "customer_edit", "customer_archive", "customer_unarchive"]
)
def test_another_partners_customer_is_not_found(other_partner, owner_client, name, unscoped):
    theirs = CustomerFactory(partner=other_partner, name="Not Yours")
    url = reverse(name, args=[theirs.pk])
    if name in ("customer_detail", "customer_edit"):
        assert owner_client.get(url).status_code == 404
    assert owner_client.post(url, customer_data()).status_code == 404
    theirs.refresh_from_db()
    assert (theirs.name, theirs.archived_at) == ("Not Yours", None)
