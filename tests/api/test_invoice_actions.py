"""Invoice actions through the API, each with its effect: the state and the money as the pages' services
leave them, the emails queued, the timeline, and the webhook events written in the same transaction."""

import datetime

import pytest
from django.core import mail
from django.test import Client
from django_scopes import scope, scopes_disabled

from api.models import WebhookEndpoint, WebhookEvent
from api.webhooks.catalogue import EVENT_TYPES
from invoicing.models import CreditNote, EventKind, Invoice, InvoiceStatus
from payments.gateways.sandbox.models import SandboxCharge
from payments.models import AttemptStatus, PayLink, Payment, Refund
from reminders.models import EmailStatus, Notification, NotificationKind, OutboundEmail
from tests.api.conftest import Api, new_key
from tests.factories.invoicing import customer_for, make_invoice
from tests.factories.payments import card_for


def _subscribe(partner) -> None:
    with scope(partner=partner):
        WebhookEndpoint.objects.create(
            partner=partner, url="https://example.com/h", event_types=list(EVENT_TYPES)
        )


def _event_types(partner) -> list[str]:
    with scopes_disabled():
        return list(
            WebhookEvent.objects.filter(partner=partner).order_by("id").values_list("type", flat=True)
        )


def _invoice(invoice) -> Invoice:
    with scopes_disabled():
        return Invoice.objects.get(pk=invoice.pk)


def _kinds(api, invoice) -> list[str]:
    return [event["kind"] for event in api.get(f"/invoices/{invoice.pk}/events").json()["data"]]


@pytest.mark.django_db
class TestStateChanges:
    def test_void_voids_an_open_invoice_once(self, api, partner):
        invoice = make_invoice(partner)
        _subscribe(partner)
        voided = api.post(f"/invoices/{invoice.pk}/void")
        assert voided.status_code == 200, voided.content
        assert (voided.json()["status"], voided.json()["amount_due"]) == ("void", 0)
        assert voided.json()["voided_at"].endswith("Z")
        assert _invoice(invoice).status == InvoiceStatus.VOID
        assert _event_types(partner) == ["invoice.voided"]
        assert _kinds(api, invoice)[0] == EventKind.VOIDED
        again = api.post(f"/invoices/{invoice.pk}/void")
        assert again.status_code == 409
        assert again["Content-Type"] == "application/problem+json"
        assert _event_types(partner) == ["invoice.voided"]

    def test_mark_uncollectible_writes_off_an_open_invoice_but_not_a_draft(self, api, partner):
        invoice = make_invoice(partner)
        _subscribe(partner)
        response = api.post(f"/invoices/{invoice.pk}/mark_uncollectible")
        assert response.status_code == 200
        assert response.json()["status"] == "uncollectible"
        assert _invoice(invoice).uncollectible_at is not None
        assert _event_types(partner) == ["invoice.marked_uncollectible"]
        assert _kinds(api, invoice)[0] == EventKind.UNCOLLECTIBLE
        draft = make_invoice(partner, finalize=False)
        assert api.post(f"/invoices/{draft.pk}/mark_uncollectible").status_code == 409
        assert _invoice(draft).status == InvoiceStatus.DRAFT

    def test_send_queues_the_email_and_invoice_sent_follows_the_providers_acceptance(
        self, api, partner, django_capture_on_commit_callbacks
    ):
        customer = customer_for(partner, email="ada@example.com", cc_emails=["books@example.com"])
        invoice = make_invoice(partner, customer=customer)
        _subscribe(partner)
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=False) as queued:
            response = api.post(f"/invoices/{invoice.pk}/send")
        assert response.status_code == 202, response.content
        assert response.json()["to"] == ["ada@example.com"]
        assert response.json()["cc"] == ["books@example.com"]
        with scopes_disabled():
            email = OutboundEmail.objects.get(pk=response.json()["id"])
        assert (email.kind, email.status, email.invoice_id) == (
            NotificationKind.INVOICE,
            EmailStatus.QUEUED,
            invoice.pk,
        )
        assert "invoice.sent" not in _event_types(partner)  # not before the provider took it
        with django_capture_on_commit_callbacks(execute=True):
            for callback in queued:
                callback()
        assert [message.to for message in mail.outbox] == [["ada@example.com"]]
        assert _event_types(partner).count("invoice.sent") == 1
        assert EventKind.SENT in _kinds(api, invoice)
        draft = make_invoice(partner, finalize=False)
        assert api.post(f"/invoices/{draft.pk}/send").status_code == 409

    def test_an_offline_payment_part_then_the_rest_with_the_excess_kept_as_credit(self, api, partner):
        invoice = make_invoice(partner)
        _subscribe(partner)
        part = api.post(
            f"/invoices/{invoice.pk}/payments", {"amount": 4_000, "method": "check", "reference": "#1001"}
        )
        assert part.status_code == 201, part.content
        assert (part.json()["amount"], part.json()["method"], part.json()["reference"]) == (
            4_000,
            "check",
            "#1001",
        )
        assert (_invoice(invoice).amount_paid, _invoice(invoice).amount_due) == (4_000, 6_000)
        assert _event_types(partner) == ["payment.succeeded", "invoice.partially_paid"]
        too_much = api.post(f"/invoices/{invoice.pk}/payments", {"amount": 6_001, "method": "cash"})
        assert too_much.status_code == 422
        assert too_much.json()["errors"][0]["field"] == "amount"
        tomorrow = (partner.today() + datetime.timedelta(days=1)).isoformat()
        future = api.post(
            f"/invoices/{invoice.pk}/payments", {"amount": 1, "method": "cash", "received_on": tomorrow}
        )
        assert future.json()["errors"][0]["field"] == "received_on"
        rest = api.post(
            f"/invoices/{invoice.pk}/payments",
            {"amount": 6_500, "method": "cash", "keep_excess_as_credit": True},
        )
        assert rest.status_code == 201
        after = _invoice(invoice)
        assert (after.status, after.amount_paid, after.amount_due) == (InvoiceStatus.PAID, 10_000, 0)
        assert sorted(_event_types(partner)[2:]) == ["invoice.paid", "payment.succeeded"]
        assert EventKind.PAYMENT_RECORDED in _kinds(api, invoice)

    def test_a_credit_note_reduces_what_is_due_and_crediting_the_rest_voids(self, api, partner):
        invoice = make_invoice(partner)
        _subscribe(partner)
        note = api.post(f"/invoices/{invoice.pk}/credit_notes", {"amount": 3_000, "reason": "Seat removed"})
        assert note.status_code == 201, note.content
        assert (note.json()["amount"], note.json()["currency"], note.json()["invoice_id"]) == (
            3_000,
            "USD",
            invoice.pk,
        )
        assert note.json()["number"]
        assert (_invoice(invoice).amount_credited, _invoice(invoice).amount_due) == (3_000, 7_000)
        over = api.post(f"/invoices/{invoice.pk}/credit_notes", {"amount": 7_001, "reason": "Too much"})
        assert over.status_code == 422
        assert over.json()["errors"][0]["field"] == "amount"
        blank = api.post(f"/invoices/{invoice.pk}/credit_notes", {"amount": 1, "reason": " "})
        assert blank.json()["errors"][0]["field"] == "reason"
        rest = api.post(f"/invoices/{invoice.pk}/credit_notes", {"amount": 7_000, "reason": "Cancelled"})
        assert rest.status_code == 201
        assert _invoice(invoice).status == InvoiceStatus.VOID
        with scopes_disabled():
            assert CreditNote.objects.filter(invoice=invoice).count() == 2
        assert _event_types(partner) == ["invoice.voided"]
        assert _kinds(api, invoice).count(EventKind.CREDIT_NOTE) == 2

    def test_reissuing_the_pay_link_stops_every_earlier_link(self, api, partner):
        invoice = make_invoice(partner)
        with scopes_disabled():
            earlier = PayLink.objects.get(invoice=invoice)
        first = api.post(f"/invoices/{invoice.pk}/pay_link")
        second = api.post(f"/invoices/{invoice.pk}/pay_link")
        assert first.status_code == second.status_code == 201
        first_url, second_url = first.json()["pay_url"], second.json()["pay_url"]
        assert first_url != second_url
        with scopes_disabled():
            links = list(PayLink.objects.filter(invoice=invoice).order_by("id"))
        assert [link.revoked_at is not None for link in links] == [True, True, False]
        assert links[0].pk == earlier.pk
        path = "/" + second_url.split("://", 1)[1].split("/", 1)[1]
        assert Client().get(path).status_code == 200
        assert _kinds(api, invoice).count(EventKind.PAY_LINK_REISSUED) == 2
        draft = make_invoice(partner, finalize=False)
        refused = api.post(f"/invoices/{draft.pk}/pay_link")
        assert refused.status_code == 409
        with scopes_disabled():
            assert not PayLink.objects.filter(invoice=draft).exists()

    def test_the_pdf_downloads_as_an_attachment_named_by_number(self, api, partner):
        invoice = make_invoice(partner)
        response = api.get(f"/invoices/{invoice.pk}/pdf")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
        assert response["Content-Disposition"] == f'attachment; filename="{_invoice(invoice).number}.pdf"'
        draft = make_invoice(partner, finalize=False)
        assert f"draft-{draft.pk}.pdf" in api.get(f"/invoices/{draft.pk}/pdf")["Content-Disposition"]

    def test_the_timeline_lists_the_invoices_events_newest_first_with_system_as_actor(self, api, partner):
        invoice = make_invoice(partner)
        api.post(f"/invoices/{invoice.pk}/payments", {"amount": 100, "method": "cash"})
        api.patch(f"/invoices/{invoice.pk}", {"memo": "Thanks"})
        page = api.get(f"/invoices/{invoice.pk}/events").json()
        kinds = [event["kind"] for event in page["data"]]
        assert kinds[:2] == [EventKind.MEMO_CHANGED, EventKind.PAYMENT_RECORDED]
        assert kinds[-2:] == [EventKind.FINALIZED, EventKind.CREATED]
        assert page["data"][0]["actor"] == "System"
        assert page["data"][0]["created_at"].endswith("Z")
        assert page["next_cursor"] is None
        ids = [event["id"] for event in page["data"]]
        assert ids == sorted(ids, reverse=True)


@pytest.mark.django_db
@pytest.mark.usefixtures("unscoped")
class TestIssue:
    def _draft(self, partner, **options):
        customer = customer_for(partner)
        default = card_for(customer)
        other = card_for(customer, "5555555555554444", default=False)
        return make_invoice(partner, customer=customer, finalize=False, **options), default, other

    def test_charge_later_leaves_it_open_with_a_pay_link_and_no_charge(self, api, partner):
        draft, _, _ = self._draft(partner)
        _subscribe(partner)
        issued = api.post(f"/invoices/{draft.pk}/issue", {"payment_option": "charge_later"})
        assert issued.status_code == 200, issued.content
        body = issued.json()
        assert (body["status"], body["payment_option"], body["amount_due"]) == (
            "open",
            "charge_later",
            10_000,
        )
        assert body["number"]
        assert body["pay_url"].startswith("http")
        invoice = _invoice(draft)
        assert (invoice.attempts.count(), invoice.next_charge_at) == (0, None)
        assert _event_types(partner) == ["invoice.issued"]
        assert api.post(f"/invoices/{draft.pk}/issue").status_code == 409  # once only

    def test_email_payment_link_plans_the_invoice_email_now(self, api, partner):
        draft, _, _ = self._draft(partner)
        issued = api.post(f"/invoices/{draft.pk}/issue", {"payment_option": "email_payment_link"})
        assert issued.json()["status"] == "open"
        with scopes_disabled():
            planned = Notification.objects.get(invoice=draft, kind=NotificationKind.INVOICE)
        assert planned.send_at <= datetime.datetime.now(datetime.UTC)
        assert _invoice(draft).attempts.count() == 0

    def test_charge_on_due_date_schedules_the_charge_for_the_due_dates_midnight(self, api, partner):
        draft, _, _ = self._draft(partner)
        issued = api.post(f"/invoices/{draft.pk}/issue", {"payment_option": "charge_on_due_date"})
        assert issued.json()["status"] == "open"
        invoice = _invoice(draft)
        assert invoice.next_charge_at == datetime.datetime.combine(
            invoice.due_date, datetime.time(0), tzinfo=partner.zone
        )
        assert invoice.attempts.count() == 0

    def test_charge_now_charges_the_default_card_and_the_invoice_is_paid(
        self, api, partner, django_capture_on_commit_callbacks
    ):
        draft, default, _ = self._draft(partner)
        _subscribe(partner)
        with django_capture_on_commit_callbacks(execute=True):
            issued = api.post(f"/invoices/{draft.pk}/issue", {"payment_option": "charge_now"})
        assert issued.status_code == 200, issued.content
        invoice = _invoice(draft)
        with scopes_disabled():
            attempt = invoice.attempts.get()
        assert (attempt.status, attempt.payment_method_id) == (AttemptStatus.SUCCEEDED, default.pk)
        assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.PAID, 10_000)
        assert (
            SandboxCharge.objects.using("sandbox").get(idempotency_key=attempt.idempotency_key).amount
            == 10_000
        )
        assert {"invoice.issued", "invoice.paid", "payment.succeeded"} <= set(_event_types(partner))
        assert _event_types(partner).count("invoice.paid") == 1

    def test_charge_method_on_file_charges_the_method_chosen_when_issuing(
        self, api, partner, django_capture_on_commit_callbacks
    ):
        draft, _, other = self._draft(partner)
        with django_capture_on_commit_callbacks(execute=True):
            issued = api.post(
                f"/invoices/{draft.pk}/issue",
                {"payment_option": "charge_method_on_file", "payment_method_id": other.pk},
            )
        assert issued.status_code == 200, issued.content
        assert issued.json()["payment_method_id"] == other.pk
        with scopes_disabled():
            attempt = _invoice(draft).attempts.get()
        assert attempt.payment_method_id == other.pk
        assert _invoice(draft).status == InvoiceStatus.PAID

    def test_a_method_the_customer_does_not_have_is_refused_and_the_draft_stays(
        self, api, partner, other_partner
    ):
        draft, _, _ = self._draft(partner)
        foreign = card_for(customer_for(other_partner))
        refused = api.post(
            f"/invoices/{draft.pk}/issue",
            {"payment_option": "charge_method_on_file", "payment_method_id": foreign.pk},
        )
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "payment_method_id"
        assert _invoice(draft).status == InvoiceStatus.DRAFT


@pytest.mark.django_db
def test_payments_and_refunds_read_and_list_by_invoice_and_customer(api, partner):
    ada, grace = customer_for(partner), customer_for(partner)
    first = make_invoice(partner, customer=ada)
    second = make_invoice(partner, customer=grace)
    a = api.post(f"/invoices/{first.pk}/payments", {"amount": 1_000, "method": "check"}).json()
    b = api.post(f"/invoices/{second.pk}/payments", {"amount": 2_000, "method": "cash"}).json()
    with scope(partner=partner):
        refund = Refund.objects.create(
            partner=partner, payment_id=b["id"], invoice=second, amount=500, currency="USD", reason="x"
        )
    assert [p["id"] for p in api.get("/payments").json()["data"]] == [b["id"], a["id"]]
    assert [p["id"] for p in api.get("/payments", {"invoice_id": first.pk}).json()["data"]] == [a["id"]]
    assert [p["id"] for p in api.get("/payments", {"customer_id": grace.pk}).json()["data"]] == [b["id"]]
    read = api.get(f"/payments/{a['id']}").json()
    assert (read["amount"], read["currency"], read["customer_id"], read["invoice_id"]) == (
        1_000,
        "USD",
        ada.pk,
        first.pk,
    )
    assert [r["id"] for r in api.get("/refunds").json()["data"]] == [refund.pk]
    assert api.get("/refunds", {"customer_id": ada.pk}).json()["data"] == []
    assert api.get("/refunds", {"invoice_id": second.pk}).json()["data"][0]["amount"] == 500
    assert api.get(f"/refunds/{refund.pk}").json()["payment_id"] == b["id"]
    assert api.get("/payments/999999").status_code == 404


# Refunds commit before they call the gateway: these tests run with real commits.


@pytest.mark.django_db(transaction=True)
def test_refunds_partial_then_over_the_charge_refused_and_a_retry_refunds_once(partner):
    api = Api(new_key(partner))
    customer = customer_for(partner)
    card_for(customer)
    draft = make_invoice(partner, customer=customer, finalize=False)
    _subscribe(partner)
    assert api.post(f"/invoices/{draft.pk}/issue", {"payment_option": "charge_now"}).status_code == 200
    with scopes_disabled():
        payment = Payment.objects.get(invoice=draft)
    url = f"/payments/{payment.pk}/refunds"
    body = {"amount": 3_000, "reason": "Cancelled seat"}
    partial = api.post(url, body, headers={"Idempotency-Key": "refund-1"})
    assert partial.status_code == 201, partial.content
    assert (partial.json()["status"], partial.json()["amount"]) == ("succeeded", 3_000)
    retried = api.post(url, body, headers={"Idempotency-Key": "refund-1"})
    assert retried.json()["id"] == partial.json()["id"]
    invoice = _invoice(draft)
    assert (invoice.status, invoice.amount_refunded, invoice.amount_credited, invoice.amount_due) == (
        InvoiceStatus.PAID,
        3_000,
        3_000,
        0,
    )
    over = api.post(url, {"amount": 7_001, "reason": "Everything"})
    assert over.status_code == 422, over.content
    assert over.json()["errors"][0]["field"] == "amount"
    charge = SandboxCharge.objects.using("sandbox").get(charge_id=payment.gateway_charge_id)
    assert charge.amount_refunded == 3_000
    with scopes_disabled():
        assert Refund.objects.count() == 1
    assert _event_types(partner).count("payment.refunded") == 1
    assert api.get(f"/payments/{payment.pk}").json()["amount_refunded"] == 3_000
    assert EventKind.REFUNDED in _kinds(api, draft)
