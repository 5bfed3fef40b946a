"""Sending email. Every message leaves through Django's mail API, so the ESP is whatever EMAIL_ESP says."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)


def email_render(*, template: str, context: dict) -> tuple[str, str]:
    """Render `<template>.txt` and `<template>.html` with the same context: (text, html)."""
    context = {"site_url": settings.SITE_URL, **context}
    return render_to_string(f"{template}.txt", context), render_to_string(f"{template}.html", context)


def email_send(
    *, to: list[str], subject: str, template: str, context: dict, reply_to: list[str] | None = None
) -> None:
    """Send a text + HTML email once the current transaction commits.

    Sending after commit means a rolled-back action never emails anyone; a failure to send is logged
    rather than turning the user's (already committed) action into an error page.
    """
    text, html = email_render(template=template, context=context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=to, reply_to=reply_to)
    message.attach_alternative(html, "text/html")

    def send() -> None:
        try:
            message.send()
        except Exception:
            logger.exception("Could not send %r to %s", subject, to)

    transaction.on_commit(send)
