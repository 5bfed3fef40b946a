import datetime
import html
import re

import pytest
from django.db import connection
from django.urls import reverse
from django_scopes import scope

from core.idempotency import new_key
from customers.models import Customer
from dashboard import reports
from invoicing import selectors
from invoicing.models import Invoice, InvoiceStatus
from partners.models import Role
from tests.conftest import client_for, member_of
from tests.factories.invoicing import customer_for, make_invoice

pytestmark = pytest.mark.django_db


def form_data(partner, **overrides) -> dict:
    data = {
        "customer": "",
        "customer_query": "",
        "due_date": (partner.today() + datetime.timedelta(days=14)).isoformat(),
        "currency": "USD",
        "amount": "",
        "memo": "",
        "footer": "",
        "payment_option": "charge_later",
        "action": "create",
        **line_rows(),
    }
    data.update(overrides)
    return data


def line_rows(*rows: tuple[str, str, str, str]) -> dict:
    """The lines editor's formset as the page posts it: (description, quantity, unit price, tax %) rows."""
    data = {"line-TOTAL_FORMS": str(len(rows)), "line-INITIAL_FORMS": "0"}
    for index, row in enumerate(rows):
        for name, value in zip(("description", "quantity", "unit_price", "tax_rate"), row, strict=True):
            data[f"line-{index}-{name}"] = value
    return data


def post_create(client, data):
    return client.post(reverse("invoice_create"), data)


def test_create_invoice_with_one_amount_for_an_existing_customer(owner_client, partner):
    customer = customer_for(partner, name="Ada", company="Analytical Ltd")
    response = post_create(
        owner_client, form_data(partner, customer=customer.pk, amount="1,250.00", memo="October support")
    )
    assert response.status_code == 302
    with scope(partner=partner):
        invoice = Invoice.objects.get()
        assert (invoice.status, invoice.number, invoice.total, invoice.amount_due) == (
            "open",
            "INV-0001",
            125_000,
            125_000,
        )
        assert invoice.lines.get().description == "October support"
    detail = owner_client.get(response.url).content.decode()
    assert "Invoice INV-0001" in detail
    assert "$1,250.00" in detail


def test_create_with_lines_and_a_new_customer_inline_saved_as_draft(owner_client, partner):
    data = form_data(
        partner,
        new_customer_name="Grace Hopper",
        new_customer_company="Navy Labs",
        new_customer_email="Grace@Navy.example",
        action="draft",
    )
    client_data = {
        **data,
        **line_rows(("Laptops", "2", "999.99", "8.25"), ("Setup", "1", "150", "0")),
    }
    response = owner_client.post(reverse("invoice_create"), client_data)
    assert response.status_code == 302
    with scope(partner=partner):
        customer = Customer.objects.get()
        invoice = Invoice.objects.get()
    assert (customer.name, customer.company, customer.email) == (
        "Grace Hopper",
        "Navy Labs",
        "grace@navy.example",
    )
    assert invoice.status == InvoiceStatus.DRAFT
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (214_998, 16_500, 231_498)


def test_every_rule_shows_next_to_its_field_and_what_was_typed_stays(owner_client, partner):
    yesterday = (partner.today() - datetime.timedelta(days=1)).isoformat()
    response = post_create(owner_client, form_data(partner, due_date=yesterday, amount="0", memo="Keep me"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Choose a customer, or add a new one." in body
    assert 'value="0"' in body
    assert "Keep me" in body
    with scope(partner=partner):
        assert not Invoice.objects.exists()


def test_service_rules_are_shown_on_the_form_and_nothing_is_saved(owner_client, partner):
    customer = customer_for(partner, name="Zed")
    yesterday = (partner.today() - datetime.timedelta(days=1)).isoformat()
    response = post_create(
        owner_client, form_data(partner, customer=customer.pk, due_date=yesterday, amount="0")
    )
    body = response.content.decode()
    assert "can&#x27;t be in the past" in body
    assert "greater than zero" in body
    assert 'value="0"' in body


def test_a_charge_option_without_a_saved_method_names_the_customer_and_the_way_out(owner_client, partner):
    customer = customer_for(partner, name="Zed", company="Zed Corp")
    response = post_create(
        owner_client, form_data(partner, customer=customer.pk, amount="10", payment_option="charge_now")
    )
    body = response.content.decode()
    assert "Zed Corp has none" in body
    assert "choose Email payment link" in body


def test_an_inline_customer_is_not_created_when_the_invoice_is_refused(owner_client, partner):
    post_create(
        owner_client,
        form_data(partner, new_customer_name="New", new_customer_email="new@example.com", amount=""),
    )
    with scope(partner=partner):
        assert not Customer.objects.exists()


def cell_error(body: str, field: str) -> str:
    """The error written beside one cell of the lines editor, tied to its input for screen readers."""
    match = re.search(rf'<p class="error" id="id_line-{field}_error">([^<]*)</p>', body)
    assert match, f"no error beside {field}"
    assert f'aria-describedby="id_line-{field}_error"' in body
    return html.unescape(match.group(1))


def test_bad_line_values_show_beside_their_cells_and_what_was_typed_stays(owner_client, partner):
    customer = customer_for(partner)
    data = {
        **form_data(partner, customer=customer.pk),
        **line_rows(("Thing", "two", "1.999", "150"), ("", "1", "5", ""), ("Fine", "", "", "")),
    }
    response = owner_client.post(reverse("invoice_create"), data)
    body = response.content.decode()
    assert response.status_code == 200
    assert cell_error(body, "0-quantity") == "Enter a quantity, like 1 or 2.5."
    assert cell_error(body, "0-unit_price") == "USD amounts have at most 2 decimals."
    assert cell_error(body, "0-tax_rate") == "The tax rate must be between 0 and 100%."
    assert cell_error(body, "1-description") == "Describe the item."
    assert cell_error(body, "2-unit_price") == "Enter an amount, like 1250.00."
    assert "id_line-0-description_error" not in body
    for name, value in [
        ("0-quantity", "two"),
        ("0-unit_price", "1.999"),
        ("0-tax_rate", "150"),
        ("1-unit_price", "5"),
    ]:
        assert f'name="line-{name}" value="{value}"' in body
    assert "Some lines need attention; see the messages beside them." in body
    with scope(partner=partner):
        assert not Invoice.objects.exists()


def test_rows_left_without_a_description_or_a_price_are_left_out(owner_client, partner):
    customer = customer_for(partner)
    data = {
        **form_data(partner, customer=customer.pk),
        **line_rows(("", "3", "", "5"), ("Support", "2", "50", "0"), ("", "", "", "")),
    }
    assert owner_client.post(reverse("invoice_create"), data).status_code == 302
    with scope(partner=partner):
        invoice = Invoice.objects.get()
        assert [(line.description, line.amount) for line in invoice.lines.all()] == [("Support", 10_000)]


def test_add_line_brings_the_page_back_with_one_more_row_and_the_typed_ones(owner_client, partner):
    body = owner_client.get(reverse("invoice_create")).content.decode()
    assert body.count('name="line-') == 3 * 4 + 4  # three blank rows, and the formset's own four fields
    assert 'name="line-TOTAL_FORMS" value="3"' in body
    data = {
        **form_data(partner, action="add_line"),
        **line_rows(("Laptop", "2", "999.99", "8.25"), *[("",) * 4] * 2),
    }
    response = owner_client.post(reverse("invoice_create"), data)
    body = response.content.decode()
    assert 'name="line-TOTAL_FORMS" value="4"' in body
    assert 'name="line-0-description" value="Laptop"' in body
    assert 'name="line-3-description"' in body
    assert "Line 4 description" in body
    assert '<p class="error"' not in body  # adding a row is not a submission


def test_a_draft_is_edited_in_the_same_rows_and_a_cleared_row_is_removed(owner_client, partner):
    draft = make_invoice(
        partner, finalize=False, lines=[("Work", "1.5", 10_000, "8.25"), ("Parts", "1", 500, "0")]
    )
    url = reverse("invoice_edit", kwargs={"invoice_id": draft.pk})
    body = owner_client.get(url).content.decode()
    assert 'name="line-0-description" value="Work"' in body
    assert 'name="line-0-quantity" value="1.5"' in body
    assert 'name="line-0-unit_price" value="100.00"' in body
    assert 'name="line-0-tax_rate" value="8.25"' in body
    assert 'name="line-TOTAL_FORMS" value="3"' in body  # its two lines and a blank one
    assert '<details class="lines" open>' in body
    data = {
        **form_data(partner, customer=draft.customer_id, action="draft"),
        **line_rows(("Work", "2", "100", "8.25"), ("", "1", "", "0"), ("", "", "", "")),
        "line-INITIAL_FORMS": "2",
    }
    assert owner_client.post(url, data).status_code == 302
    with scope(partner=partner):
        assert [(line.description, line.amount) for line in draft.lines.all()] == [("Work", 20_000)]


@pytest.mark.parametrize(
    ("management", "message"),
    [
        ({"line-TOTAL_FORMS": "101", "line-INITIAL_FORMS": "0"}, "An invoice can have at most 100 lines."),
        (
            {"line-TOTAL_FORMS": "x", "line-INITIAL_FORMS": "0"},
            "The lines could not be read. Type them again.",
        ),
        ({}, "The lines could not be read. Type them again."),
    ],
)
def test_a_tampered_lines_editor_is_refused_in_words(owner_client, partner, management, message):
    data = {**form_data(partner, customer=customer_for(partner).pk, amount="5"), **management}
    if not management:
        del data["line-TOTAL_FORMS"], data["line-INITIAL_FORMS"]
    response = owner_client.post(reverse("invoice_create"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    with scope(partner=partner):
        assert not Invoice.objects.exists()


def test_the_totals_preview_uses_the_same_rules(owner_client, partner):
    params = {
        "part": "totals",
        "currency": "USD",
        **line_rows(("A", "1", "0.10", "5"), ("B", "1", "0.10", "5")),
    }
    body = owner_client.get(
        reverse("invoice_form_preview"), params, headers={"HX-Request": "true"}
    ).content.decode()
    assert 'data-total="subtotal">$0.20<' in body
    # Tax per rate on its summed base, as a saved invoice: 5% of $0.20, not 0.005 rounded up twice.
    assert 'Tax (5% on $0.20)</dt><dd data-total="tax">$0.01<' in body
    assert 'data-total="total">$0.21<' in body


def test_customer_search_as_you_type_in_the_form(owner_client, partner):
    customer_for(partner, name="Alice Jones", email="alice@acme.example")
    customer_for(partner, name="Bob Smith", email="bob@other.example")
    body = owner_client.get(
        reverse("invoice_form_preview"), {"part": "results", "customer_query": "acme"}
    ).content.decode()
    assert "Alice Jones" in body
    assert "Bob Smith" not in body


def test_list_tabs_search_and_overdue(owner_client, partner):
    alice = customer_for(partner, name="Alice Jones")
    open_invoice = make_invoice(partner, customer=alice)
    draft = make_invoice(partner, finalize=False)
    with scope(partner=partner):
        Invoice.objects.filter(pk=open_invoice.pk).update(
            due_date=partner.today() - datetime.timedelta(days=3)
        )
    overdue = owner_client.get(reverse("invoice_list"), {"tab": "overdue"}).content.decode()
    assert "INV-0001" in overdue
    assert "Overdue" in overdue
    drafts = owner_client.get(reverse("invoice_list"), {"tab": "draft"}).content.decode()
    assert f'href="/invoices/{draft.pk}/"' in drafts
    assert "INV-0001" not in drafts
    by_name = owner_client.get(reverse("invoice_list"), {"q": "alice"}).content.decode()
    assert "INV-0001" in by_name
    by_number = owner_client.get(reverse("invoice_list"), {"q": "inv-00"}).content.decode()
    assert "INV-0001" in by_number
    assert "No invoices match" in owner_client.get(reverse("invoice_list"), {"q": "zzz"}).content.decode()
    with_nul = owner_client.get(reverse("invoice_list"), {"q": "inv-00\x00"})  # a 500 before
    assert with_nul.status_code == 400  # config.middleware.RefuseNulMiddleware
    assert "NUL character" in with_nul.content.decode()


def test_list_pages_forward_and_back_without_counting_everything(owner_client, partner):
    customer = customer_for(partner)
    for _ in range(55):
        make_invoice(partner, customer=customer)
    first = owner_client.get(reverse("invoice_list"))
    assert first.context["page"].count == 55
    assert len(first.context["page"].invoices) == 50
    second = owner_client.get(reverse("invoice_list"), {"cursor": first.context["page"].next_cursor})
    numbers = [invoice.number for invoice in second.context["page"].invoices]
    assert numbers == [f"INV-{n:04d}" for n in range(5, 0, -1)]
    back = owner_client.get(reverse("invoice_list"), {"cursor": second.context["page"].previous_cursor})
    assert [i.number for i in back.context["page"].invoices] == [
        i.number for i in first.context["page"].invoices
    ]


def test_list_rows_escape_what_people_typed(owner_client, partner):
    make_invoice(partner, customer=customer_for(partner, name="x", company='<b>Bold & "Co"</b>'))
    body = owner_client.get(reverse("invoice_list")).content.decode()
    assert "<td>&lt;b&gt;Bold &amp; &quot;Co&quot;&lt;/b&gt;</td>" in body
    assert "<b>Bold" not in body
    assert "1 invoice<" in body


def test_list_filters_by_due_date_range_and_ignores_garbage(owner_client, partner):
    make_invoice(partner, due_in_days=5)
    make_invoice(partner, due_in_days=40)
    soon = (partner.today() + datetime.timedelta(days=10)).isoformat()
    page = owner_client.get(reverse("invoice_list"), {"due_to": soon}).context["page"]
    assert [i.number for i in page.invoices] == ["INV-0001"]
    response = owner_client.get(
        reverse("invoice_list"), {"due_to": "31/02/2026", "cursor": "!!garbage", "sort": "evil"}
    )
    assert response.status_code == 200
    assert "Enter dates as YYYY-MM-DD" in response.content.decode()


def test_a_due_date_more_than_ten_years_ahead_is_refused_next_to_the_field(owner_client, partner):
    customer = customer_for(partner)
    response = post_create(
        owner_client, form_data(partner, customer=customer.pk, amount="5", due_date="9999-12-31")
    )
    assert response.status_code == 200
    assert response.context["form"].errors["due_date"] == ["The due date can be at most 10 years from today."]
    assert 'value="9999-12-31"' in response.content.decode()


@pytest.mark.parametrize("url_name", ["invoice_list", "invoice_create", "recurring_create"])
def test_a_customer_id_that_is_not_a_plain_number_is_ignored(owner_client, partner, url_name):
    assert owner_client.get(reverse(url_name), {"customer": "²"}).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_list_reads_outside_a_transaction_and_writes_stay_atomic(owner_client, partner, monkeypatch):
    """ATOMIC_REQUESTS is skipped for the list (it only reads) and kept for every write."""
    invoice = make_invoice(partner)
    seen = {}

    def spy(name, selector):
        def wrapped(**kwargs):
            seen[name] = connection.in_atomic_block
            return selector(**kwargs)

        monkeypatch.setattr(selectors, name, wrapped)

    spy("invoice_page", selectors.invoice_page)
    spy("invoice_get", selectors.invoice_get)
    assert owner_client.get(reverse("invoice_list")).status_code == 200
    owner_client.post(reverse("invoice_memo", kwargs={"invoice_id": invoice.pk}), {"memo": "Thanks"})
    assert seen == {"invoice_page": False, "invoice_get": True}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("url_name", "module", "reader"),
    [("invoice_detail", selectors, "invoice_get"), ("reports", reports, "cash_by_week")],
)
def test_the_detail_and_reports_pages_read_outside_a_transaction(
    owner_client, partner, monkeypatch, url_name, module, reader
):
    invoice = make_invoice(partner)
    seen = []
    read = getattr(module, reader)

    def spy(**kwargs):
        seen.append(connection.in_atomic_block)
        return read(**kwargs)

    monkeypatch.setattr(module, reader, spy)
    kwargs = {"invoice_id": invoice.pk} if url_name == "invoice_detail" else {}
    assert owner_client.get(reverse(url_name, kwargs=kwargs)).status_code == 200
    assert seen == [False]


def test_detail_actions_finalize_pay_credit_void(owner_client, partner):
    draft = make_invoice(partner, finalize=False, lines=[("Work", "1", 10_000, "0")])
    url = reverse("invoice_detail", kwargs={"invoice_id": draft.pk})
    owner_client.post(reverse("invoice_finalize", kwargs={"invoice_id": draft.pk}))
    body = owner_client.get(url).content.decode()
    assert "Invoice INV-0001" in body
    response = owner_client.post(
        reverse("invoice_record_payment", kwargs={"invoice_id": draft.pk}),
        {
            "amount": "200.00",
            "method": "check",
            "received_on": partner.today().isoformat(),
            "reference": "#1001",
            "idempotency_key": new_key(),  # made when the page drew the form
        },
    )
    assert "That is more than the $100.00 still due." in response.content.decode()
    owner_client.post(
        reverse("invoice_record_payment", kwargs={"invoice_id": draft.pk}),
        {
            "amount": "40",
            "method": "check",
            "received_on": partner.today().isoformat(),
            "reference": "#1001",
            "idempotency_key": new_key(),
        },
    )
    owner_client.post(
        reverse("invoice_credit_note", kwargs={"invoice_id": draft.pk}),
        {"amount": "10", "reason": "Discount", "idempotency_key": new_key()},
    )
    body = owner_client.get(url).content.decode()
    assert "$40.00" in body  # paid
    assert "$50.00" in body  # due
    assert "CN-0001" in body
    assert "Payment recorded" in body  # the timeline
    response = owner_client.post(reverse("invoice_void", kwargs={"invoice_id": draft.pk}), follow=True)
    assert "This invoice has payments" in response.content.decode()


def test_members_create_but_read_only_people_cannot(partner):
    reader = client_for(member_of(partner, Role.READ_ONLY).user)
    customer = customer_for(partner)
    assert post_create(reader, form_data(partner, customer=customer.pk, amount="5")).status_code == 403
    member = client_for(member_of(partner, Role.MEMBER).user)
    assert post_create(member, form_data(partner, customer=customer.pk, amount="5")).status_code == 302


def test_another_partners_customer_id_cannot_be_invoiced(owner_client, partner, other_partner):
    stranger = customer_for(other_partner)
    response = post_create(owner_client, form_data(partner, customer=stranger.pk, amount="5"))
    assert response.status_code == 200
    assert "Choose a customer" in response.content.decode()


def test_invoice_settings_number_scheme_and_terms(owner_client, partner):
    data = {
        "payment_terms_days": "15",
        "default_memo": "Thank you",
        "default_footer": "Bank: 123",
        "invoice_number_prefix": "NW-",
        "invoice_number_padding": "5",
        "credit_note_prefix": "CR-",
        "next_number": "100",
    }
    assert owner_client.post(reverse("settings_invoicing"), data).status_code == 302
    page = owner_client.get(reverse("settings_invoicing")).content.decode()
    assert "NW-00100" in page
    form_page = owner_client.get(reverse("invoice_create")).content.decode()
    assert "Thank you" in form_page
    assert (partner.today() + datetime.timedelta(days=15)).isoformat() in form_page
    response = owner_client.post(reverse("settings_invoicing"), {**data, "next_number": "5"})
    assert "can only go up" in response.content.decode()
    response = owner_client.post(reverse("settings_invoicing"), {**data, "invoice_number_prefix": "N W"})
    assert "without spaces" in response.content.decode()


@pytest.mark.parametrize("padding", ["99999999999999999999", "40"])
def test_a_refused_number_padding_shows_an_error_and_the_saved_example(owner_client, partner, padding):
    data = {"payment_terms_days": "30", "invoice_number_prefix": "INV-", "credit_note_prefix": "CN-"}
    response = owner_client.post(
        reverse("settings_invoicing"), {**data, "invoice_number_padding": padding, "next_number": "7"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["invoice_number_padding"]
    assert response.context["example"] == "INV-0001"  # the saved scheme, not the refused one
    partner.refresh_from_db()
    assert partner.invoice_number_padding == 4


def test_create_invoice_from_a_customer_page_starts_with_that_customer(owner_client, partner, other_partner):
    customer = customer_for(partner, name="Prefilled Person")
    body = owner_client.get(reverse("invoice_create"), {"customer": customer.pk}).content.decode()
    assert "Prefilled Person" in body
    assert f'name="customer" value="{customer.pk}"' in body
    stranger = customer_for(other_partner, name="Stranger Danger")
    body = owner_client.get(reverse("invoice_create"), {"customer": stranger.pk}).content.decode()
    assert "Stranger Danger" not in body


def test_an_absurd_total_is_refused_in_words_not_a_database_error(owner_client, partner):
    customer = customer_for(partner)
    data = {
        **form_data(partner, customer=customer.pk),
        **line_rows(("Everything", "999999999", "99999999999.99", "100")),
    }
    response = owner_client.post(reverse("invoice_create"), data)
    assert response.status_code == 200
    assert "too large for one invoice" in response.content.decode()


def test_money_action_forms_are_drawn_on_request_not_with_every_view(owner_client, partner):
    invoice = make_invoice(partner)
    page = owner_client.get(reverse("invoice_detail", args=[invoice.pk])).content.decode()
    assert 'name="received_on"' not in page  # the offline payment form: not drawn with the page
    form_url = reverse("invoice_action_form", args=[invoice.pk, "payment"])
    assert f'hx-get="{form_url}"' in page
    assert f'href="{reverse("invoice_detail", args=[invoice.pk])}?open=payment' in page  # no JavaScript
    drawn = owner_client.get(form_url).content.decode()
    assert 'name="received_on"' in drawn
    opened = owner_client.get(reverse("invoice_detail", args=[invoice.pk]) + "?open=payment")
    assert 'name="received_on"' in opened.content.decode()
    assert owner_client.get(reverse("invoice_action_form", args=[invoice.pk, "nothing"])).status_code == 404


def test_a_read_only_member_gets_no_money_action_form(partner):
    invoice = make_invoice(partner)
    reader = client_for(member_of(partner, Role.READ_ONLY).user)
    assert reader.get(reverse("invoice_action_form", args=[invoice.pk, "payment"])).status_code == 403


def test_a_form_the_invoice_does_not_allow_says_why(owner_client, partner):
    invoice = make_invoice(partner, finalize=False)
    body = owner_client.get(reverse("invoice_action_form", args=[invoice.pk, "payment"])).content.decode()
    assert "Reload the invoice" in body
