import copy

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect, render

from invoicing.forms import InvoiceSettingsForm
from invoicing.models import NumberKind
from invoicing.numbering import number_format, number_peek, number_set_next
from partners.models import AuditKind, Role
from partners.permissions import partner_view
from partners.services import audit_record, settings_changes


@partner_view(write_role=Role.ADMIN)
def invoicing_settings(request):
    partner = request.partner
    today = partner.today()
    current_next = number_peek(partner=partner, kind=NumberKind.INVOICE, on_date=today)
    # The form writes what was typed onto a copy: a refused value (a padding of 10**20) must not reach
    # the example number below or anything else on the page that reads the partner.
    form = InvoiceSettingsForm(
        request.POST or None, instance=copy.copy(partner), initial={"next_number": current_next}
    )
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                changes = settings_changes(form)
                form.save()
                if form.cleaned_data["next_number"] != current_next:
                    number_set_next(
                        partner=form.instance,  # the new settings: yearly reset decides the counter
                        kind=NumberKind.INVOICE,
                        on_date=today,
                        next_value=form.cleaned_data["next_number"],
                    )
                if changes:
                    audit_record(
                        partner=partner,
                        kind=AuditKind.INVOICING_SETTINGS_CHANGED,
                        actor=request.user,
                        message=f"Changed {', '.join(changes)}",
                        changes=changes,
                    )
        except ValidationError as error:
            form.add_error("next_number", error.message_dict.get("next_number", error.messages))
        else:
            messages.success(request, "Invoice settings saved.")
            return redirect("settings_invoicing")
    can_edit = request.membership.can_manage
    if not can_edit:
        for field in form.fields.values():
            field.disabled = True
    year = today.year if partner.invoice_number_yearly_reset else 0
    example = number_format(partner=partner, kind=NumberKind.INVOICE, year=year, value=current_next)
    return render(
        request, "invoicing/settings_invoicing.html", {"form": form, "can_edit": can_edit, "example": example}
    )
