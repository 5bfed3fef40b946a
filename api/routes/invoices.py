"""Invoices: the same services as the invoice pages (invoicing.services for the lifecycle,
payments.services for money, reminders.services for Send, payments.portal for pay links)."""

import datetime
from typing import Literal

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from ninja import Query, Router, Schema, Status

from api.pagination import page_by_id
from api.problems import Problem
from api.routes.common import (
    LINES_FIELDS,
    body_customer,
    body_lines,
    body_method,
    call_service,
    check_if_match,
    etag,
    stored_lines,
)
from api.schemas import (
    CreditNoteIn,
    CreditNoteOut,
    EventPage,
    Id,
    InvoiceCreate,
    InvoiceIssue,
    InvoiceIssued,
    InvoiceOut,
    InvoicePage,
    InvoiceUpdate,
    OfflinePaymentIn,
    PayLinkOut,
    PaymentOut,
    SendOut,
    Text,
)
from api.serializers import invoice_data
from invoicing import selectors, services
from invoicing.forms import default_due_date, default_payment_option
from invoicing.models import Invoice, InvoiceAction, InvoiceEvent, PaymentOption
from invoicing.pdf import invoice_pdf_get
from invoicing.services import InvoiceInput
from payments.portal.services import pay_link_reissue
from payments.services import payment_record_offline
from reminders.selectors import bounced_emails
from reminders.services import invoice_send

router = Router(tags=["Invoices"])


def _invoice(request, invoice_id: int) -> Invoice:
    return selectors.invoice_get(partner=request.partner, invoice_id=invoice_id)


def invoice_etag(invoice: Invoice) -> str:
    return etag(f"v{invoice.version}")


class InvoiceFilters(Schema):
    status: Literal[tuple(selectors.TABS)] = "all"  # type: ignore[valid-type]
    q: Text(100) = ""
    customer_id: Id | None = None
    currency: Text(3) = ""
    due_from: datetime.date | None = None
    due_to: datetime.date | None = None
    paid_from: datetime.date | None = None
    paid_to: datetime.date | None = None
    bounced: bool = False
    sort: Literal[tuple(selectors.SORTS)] = "-created"  # type: ignore[valid-type]
    cursor: Text(300) | None = None


@router.get("", response=InvoicePage, summary="List invoices")
def invoice_list(request, filters: Query[InvoiceFilters]):
    """The invoice list's filters (status tabs, search by number or customer, dates, currency), 50 a page
    in the chosen order. `status=overdue` and `status=attention` are the list's tabs of those names."""
    partner = request.partner
    if filters.cursor and not selectors.invoice_cursor_valid(cursor=filters.cursor, sort=filters.sort):
        raise Problem(
            400,
            "This cursor is not one the API gave.",
            errors=[{"field": "cursor", "message": "Invalid cursor."}],
        )
    page = selectors.invoice_page(
        partner=partner,
        filters=selectors.InvoiceFilters(
            tab=filters.status,
            query=filters.q,
            customer_id=filters.customer_id,
            due_from=filters.due_from,
            due_to=filters.due_to,
            sort=filters.sort,
            currency=filters.currency.upper(),
            paid_from=filters.paid_from,
            paid_to=filters.paid_to,
            bounced=filters.bounced,
            within=bounced_emails(partner=partner).values("invoice_id") if filters.bounced else None,
        ),
        cursor=filters.cursor or "",
    )
    return {
        "data": page.invoices,
        "next_cursor": page.next_cursor,
        "previous_cursor": page.previous_cursor,
        "count": page.count,
        "count_is_capped": page.count_is_capped,
    }


@router.post("", response={201: InvoiceOut}, summary="Create a draft invoice")
def invoice_create(request, payload: InvoiceCreate, response: HttpResponse):
    partner = request.partner
    customer = body_customer(request, payload.customer_id)
    data = InvoiceInput(
        customer=customer,
        due_date=payload.due_date or default_due_date(partner),
        currency=payload.currency or partner.default_currency,
        lines=body_lines(payload.lines),
        payment_option=PaymentOption(payload.payment_option or default_payment_option(customer)),
        payment_method=body_method(customer, payload.payment_method_id),
        memo=partner.default_memo if payload.memo is None else payload.memo,
        footer=partner.default_footer if payload.footer is None else payload.footer,
    )
    invoice = call_service(
        services.invoice_create,
        api_fields=LINES_FIELDS,
        partner=partner,
        data=data,
        created_by=None,
        finalize=False,
    )
    response["ETag"] = invoice_etag(invoice)
    return Status(201, invoice_data(invoice))


@router.get("/{invoice_id}", response=InvoiceOut, summary="Read an invoice")
def invoice_read(request, invoice_id: Id, response: HttpResponse):
    invoice = _invoice(request, invoice_id)
    response["ETag"] = invoice_etag(invoice)
    return invoice_data(invoice)


@router.patch("/{invoice_id}", response=InvoiceOut, summary="Update a draft (or an issued invoice's memo)")
def invoice_update(request, invoice_id: Id, payload: InvoiceUpdate, response: HttpResponse):
    """A draft takes any field; lines, when sent, replace all lines. An issued invoice is frozen except
    for its memo. With `If-Match: <ETag>`, a change made meanwhile answers 412."""
    invoice = services.invoice_lock(_invoice(request, invoice_id))
    check_if_match(request, invoice_etag(invoice))
    changes = payload.model_dump(exclude_unset=True)
    if not invoice.is_draft:
        if set(changes) - {"memo"}:
            raise Problem(409, invoice.refusal(InvoiceAction.EDIT))
        if changes.get("memo") is not None:
            invoice = services.invoice_update_memo(invoice=invoice, memo=changes["memo"], actor=None)
    else:
        customer = body_customer(request, payload.customer_id) if payload.customer_id else invoice.customer
        method_id = changes.get("payment_method_id", invoice.payment_method_id)
        data = InvoiceInput(
            customer=customer,
            due_date=payload.due_date or invoice.due_date,
            currency=payload.currency or invoice.currency,
            lines=body_lines(payload.lines) if payload.lines else stored_lines(invoice.lines.all()),
            payment_option=PaymentOption(payload.payment_option or invoice.payment_option),
            payment_method=body_method(customer, method_id) if method_id else None,
            memo=invoice.memo if payload.memo is None else payload.memo,
            footer=invoice.footer if payload.footer is None else payload.footer,
        )
        invoice = call_service(
            services.invoice_update_draft, api_fields=LINES_FIELDS, invoice=invoice, data=data, actor=None
        )
    response["ETag"] = invoice_etag(invoice)
    return invoice_data(invoice)


@router.post("/{invoice_id}/issue", response=InvoiceIssued, summary="Issue (finalize) a draft")
def invoice_issue(request, invoice_id: Id, payload: InvoiceIssue | None = None):
    """Numbers the draft and starts collection with its payment option (or the one sent here): charge
    later, charge now, charge on the due date, email a payment link, or charge a method on file. The
    answer carries the customer's pay link, shown this once."""
    invoice = _invoice(request, invoice_id)
    if payload is not None and (payload.payment_option or payload.payment_method_id):
        if refusal := invoice.refusal(InvoiceAction.FINALIZE):
            raise Problem(409, refusal)
        option = payload.payment_option or invoice.payment_option
        method_id = payload.payment_method_id or invoice.payment_method_id
        data = InvoiceInput(
            customer=invoice.customer,
            due_date=invoice.due_date,
            currency=invoice.currency,
            lines=stored_lines(invoice.lines.all()),
            payment_option=PaymentOption(option),
            payment_method=body_method(invoice.customer, method_id) if method_id else None,
            memo=invoice.memo,
            footer=invoice.footer,
        )
        invoice = call_service(
            services.invoice_update_draft, api_fields=LINES_FIELDS, invoice=invoice, data=data, actor=None
        )
    invoice = call_service(services.invoice_finalize, api_fields=LINES_FIELDS, invoice=invoice, actor=None)
    return {**invoice_data(invoice), "pay_url": getattr(invoice, "fresh_pay_url", None)}


def _transition(request, invoice_id: int, service):
    invoice = call_service(service, invoice=_invoice(request, invoice_id), actor=None)
    return invoice_data(invoice)


@router.post("/{invoice_id}/void", response=InvoiceOut, summary="Void an invoice")
def invoice_void(request, invoice_id: Id):
    return _transition(request, invoice_id, services.invoice_void)


@router.post("/{invoice_id}/mark_uncollectible", response=InvoiceOut, summary="Mark an invoice uncollectible")
def invoice_mark_uncollectible(request, invoice_id: Id):
    return _transition(request, invoice_id, services.invoice_mark_uncollectible)


@router.post("/{invoice_id}/send", response={202: SendOut}, summary="Email the invoice to the customer")
def invoice_send_email(request, invoice_id: Id):
    """Queued now; `invoice.sent` follows once the email provider accepts it."""
    email = call_service(invoice_send, invoice=_invoice(request, invoice_id), actor=None)
    return Status(202, {"id": email.pk, "to": email.to, "cc": email.cc, "status": email.status})


@router.post("/{invoice_id}/payments", response={201: PaymentOut}, summary="Record an offline payment")
def invoice_record_payment(request, invoice_id: Id, payload: OfflinePaymentIn):
    """A check, bank transfer, cash or other money received outside the payment processor."""
    invoice = _invoice(request, invoice_id)
    payment = call_service(
        payment_record_offline,
        invoice=invoice,
        amount=payload.amount,
        method=payload.method,
        received_on=payload.received_on or request.partner.today(),
        reference=payload.reference.strip(),
        keep_excess_as_credit=payload.keep_excess_as_credit,
        actor=None,
    )
    return Status(201, payment)


@router.post("/{invoice_id}/credit_notes", response={201: CreditNoteOut}, summary="Issue a credit note")
def invoice_credit_note(request, invoice_id: Id, payload: CreditNoteIn):
    note = call_service(
        services.credit_note_create,
        invoice=_invoice(request, invoice_id),
        amount=payload.amount,
        reason=payload.reason,
        actor=None,
    )
    return Status(201, note)


@router.post("/{invoice_id}/pay_link", response={201: PayLinkOut}, summary="Reissue the pay link")
def invoice_pay_link(request, invoice_id: Id):
    """A new pay link for the customer, shown this once; every earlier link stops working."""
    url = call_service(pay_link_reissue, invoice=_invoice(request, invoice_id), actor=None)
    return Status(201, {"pay_url": url})


@router.get(
    "/{invoice_id}/pdf",
    response={200: None},
    summary="Download the PDF",
    openapi_extra={
        "responses": {
            200: {
                "description": "The invoice as a PDF.",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def invoice_pdf(request, invoice_id: Id):
    invoice = _invoice(request, invoice_id)
    response = HttpResponse(invoice_pdf_get(invoice=invoice), content_type="application/pdf")
    filename = f"{invoice.number or f'draft-{invoice.pk}'}.pdf"
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response


class CursorQuery(Schema):
    cursor: Text(300) | None = None


@router.get("/{invoice_id}/events", response=EventPage, summary="The invoice's timeline")
def invoice_events(request, invoice_id: Id, params: Query[CursorQuery]):
    invoice = _invoice(request, invoice_id)
    events = InvoiceEvent.objects.filter(partner=request.partner, invoice=invoice).select_related("actor")
    rows, next_cursor = page_by_id(events, cursor=params.cursor)
    return {
        "data": [
            {
                "id": event.pk,
                "kind": event.kind,
                "message": event.message,
                "actor": str(event.actor) if event.actor else event.actor_label,
                "created_at": event.created_at,
            }
            for event in rows
        ],
        "next_cursor": next_cursor,
    }
