"""What the ESP tells us after sending: Anymail's tracking webhooks (/anymail/<esp>/tracking/) arrive
here as `anymail.signals.tracking`, whatever the ESP. Each event is kept per message, moves the
message's status forward, and the ones a partner cares about go on the invoice timeline. A hard
bounce or a spam complaint pauses automatic emails to that address and alerts the partner."""

import logging

from anymail.signals import AnymailTrackingEvent, EventType
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from invoicing.models import EventKind
from invoicing.services import invoice_event
from partners.models import Partner
from reminders.models import EmailEvent, EmailStatus, NotificationKind, OutboundEmail, SuppressedAddress
from reminders.services import PARTNER_KINDS, partner_alert

logger = logging.getLogger(__name__)

# Postmark reports soft bounces as bounces too (Anymail maps both to "bounced"): only hard ones pause.
SOFT_BOUNCE_TYPES = {"SoftBounce", "Transient", "DnsError"}
# A later event never moves a message back: delivered after bounced stays bounced.
STATUS_RANK = {
    EmailStatus.SENT: 1,
    EmailStatus.DELIVERED: 2,
    EmailStatus.COMPLAINED: 3,
    EmailStatus.BOUNCED: 3,
}
TIMELINE_TEXT = {
    EventType.DELIVERED: "Delivered to {recipient}",
    EventType.OPENED: "Opened by {recipient}",
    EventType.BOUNCED: "Bounced at {recipient}: automatic emails to this address are paused",
    EventType.COMPLAINED: "{recipient} marked it as spam: automatic emails to this address are paused",
    EventType.REJECTED: "The email provider refused to send to {recipient}",
    EventType.FAILED: "The email provider could not send to {recipient}",
}


def _find(event: AnymailTrackingEvent) -> OutboundEmail | None:
    """The email the event is about, by the id the provider gave the message when it accepted it: never
    by anything else in the payload (its metadata holds our sequential email id, which anyone can guess)."""
    if not event.message_id:
        return None
    with scopes_disabled():  # the message id is the provider's, unique across partners
        return OutboundEmail.objects.filter(esp_message_id=str(event.message_id)).first()


def is_hard_bounce(event: AnymailTrackingEvent) -> bool:
    if event.event_type == EventType.COMPLAINED:
        return True
    if event.event_type == EventType.REJECTED:
        return event.reject_reason in ("bounced", "invalid")
    if event.event_type != EventType.BOUNCED:
        return False
    esp_event = event.esp_event if isinstance(event.esp_event, dict) else {}
    return esp_event.get("Type") not in SOFT_BOUNCE_TYPES


class TrackingEventNotApplied(Exception):
    """Applying a well-formed event failed on our side. Its own type, so that the webhook, which answers
    400 to payloads that raise ValueError and the like while parsing, answers this one 500 and the
    provider sends the event again."""


def tracking_received(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    """Receiver of anymail.signals.tracking. An event for a message we never sent is logged and
    dropped (the ESP account may be shared); a duplicate post of the same event changes nothing."""
    try:
        _receive(event, esp_name)
    except Exception as error:
        raise TrackingEventNotApplied(f"{esp_name} {event.event_type} event {event.message_id!r}") from error


def _receive(event: AnymailTrackingEvent, esp_name: str) -> None:
    email = _find(event)
    if email is None:
        logger.warning(
            "%s %s event for unknown message %r ignored", esp_name, event.event_type, event.message_id
        )
        return
    with scope(partner=email.partner), transaction.atomic():
        if not _record_event(email, event):
            return
        _apply(email, event)


def _record_event(email: OutboundEmail, event: AnymailTrackingEvent) -> bool:
    try:
        with transaction.atomic():
            EmailEvent.objects.create(
                partner=email.partner,
                email=email,
                event_type=event.event_type,
                recipient=(event.recipient or "")[:320],
                occurred_at=event.timestamp or timezone.now(),
                description=(event.description or event.mta_response or "")[:500],
                esp_event=event.esp_event if isinstance(event.esp_event, dict) else {},
            )
    except IntegrityError:
        return False
    return True


def _apply(email: OutboundEmail, event: AnymailTrackingEvent) -> None:
    email = OutboundEmail.objects.select_for_update(of=("self",)).select_related("invoice").get(pk=email.pk)
    kind, when = event.event_type, event.timestamp or timezone.now()
    recipient = event.recipient or ", ".join(email.recipients)
    first_open = kind == EventType.OPENED and email.opened_at is None
    if kind == EventType.DELIVERED:
        _advance(email, EmailStatus.DELIVERED, delivered_at=when)
    elif first_open:
        email.opened_at = when
        email.save(update_fields=["opened_at"])
    elif is_hard_bounce(event):
        status = EmailStatus.COMPLAINED if kind == EventType.COMPLAINED else EmailStatus.BOUNCED
        _advance(email, status, bounced_at=when)
        address_suppress(
            email=email,
            address=recipient,
            reason=event.description or TIMELINE_TEXT[kind].format(recipient=recipient),
        )
    worth_a_line = kind in TIMELINE_TEXT and (kind != EventType.OPENED or first_open)
    if kind == EventType.BOUNCED and not is_hard_bounce(event):
        worth_a_line = False  # a soft bounce: the ESP keeps trying
    if email.invoice_id and worth_a_line:
        invoice_event(
            email.invoice,
            EventKind.EMAIL,
            actor=None,
            message=TIMELINE_TEXT[kind].format(recipient=recipient)[:500],
            email_id=email.pk,
        )


def _advance(email: OutboundEmail, status: EmailStatus, **times) -> None:
    if STATUS_RANK.get(status, 0) >= STATUS_RANK.get(email.status, 0):
        email.status = status
    for name, value in times.items():
        setattr(email, name, value)
    email.save(update_fields=["status", *times])


def address_suppress(*, email: OutboundEmail, address: str, reason: str) -> None:
    """Pause automatic emails to `address` at this partner and tell the partner, once per address."""
    partner: Partner | None = email.partner
    if partner is None or not address:
        return
    try:
        with transaction.atomic():
            SuppressedAddress.objects.create(
                partner=partner, address=address.strip().lower(), reason=reason[:300], email=email
            )
    except IntegrityError:
        return
    if email.kind not in PARTNER_KINDS:  # an alert that bounced alerts no one
        partner_alert(
            partner=partner,
            kind=NotificationKind.PARTNER_BOUNCE,
            invoice=email.invoice,
            params={"address": address, "reason": reason},
        )


def address_resume(*, suppressed: SuppressedAddress) -> None:
    """The partner fixed the address (or the customer asked): automatic emails to it go again."""
    suppressed.delete()
