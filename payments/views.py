"""The gateways' webhook endpoints and the partner's Settings -> Payments page. Other partner pages for
payments live with customers and invoices."""

import logging

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_scopes import scopes_disabled

from partners.models import Role
from partners.permissions import partner_view
from payments import services
from payments.forms import StripeKeysForm, WebhookSigningSecretForm
from payments.gateways import processor_account
from payments.gateways.base import GatewayError, WebhookInvalid
from payments.models import ProcessorAccount

logger = logging.getLogger(__name__)


def _webhook(request, account: ProcessorAccount | None):
    """Verified, deduplicated and applied by payments.services.webhook_receive. A 4xx tells the
    gateway not to retry a forged or malformed event; a 5xx makes it retry later."""
    try:
        result = services.webhook_receive(body=request.body, headers=request.headers, account=account)
    except WebhookInvalid as error:
        logger.warning("Gateway webhook rejected from %s: %s", request.META.get("REMOTE_ADDR"), error)
        return HttpResponseBadRequest("Invalid webhook.", content_type="text/plain")
    except GatewayError as error:
        logger.warning("Gateway webhook about an unknown charge rejected: %s", error)
        return HttpResponseBadRequest("Unknown charge.", content_type="text/plain")
    return HttpResponse(result, content_type="text/plain")


@csrf_exempt
@require_POST
@transaction.non_atomic_requests
def gateway_webhook(request):
    """The sandbox's webhooks."""
    return _webhook(request, None)


@never_cache  # its URL is a secret
@csrf_exempt
@require_POST
@transaction.non_atomic_requests
def stripe_webhook(request, token: str):
    """One partner's Stripe account: its URL's secret part finds the account, its signing secret checks."""
    with scopes_disabled():  # the processor calls: the URL names the partner
        account = ProcessorAccount.objects.filter(
            webhook_token_hash=services.webhook_token_hash(token)
        ).first()
    if account is None:
        raise Http404
    return _webhook(request, account)


@partner_view(write_role=Role.ADMIN)
@sensitive_post_parameters("secret_key", "signing_secret")
def settings_payments(request):
    """Choose the sandbox or connect Stripe; disconnect; reconnect. Owners and admins only change it."""
    partner, can_edit = request.partner, request.membership.can_manage
    form = StripeKeysForm(request.POST if request.POST.get("action") == "connect" else None)
    webhook_form = WebhookSigningSecretForm(
        request.POST if request.POST.get("action") == "webhook_secret" else None
    )
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "connect" and form.is_valid():
                account = services.processor_connect_stripe(
                    partner=partner,
                    secret_key=form.cleaned_data["secret_key"],
                    publishable_key=form.cleaned_data["publishable_key"],
                    actor=request.user,
                )
                messages.success(
                    request, f"Stripe account {account.account_name or account.account_id} connected."
                )
                if services.processor_manual_webhook_url(account):
                    messages.warning(request, "One more step: add the webhook endpoint in Stripe (below).")
                return redirect("settings_payments")
            if action == "webhook_secret" and webhook_form.is_valid():
                services.processor_set_webhook_secret(
                    partner=partner,
                    signing_secret=webhook_form.cleaned_data["signing_secret"],
                    actor=request.user,
                )
                messages.success(request, "Signing secret saved: Stripe's events now reach this app.")
                return redirect("settings_payments")
            if action == "disconnect":
                services.processor_disconnect(partner=partner, actor=request.user)
                messages.success(request, "Stripe disconnected. Its keys are forgotten.")
                return redirect("settings_payments")
            if action not in ("connect", "disconnect", "webhook_secret"):
                return HttpResponseBadRequest("Unknown action.", content_type="text/plain")
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
    account = processor_account(partner)
    status = 200 if not (form.errors or webhook_form.errors) else 400
    manual_url = services.processor_manual_webhook_url(account) if account and account.is_connected else ""
    return render(
        request,
        "payments/settings_payments.html",
        {
            "form": form,
            "webhook_form": webhook_form,
            "account": account,
            "can_edit": can_edit,
            "manual_webhook_url": manual_url,
            "webhook_events": services.WEBHOOK_EVENTS if manual_url else [],
        },
        status=status,
    )
