import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_POST

from core import money
from core.params import parse_id
from core.tasks import enqueue
from customers.models import Customer
from invoicing import selectors as invoice_selectors
from invoicing.models import Invoice, InvoiceStatus
from partners.models import Role
from partners.permissions import partner_view
from reminders import emails, selectors, services
from reminders.forms import NotificationSettingsForm
from reminders.models import Notification, NotificationKind
from reminders.outbox_views import EMAIL_FRAME_CSP
from reminders.schedule import reminder_slots
from reminders.tasks import replan_reminders
from reminders.tracking import address_resume


@require_POST
@partner_view()
def invoice_send(request, invoice_id: int):
    """The invoice page's "Send": queued now, counted as sent once the email provider accepts it."""
    invoice = invoice_selectors.invoice_get(partner=request.partner, invoice_id=invoice_id)
    try:
        email = services.invoice_send(invoice=invoice, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Sending {invoice.number} to {', '.join(email.recipients)}.")
    return redirect("invoice_detail", invoice_id=invoice.pk)


@partner_view()
def upcoming_list(request):
    """Every reminder and charge planned for the next 14 days, across the account."""
    items = selectors.upcoming(partner=request.partner)
    return render(
        request,
        "reminders/upcoming.html",
        {"items": items, "days": selectors.UPCOMING_DAYS, "limit": selectors.UPCOMING_LIMIT},
    )


@partner_view(write_role=Role.ADMIN)
def notification_settings_edit(request):
    partner = request.partner
    prefs = selectors.notification_settings(partner=partner)
    form = NotificationSettingsForm(request.POST or None, instance=prefs)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save()
            # Reminders already planned follow the new days and hour.
            enqueue(replan_reminders, partner_id=partner.pk)
        messages.success(request, "Notification settings saved. Planned reminders follow them.")
        return redirect("settings_notifications")
    can_edit = request.membership.can_manage
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    return render(
        request,
        "reminders/settings_notifications.html",
        {
            "form": form,
            "can_edit": can_edit,
            "previews": _previews(prefs),
            "paused": selectors.suppressed_addresses(partner=partner),
        },
    )


def _previews(prefs) -> list[tuple[str, str, int]]:
    """(label, kind, days) of every email the partner's customers can get, for the preview links."""
    rows = [("The invoice", NotificationKind.INVOICE, 0)]
    for kind, offset in reminder_slots(prefs):
        rows.append((Notification(kind=kind, offset_days=offset).label, kind, abs(offset)))
    rows += [
        ("Receipt", NotificationKind.RECEIPT, 0),
        ("Payment failed (to the customer)", NotificationKind.CHARGE_FAILED, 0),
        ("Alert to you: charge failed", NotificationKind.PARTNER_CHARGE_FAILED, 0),
        ("Alert to you: email bounced", NotificationKind.PARTNER_BOUNCE, 0),
        ("Alert to you: payment disputed", NotificationKind.PARTNER_DISPUTE, 0),
    ]
    return rows


@partner_view()
def email_preview(request):
    """?kind= one of NotificationKind, &days= for a reminder, &invoice= to draw a real invoice."""
    drawn = _preview_drawn(request)
    return render(request, "reminders/email_preview.html", {"drawn": drawn, "query": request.GET.urlencode()})


@xframe_options_sameorigin
@partner_view()
def email_preview_html(request):
    """The preview's HTML, framed by the preview page: its inline styles apply, nothing else runs."""
    drawn = _preview_drawn(request)
    _, html = services.email_render(template=drawn.template, context=drawn.context)
    response = HttpResponse('<base target="_top">' + html)
    response.headers["Content-Security-Policy"] = EMAIL_FRAME_CSP
    return response


def _preview_invoice(request) -> Invoice:
    """The invoice named in ?invoice=, else the latest open one, else a sample that is never saved."""
    partner = request.partner
    invoice_id = parse_id(request.GET.get("invoice"))
    if invoice_id is not None:
        return invoice_selectors.invoice_get(partner=partner, invoice_id=invoice_id)
    latest = (
        Invoice.objects.filter(partner=partner, status=InvoiceStatus.OPEN).select_related("customer").first()
    )
    if latest is not None:
        return latest
    customer = Customer(
        partner=partner, name="Sam Sample", company="Sample Customer Ltd", email="sam@example.com"
    )
    return Invoice(
        partner=partner,
        customer=customer,
        number=f"{partner.invoice_number_prefix}SAMPLE",
        status=InvoiceStatus.OPEN,
        currency=partner.default_currency,
        due_date=partner.today() + datetime.timedelta(days=partner.payment_terms_days),
        memo=partner.default_memo or "Thank you for your business.",
        total=125000,
        amount_due=125000,
    )


def _preview_drawn(request) -> emails.Drawn:
    kind = request.GET.get("kind", NotificationKind.INVOICE)
    if kind not in NotificationKind.values or kind == NotificationKind.OTHER:
        raise Http404("No such email.")
    invoice = _preview_invoice(request)
    prefs = selectors.notification_settings(partner=request.partner)
    days = parse_id(request.GET.get("days")) or 0
    link = "#pay-link"  # each real email carries a pay link of its own, made when it is sent
    if kind in emails.INVOICE_KINDS:
        offset = -days if kind == NotificationKind.BEFORE_DUE else days
        drawn = emails.draw_invoice(
            invoice=invoice, kind=kind, offset_days=offset, link=link, prefs=prefs, pdf=None
        )
        drawn.context["pdf_attached"] = prefs.attach_pdf
        return drawn
    if kind == NotificationKind.RECEIPT:
        return emails.draw_receipt(
            invoice=invoice,
            amount=invoice.total,
            method_label="Visa •••• 4242",
            paid_on=request.partner.today(),
        )
    if kind == NotificationKind.CHARGE_FAILED:
        return emails.draw_charge_failed(
            invoice=invoice, method_label="Visa •••• 4242", reason="Your card was declined.", link=link
        )
    if kind == NotificationKind.PARTNER_CHARGE_FAILED:
        return emails.draw_partner_charge_failed(
            invoice=invoice, method_label="Visa •••• 4242", reason="Your card was declined."
        )
    if kind == NotificationKind.PARTNER_DISPUTE:
        return emails.draw_partner_dispute(
            invoice=invoice,
            amount_withdrawn=money.format_money(invoice.total, invoice.currency),
            reason="fraudulent",
            respond_by=(timezone.now() + datetime.timedelta(days=7)).isoformat(),
        )
    return emails.draw_partner_bounce(
        partner=request.partner,
        address=invoice.customer.email,
        reason="The mailbox does not exist.",
        invoice=invoice,
    )


@require_POST
@partner_view(write_role=Role.ADMIN)
def suppressed_resume(request, suppressed_id: int):
    suppressed = selectors.suppressed_address_get(partner=request.partner, suppressed_id=suppressed_id)
    address_resume(suppressed=suppressed)
    messages.success(request, f"Automatic emails to {suppressed.address} will be sent again.")
    return redirect("settings_notifications")
