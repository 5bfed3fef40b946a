"""Settings → Developers: API keys (created, shown once, listed, revoked) and webhook endpoints with
their delivery log. Owners and admins only: a key acts for the whole business."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from api import selectors, services
from api.forms import ApiKeyForm, WebhookEndpointForm
from api.webhooks.catalogue import EVENT_TYPES
from api.webhooks.delivery import webhook_resend
from core.forms import apply_errors
from partners.models import Role
from partners.permissions import partner_view

# Outermost, so a signed-out visitor is sent to sign in and a member without the role gets 403 before the
# method is looked at.
admin_only = partner_view(write_role=Role.ADMIN, read_role=Role.ADMIN)


def _page(request, *, key_form=None, endpoint_form=None, new_secret=None, status=200):
    context = {
        "keys": selectors.api_key_list(partner=request.partner),
        "endpoints": selectors.webhook_endpoint_list(partner=request.partner),
        "key_form": key_form or ApiKeyForm(),
        "endpoint_form": endpoint_form or WebhookEndpointForm(),
        "new_secret": new_secret,
        "event_types": EVENT_TYPES,
    }
    return render(request, "api/developers.html", context, status=status)


@never_cache  # right after creating a key it shows the secret
@admin_only
def developers(request):
    return _page(request)


@never_cache
@admin_only
@require_POST
def api_key_create(request):
    form = ApiKeyForm(request.POST)
    if form.is_valid():
        try:
            key, secret = services.api_key_create(
                partner=request.partner,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                created_by=request.user,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            return _page(request, new_secret={"key": key, "secret": secret})
    return _page(request, key_form=form, status=422)


@admin_only
@require_POST
def api_key_revoke(request, key_id: int):
    key = services.api_key_revoke(key=selectors.api_key_get(partner=request.partner, key_id=key_id))
    messages.success(request, f"{key.name} is revoked; requests with it are refused from now on.")
    return redirect("developers")


@admin_only
@require_POST
def webhook_endpoint_create(request):
    form = WebhookEndpointForm(request.POST)
    if form.is_valid():
        try:
            endpoint = services.webhook_endpoint_create(
                partner=request.partner,
                url=form.cleaned_data["url"],
                event_types=form.cleaned_data["event_types"],
                description=form.cleaned_data["description"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"Webhook endpoint {endpoint.url} added.")
            return redirect("webhook_endpoint_detail", endpoint_id=endpoint.pk)
    return _page(request, endpoint_form=form, status=422)


@never_cache  # shows the signing secret
@admin_only
def webhook_endpoint_detail(request, endpoint_id: int):
    endpoint = selectors.webhook_endpoint_get(partner=request.partner, endpoint_id=endpoint_id)
    deliveries = [selectors.delivery_row(d) for d in selectors.delivery_log(endpoint=endpoint)[:50]]
    return render(request, "api/webhook_endpoint.html", {"endpoint": endpoint, "deliveries": deliveries})


@admin_only
@require_POST
def webhook_endpoint_roll(request, endpoint_id: int):
    endpoint = selectors.webhook_endpoint_get(partner=request.partner, endpoint_id=endpoint_id)
    services.webhook_endpoint_roll_secret(endpoint=endpoint)
    messages.success(request, "New signing secret made. For 24 hours deliveries are signed with both.")
    return redirect("webhook_endpoint_detail", endpoint_id=endpoint.pk)


@admin_only
@require_POST
def webhook_endpoint_enable(request, endpoint_id: int):
    endpoint = selectors.webhook_endpoint_get(partner=request.partner, endpoint_id=endpoint_id)
    try:
        services.webhook_endpoint_update(endpoint=endpoint, data={"enabled": not endpoint.is_enabled})
    except ValidationError as error:
        messages.error(request, " ".join(m for ms in error.message_dict.values() for m in ms))
    return redirect("webhook_endpoint_detail", endpoint_id=endpoint.pk)


@admin_only
@require_POST
def webhook_endpoint_delete(request, endpoint_id: int):
    endpoint = selectors.webhook_endpoint_get(partner=request.partner, endpoint_id=endpoint_id)
    services.webhook_endpoint_delete(endpoint=endpoint)
    messages.success(request, f"Webhook endpoint {endpoint.url} deleted.")
    return redirect("developers")


@admin_only
@require_POST
def webhook_delivery_resend(request, endpoint_id: int, delivery_id: int):
    endpoint = selectors.webhook_endpoint_get(partner=request.partner, endpoint_id=endpoint_id)
    delivery = selectors.delivery_log(endpoint=endpoint).filter(pk=delivery_id).first()
    if delivery is None:
        raise Http404("No such delivery.")
    webhook_resend(delivery=delivery)
    messages.success(request, "Sending the event again.")
    return redirect("webhook_endpoint_detail", endpoint_id=endpoint.pk)
