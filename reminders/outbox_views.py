"""The development outbox: every email the app 'sent', readable in the browser with working links.

Only served when EMAIL_ESP=outbox (the `make run` default); in production the URLs answer 404.
"""

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.clickjacking import xframe_options_sameorigin

from reminders.models import CapturedEmail

# The email's own HTML is shown in a sandboxed frame: its inline styles apply, scripts never run,
# and a clicked link opens in the top window so the reader follows it like in a mail client.
EMAIL_FRAME_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data: http: https:; "
    "frame-ancestors 'self'; "
    "sandbox allow-popups allow-top-navigation-by-user-activation allow-popups-to-escape-sandbox"
)


def _require_outbox() -> None:
    if not settings.DEV_OUTBOX_ENABLED:
        raise Http404


def outbox_list(request):
    _require_outbox()
    page = Paginator(CapturedEmail.objects.defer("raw"), 50).get_page(request.GET.get("page"))
    return render(request, "reminders/outbox_list.html", {"page": page})


def outbox_detail(request, email_id: int):
    _require_outbox()
    email = get_object_or_404(CapturedEmail, pk=email_id)
    return render(
        request,
        "reminders/outbox_detail.html",
        {"email": email, "text": email.body("plain"), "attachments": email.attachments()},
    )


@xframe_options_sameorigin
def outbox_html(request, email_id: int):
    _require_outbox()
    email = get_object_or_404(CapturedEmail, pk=email_id)
    html = email.body("html") or "<p>This email has no HTML part.</p>"
    # Links open in the whole window, as they would from a mail client.
    response = HttpResponse('<base target="_top">' + html)
    response.headers["Content-Security-Policy"] = EMAIL_FRAME_CSP
    return response


def outbox_attachment(request, email_id: int, index: int):
    _require_outbox()
    email = get_object_or_404(CapturedEmail, pk=email_id)
    parts = list(email.parsed().iter_attachments())
    if not 0 <= index < len(parts):
        raise Http404
    part = parts[index]
    response = HttpResponse(part.get_payload(decode=True), content_type=part.get_content_type())
    response["Content-Disposition"] = f'attachment; filename="{part.get_filename() or "attachment"}"'
    return response
