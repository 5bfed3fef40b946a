"""Payments and refunds: reads, and refunds through payments.services.refund_create."""

import hashlib

from django.core.exceptions import ValidationError
from django.http import Http404
from ninja import Query, Router, Schema, Status

from api.http import idempotency_key_of
from api.pagination import page_by_id
from api.problems import Problem, service_problem
from api.schemas import Id, PaymentOut, PaymentPage, RefundIn, RefundOut, RefundPage, Text
from payments.models import Payment, Refund
from payments.services import refund_create

router = Router(tags=["Payments and refunds"])


class PaymentFilters(Schema):
    invoice_id: Id | None = None
    customer_id: Id | None = None
    cursor: Text(300) | None = None


def _filtered(queryset, filters: PaymentFilters):
    if filters.invoice_id:
        queryset = queryset.filter(invoice_id=filters.invoice_id)
    if filters.customer_id and hasattr(queryset.model, "customer_id"):
        queryset = queryset.filter(customer_id=filters.customer_id)
    return queryset


def _payment(request, payment_id: int) -> Payment:
    try:
        return Payment.objects.select_related("invoice").get(partner=request.partner, pk=payment_id)
    except Payment.DoesNotExist:
        raise Http404("No such payment.") from None


@router.get("/payments", response=PaymentPage, summary="List payments")
def payment_list(request, filters: Query[PaymentFilters]):
    rows, next_cursor = page_by_id(
        _filtered(Payment.objects.filter(partner=request.partner), filters), cursor=filters.cursor
    )
    return {"data": rows, "next_cursor": next_cursor}


@router.get("/payments/{payment_id}", response=PaymentOut, summary="Read a payment")
def payment_read(request, payment_id: Id):
    return _payment(request, payment_id)


@router.get("/refunds", response=RefundPage, summary="List refunds")
def refund_list(request, filters: Query[PaymentFilters]):
    refunds = Refund.objects.filter(partner=request.partner)
    if filters.customer_id:
        refunds = refunds.filter(payment__customer_id=filters.customer_id)
    rows, next_cursor = page_by_id(_filtered(refunds, filters), cursor=filters.cursor)
    return {"data": rows, "next_cursor": next_cursor}


@router.get("/refunds/{refund_id}", response=RefundOut, summary="Read a refund")
def refund_read(request, refund_id: Id):
    try:
        return Refund.objects.get(partner=request.partner, pk=refund_id)
    except Refund.DoesNotExist:
        raise Http404("No such refund.") from None


@router.post("/payments/{payment_id}/refunds", response={201: RefundOut}, summary="Refund a payment")
def refund_create_endpoint(request, payment_id: Id, payload: RefundIn):
    """Gives money back through the payment processor (or records money returned by hand, for an
    offline payment). `status` is pending while the processor has not answered. The Idempotency-Key
    header becomes the refund's own key, so a retry never refunds twice."""
    payment = _payment(request, payment_id)
    key = idempotency_key_of(request)
    derived = hashlib.sha256(f"api:{request.partner.pk}:{key}".encode()).hexdigest() if key else None
    if derived and (
        earlier := Refund.objects.filter(partner=request.partner, idempotency_key=derived).first()
    ):
        if (earlier.payment_id, earlier.amount) != (payment.pk, payload.amount):
            raise Problem(409, "This Idempotency-Key was already used with another request.")
        return Status(201, earlier)
    try:
        refund = refund_create(
            payment=payment,
            amount=payload.amount,
            reason=payload.reason,
            reduce_amount_owed=payload.reduce_amount_owed,
            actor=None,
            idempotency_key=derived,
        )
    except ValidationError as error:
        raise service_problem(error) from None
    return Status(201, refund)
