"""What an invoice allows in each state: the one table the services refuse by and the pages offer by."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_scopes import scope

from invoicing import services
from invoicing.models import Invoice, InvoiceAction, InvoiceStatus
from payments.models import PaymentMethodType
from payments.services import payment_record_offline
from reminders.services import invoice_send
from tests.factories.invoicing import make_invoice

pytestmark = pytest.mark.django_db

A = InvoiceAction
# Written out by hand from the product's rules (Stripe's draft → open → paid / void / uncollectible).
ALLOWED = {
    "draft": {A.EDIT, A.FINALIZE, A.DUPLICATE},
    "open": {A.PAY_LINK, A.SEND, A.TAKE_PAYMENT, A.CHARGE, A.PAY, A.CREDIT_NOTE, A.MARK_UNCOLLECTIBLE, A.VOID,
             A.DUPLICATE},
    "open, partly paid": {A.PAY_LINK, A.SEND, A.TAKE_PAYMENT, A.CHARGE, A.PAY, A.CREDIT_NOTE,
                          A.MARK_UNCOLLECTIBLE, A.DUPLICATE},
    "uncollectible": {A.PAY_LINK, A.SEND, A.TAKE_PAYMENT, A.CHARGE, A.PAY, A.CREDIT_NOTE, A.VOID,
                      A.DUPLICATE},
    "paid": {A.PAY_LINK, A.SEND, A.DUPLICATE},
    "void": {A.PAY_LINK, A.DUPLICATE},
}  # fmt: skip


def invoice_in(partner, state: str) -> Invoice:
    invoice = make_invoice(partner, finalize=state != "draft", lines=[("Work", "1", 10_000, "0")])
    with scope(partner=partner):
        if state == "open, partly paid":
            record(invoice, 4_000)
        elif state == "paid":
            record(invoice, 10_000)
        elif state == "void":
            services.invoice_void(invoice=invoice, actor=None)
        elif state == "uncollectible":
            services.invoice_mark_uncollectible(invoice=invoice, actor=None)
        return Invoice.objects.select_related("partner", "customer").get(pk=invoice.pk)


def record(invoice: Invoice, amount: int):
    return payment_record_offline(
        invoice=invoice, amount=amount, method=PaymentMethodType.CHECK,
        received_on=invoice.partner.today(), actor=None,
    )  # fmt: skip


@pytest.mark.parametrize("state", list(ALLOWED))
def test_each_state_allows_exactly_its_actions(partner, state):
    invoice = invoice_in(partner, state)
    allowed = {action for action in InvoiceAction if not invoice.refusal(action)}
    assert allowed == ALLOWED[state]
    for action in InvoiceAction:
        assert getattr(invoice.allows, action.value) == (action in ALLOWED[state]), action
        assert invoice.refusal(action) == "" or invoice.refusal(action).endswith("."), action


def test_a_name_that_is_no_action_fails_loudly_rather_than_hiding_a_button(partner):
    invoice = make_invoice(partner)
    with pytest.raises(ValueError, match="viod"):
        invoice.allows.viod  # noqa: B018


# The services refuse with the same words -----------------------------------------------------------

REFUSING_SERVICES = {
    A.EDIT: lambda invoice: services.invoice_update_draft(invoice=invoice, data=None, actor=None),
    A.FINALIZE: lambda invoice: services.invoice_finalize(invoice=invoice, actor=None),
    A.VOID: lambda invoice: services.invoice_void(invoice=invoice, actor=None),
    A.MARK_UNCOLLECTIBLE: lambda invoice: services.invoice_mark_uncollectible(invoice=invoice, actor=None),
    A.CREDIT_NOTE: lambda invoice: services.credit_note_create(
        invoice=invoice, amount=1, reason="x", actor=None
    ),
    A.TAKE_PAYMENT: lambda invoice: record(invoice, 1),
    A.SEND: lambda invoice: invoice_send(invoice=invoice, actor=None),
}


@pytest.mark.parametrize(
    ("state", "action"),
    [(state, action) for state in ALLOWED for action in REFUSING_SERVICES if action not in ALLOWED[state]],
)
def test_a_service_refuses_what_the_state_does_not_allow_in_its_words(partner, state, action):
    invoice = invoice_in(partner, state)
    refusal = invoice.refusal(action)
    assert refusal
    with scope(partner=partner), pytest.raises(ValidationError) as caught:
        REFUSING_SERVICES[action](invoice)
    assert caught.value.messages == [refusal]


# The detail page offers what is allowed, and nothing else -------------------------------------------

BUTTONS = {
    A.EDIT: ">Edit</a>",
    A.FINALIZE: "Finalize invoice</button>",
    A.PAY_LINK: "Reissue pay link</button>",
    A.SEND: ">Send</button>",
    # Panels whose form is drawn when they open (dashboard.views.invoice_detail.ACTION_FORMS).
    A.TAKE_PAYMENT: "<summary>Record an offline payment</summary>",
    A.CREDIT_NOTE: "<summary>Issue a credit note</summary>",
    A.MARK_UNCOLLECTIBLE: "Mark uncollectible</button>",
    A.VOID: "Void invoice</button>",
    A.DUPLICATE: "Duplicate</button>",
}


@pytest.mark.parametrize("state", list(ALLOWED))
def test_the_detail_page_offers_exactly_what_the_invoice_allows(owner_client, partner, state):
    invoice = invoice_in(partner, state)
    body = owner_client.get(reverse("invoice_detail", kwargs={"invoice_id": invoice.pk})).content.decode()
    offered = {action for action, button in BUTTONS.items() if button in body}
    assert offered == ALLOWED[state] & BUTTONS.keys()
    assert ("Charge a saved payment method" in body or "no saved payment method" in body) == (
        A.CHARGE in ALLOWED[state]
    )


def test_an_overdue_invoice_says_so_in_the_list_and_on_its_page(owner_client, partner):
    invoice = make_invoice(partner)
    with scope(partner=partner):
        Invoice.objects.filter(pk=invoice.pk).update(due_date=partner.today() - datetime.timedelta(days=1))
    body = owner_client.get(reverse("invoice_detail", kwargs={"invoice_id": invoice.pk})).content.decode()
    assert '<span class="status status-overdue">Overdue</span>' in body
    assert "(overdue)" in body
    with scope(partner=partner):
        Invoice.objects.filter(pk=invoice.pk).update(status=InvoiceStatus.UNCOLLECTIBLE)
    body = owner_client.get(reverse("invoice_detail", kwargs={"invoice_id": invoice.pk})).content.decode()
    assert "Overdue" not in body
