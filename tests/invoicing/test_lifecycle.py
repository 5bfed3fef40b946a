import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django_scopes import scope

from customers.models import PaymentMethod
from invoicing import services
from invoicing.models import EventKind, InvoiceStatus, PaymentOption
from payments.models import PaymentMethodType
from payments.services import payment_record_offline
from tests.factories import PartnerFactory
from tests.factories.invoicing import customer_for, make_invoice

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner():
    return PartnerFactory(timezone="America/New_York")


def data_for(partner, **overrides):
    fields = {
        "customer": customer_for(partner),
        "due_date": partner.today(),
        "currency": "USD",
        "lines": [services.LineInput("Support", 1, 5000)],
    }
    fields.update(overrides)
    return services.InvoiceInput(**fields)


def errors_of(partner, data) -> dict:
    with scope(partner=partner), pytest.raises(ValidationError) as caught:
        services.invoice_validate(partner=partner, data=data)
    return caught.value.message_dict


# The seed's validation rules, one test each ------------------------------------------------------


def test_due_date_in_the_past_is_refused(partner):
    errors = errors_of(partner, data_for(partner, due_date=partner.today() - datetime.timedelta(days=1)))
    assert "can't be in the past" in errors["due_date"][0]


@time_machine.travel(datetime.datetime(2026, 3, 10, 2, 30, tzinfo=datetime.UTC))  # Mar 9, 21:30 in New York
def test_today_in_the_partner_zone_is_accepted_even_when_utc_is_already_tomorrow(partner):
    ny_today = datetime.date(2026, 3, 9)
    assert partner.today() == ny_today
    with scope(partner=partner):
        services.invoice_validate(partner=partner, data=data_for(partner, due_date=ny_today))


@time_machine.travel(datetime.datetime(2026, 3, 10, 2, 30, tzinfo=datetime.UTC))
def test_yesterday_in_the_partner_zone_is_refused_even_when_it_is_today_in_another_zone():
    auckland = PartnerFactory(timezone="Pacific/Auckland")  # already Mar 10, 15:30 there
    errors = errors_of(auckland, data_for(auckland, due_date=datetime.date(2026, 3, 9)))
    assert "can't be in the past" in errors["due_date"][0]


def test_amount_must_be_greater_than_zero(partner):
    assert "greater than zero" in errors_of(partner, data_for(partner, lines=[]))["amount"][0]
    zero = [services.LineInput("Free", 1, 0)]
    assert "greater than zero" in errors_of(partner, data_for(partner, lines=zero))["amount"][0]


def test_customer_is_required_and_must_be_this_partners(partner):
    other = PartnerFactory()
    assert errors_of(partner, data_for(partner, customer=customer_for(other)))["customer"] == [
        "Choose a customer."
    ]


@pytest.mark.parametrize(
    "option",
    [PaymentOption.CHARGE_NOW, PaymentOption.CHARGE_ON_DUE_DATE, PaymentOption.CHARGE_METHOD_ON_FILE],
)
def test_charge_options_need_a_saved_method_and_the_error_offers_a_way_out(partner, option):
    customer = customer_for(partner, name="Ada Lovelace", company="Analytical Ltd")
    message = errors_of(partner, data_for(partner, customer=customer, payment_option=option))[
        "payment_option"
    ][0]
    assert "Analytical Ltd has none" in message
    assert "Add a payment method" in message
    assert "Email payment link" in message


def test_charge_method_on_file_needs_one_of_the_customers_methods(partner):
    customer = customer_for(partner)
    other_customer = customer_for(partner)
    with scope(partner=partner):
        method = PaymentMethod.objects.create(
            partner=partner,
            customer=customer,
            kind="card",
            brand="Visa",
            last4="4242",
            gateway_token="t",
            is_default=True,
        )
        foreign = PaymentMethod.objects.create(
            partner=partner,
            customer=other_customer,
            kind="card",
            brand="Visa",
            last4="1111",
            gateway_token="u",
        )
        data = data_for(partner, customer=customer, payment_option=PaymentOption.CHARGE_METHOD_ON_FILE)
        services.invoice_validate(
            partner=partner,
            data=data_for(
                partner,
                customer=customer,
                payment_option=PaymentOption.CHARGE_METHOD_ON_FILE,
                payment_method=method,
            ),
        )
        services.invoice_validate(
            partner=partner,
            data=data_for(partner, customer=customer, payment_option=PaymentOption.CHARGE_NOW),
        )
    assert "Choose which" in errors_of(partner, data)["payment_option"][0]
    foreign_data = data_for(
        partner, customer=customer, payment_option=PaymentOption.CHARGE_METHOD_ON_FILE, payment_method=foreign
    )
    assert "Choose which" in errors_of(partner, foreign_data)["payment_option"][0]


def test_email_payment_link_and_charge_later_need_no_method(partner):
    for option in (PaymentOption.EMAIL_PAYMENT_LINK, PaymentOption.CHARGE_LATER):
        with scope(partner=partner):
            services.invoice_validate(partner=partner, data=data_for(partner, payment_option=option))


# The lifecycle ------------------------------------------------------------------------------------


def test_finalizing_copies_seller_and_buyer_and_freezes_them(partner):
    customer = customer_for(partner, name="Bo", company="Bo's Bakery", address_line1="1 Main St")
    invoice = make_invoice(partner, customer=customer)
    assert invoice.status == InvoiceStatus.OPEN
    assert invoice.issue_date == partner.today()
    customer.company = "Renamed Inc"
    customer.save()
    partner.name = "New Name LLC"
    partner.save()
    invoice.refresh_from_db()
    assert invoice.buyer["company"] == "Bo's Bakery"
    assert invoice.buyer["address_lines"] == ["1 Main St"]
    assert invoice.seller["name"] != "New Name LLC"


def test_issued_invoices_cannot_be_edited_except_the_memo(partner):
    invoice = make_invoice(partner)
    with scope(partner=partner):
        with pytest.raises(ValidationError, match="Only drafts can be edited"):
            services.invoice_update_draft(invoice=invoice, data=data_for(partner), actor=None)
        updated = services.invoice_update_memo(invoice=invoice, memo="Thanks!", actor=None)
    assert updated.memo == "Thanks!"
    assert updated.version > invoice.version


def test_partial_payments_then_paid(partner):
    invoice = make_invoice(partner, lines=[("Work", "1", 10_000, "0")])
    with scope(partner=partner):
        payment_record_offline(
            invoice=invoice,
            amount=4_000,
            method=PaymentMethodType.CHECK,
            received_on=partner.today(),
            actor=None,
        )
        invoice.refresh_from_db()
        assert (invoice.status, invoice.amount_paid, invoice.amount_due) == (InvoiceStatus.OPEN, 4_000, 6_000)
        for day, message in [
            (datetime.date(1, 1, 1), "at most 10 years ago"),
            (partner.today() + datetime.timedelta(days=1), "can't be in the future"),
        ]:
            with pytest.raises(ValidationError, match=message):
                payment_record_offline(
                    invoice=invoice, amount=1, method=PaymentMethodType.CASH, received_on=day, actor=None
                )
        with pytest.raises(ValidationError, match=r"more than the \$60.00 still due"):
            payment_record_offline(
                invoice=invoice,
                amount=7_000,
                method=PaymentMethodType.CASH,
                received_on=partner.today(),
                actor=None,
            )
        payment_record_offline(
            invoice=invoice,
            amount=6_000,
            method=PaymentMethodType.BANK_TRANSFER,
            received_on=partner.today(),
            actor=None,
        )
        invoice.refresh_from_db()
        assert (invoice.status, invoice.amount_paid, invoice.amount_due) == (InvoiceStatus.PAID, 10_000, 0)
        with pytest.raises(ValidationError, match="paid invoice can't take payments"):
            payment_record_offline(
                invoice=invoice,
                amount=1,
                method=PaymentMethodType.CASH,
                received_on=partner.today(),
                actor=None,
            )
        kinds = list(invoice.events.values_list("kind", flat=True))
    assert kinds[-3:] == [EventKind.PAYMENT_RECORDED, EventKind.PAYMENT_RECORDED, EventKind.PAID]


def test_uncollectible_can_still_be_paid_but_not_drafts_or_voids(partner):
    invoice = make_invoice(partner)
    with scope(partner=partner):
        services.invoice_mark_uncollectible(invoice=invoice, actor=None)
        payment_record_offline(
            invoice=invoice,
            amount=invoice.total,
            method=PaymentMethodType.CASH,
            received_on=partner.today(),
            actor=None,
        )
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.PAID
        draft = make_invoice(partner, finalize=False)
        with pytest.raises(ValidationError):
            payment_record_offline(
                invoice=draft,
                amount=100,
                method=PaymentMethodType.CASH,
                received_on=partner.today(),
                actor=None,
            )


def test_void_is_refused_after_a_payment(partner):
    invoice = make_invoice(partner)
    with scope(partner=partner):
        payment_record_offline(
            invoice=invoice,
            amount=100,
            method=PaymentMethodType.CASH,
            received_on=partner.today(),
            actor=None,
        )
        with pytest.raises(ValidationError, match="credit note"):
            services.invoice_void(invoice=invoice, actor=None)


def test_a_credit_note_reduces_and_a_full_one_cancels(partner):
    invoice = make_invoice(partner, lines=[("Work", "1", 10_000, "0")])
    with scope(partner=partner):
        services.credit_note_create(invoice=invoice, amount=2_500, reason="Goodwill", actor=None)
        invoice.refresh_from_db()
        assert (invoice.amount_credited, invoice.amount_due, invoice.status) == (
            2_500,
            7_500,
            InvoiceStatus.OPEN,
        )
        with pytest.raises(ValidationError, match="can't exceed"):
            services.credit_note_create(invoice=invoice, amount=7_501, reason="Too much", actor=None)
        services.credit_note_create(invoice=invoice, amount=7_500, reason="Cancel the rest", actor=None)
        invoice.refresh_from_db()
    assert (invoice.amount_due, invoice.status) == (0, InvoiceStatus.VOID)


def test_a_credit_note_for_the_unpaid_rest_marks_a_partly_paid_invoice_paid(partner):
    invoice = make_invoice(partner, lines=[("Work", "1", 10_000, "0")])
    with scope(partner=partner):
        payment_record_offline(
            invoice=invoice,
            amount=9_000,
            method=PaymentMethodType.CHECK,
            received_on=partner.today(),
            actor=None,
        )
        services.credit_note_create(invoice=invoice, amount=1_000, reason="Rounding", actor=None)
        invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID


def test_duplicate_makes_a_new_draft_with_the_same_lines(partner):
    invoice = make_invoice(partner, lines=[("A", "2", 1_500, "10"), ("B", "1", 999, "0")])
    with scope(partner=partner):
        copy = services.invoice_duplicate(invoice=invoice, actor=None)
        assert copy.status == InvoiceStatus.DRAFT
        assert copy.number == ""
        assert [(line.description, line.amount, line.tax_amount) for line in copy.lines.all()] == [
            ("A", 3_000, 300),
            ("B", 999, 0),
        ]
    assert copy.total == invoice.total == 4_299


def test_totals_are_computed_per_line_in_the_invoice_currency(partner):
    invoice = make_invoice(partner, currency="JPY", lines=[("Yen", "3", 333, "10")])
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (999, 100, 1_099)


def test_every_step_appends_to_the_timeline(partner):
    invoice = make_invoice(partner)
    with scope(partner=partner):
        services.invoice_mark_uncollectible(invoice=invoice, actor=None)
        services.invoice_void(invoice=invoice, actor=None)
        kinds = list(invoice.events.values_list("kind", flat=True))
    assert kinds == [EventKind.CREATED, EventKind.FINALIZED, EventKind.UNCOLLECTIBLE, EventKind.VOIDED]
