"""Every write about partners, their team and invitations."""

import hashlib
import io
import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled
from PIL import Image, ImageOps, UnidentifiedImageError

from partners import signals
from partners.models import AuditEvent, AuditKind, Invitation, Membership, Partner, Role, User
from partners.tokens import token_hash, token_new

logger = logging.getLogger(__name__)

LOGO_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
LOGO_MAX_PIXELS = 4000 * 4000


def audit_record(
    *,
    partner: Partner,
    kind: AuditKind,
    actor: User | None,
    message: str = "",
    changes: dict | None = None,
    actor_label: str = "System",
) -> AuditEvent:
    """Append a line to the partner's activity log (settings and team). Called in the same transaction
    as the change it describes, so a change that rolls back leaves no line and a kept one always has one."""
    return AuditEvent.objects.create(
        partner=partner,
        kind=kind,
        actor=actor,
        actor_label="" if actor else actor_label,
        message=message[:500],
        changes=changes or {},
    )


def settings_changes(form, *, exclude: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """What a settings form changed, as {field label: [before, after]} in words a person reads."""
    changes = {}
    for name in form.changed_data:
        field = form.fields[name]
        secret_or_file = getattr(field.widget, "input_type", "") in ("file", "password")
        if name in exclude or name not in form.cleaned_data or secret_or_file:
            continue
        before, after = form.initial.get(name), form.cleaned_data[name]
        if getattr(field, "choices", None) and not isinstance(after, (list, bool)):
            labels = dict(field.choices)
            before, after = labels.get(before, before), labels.get(after, after)
        changes[str(field.label or name)] = [_plain(before), _plain(after)]
    return changes


def _plain(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return "" if value is None else str(value)[:200]


def partner_create(*, name: str, owner: User, **details) -> Partner:
    partner = Partner.objects.create(name=name, **details)
    Membership.objects.create(partner=partner, user=owner, role=Role.OWNER)
    return partner


def logo_validate(upload: UploadedFile) -> tuple[bytes, str]:
    """Return the logo's bytes, re-encoded (`logo_reencode`), and content type, or raise ValidationError
    in words a partner understands.

    The type is decided by decoding the image, never by the file name or the browser's claim.
    """
    if upload.size > settings.LOGO_MAX_BYTES:
        raise _logo_too_large(f"The logo is {upload.size / 1_048_576:.1f} MB")
    data = upload.read()
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError, ValueError):
        raise ValidationError("This file is not a PNG, JPEG or WebP image.", code="invalid_image") from None
    if image_format not in LOGO_FORMATS:
        raise ValidationError("Upload the logo as a PNG, JPEG or WebP image.", code="invalid_type")
    if width * height > LOGO_MAX_PIXELS:
        raise ValidationError("The logo is too large in pixels; use one under 4000 by 4000.", code="too_big")
    return logo_reencode(data)


def _logo_too_large(what: str) -> ValidationError:
    limit = settings.LOGO_MAX_BYTES // 1_048_576
    return ValidationError(f"{what}; the largest allowed is {limit} MB.", code="too_large")


def logo_reencode(data: bytes) -> tuple[bytes, str]:
    """The logo drawn again from its pixels alone, because it is served publicly: a photo's EXIF
    (camera, GPS position, time), text chunks, colour profiles and anything appended after the image
    stay behind. A JPEG stays a JPEG; a PNG stays a PNG (palette and transparency kept); a WebP becomes
    a PNG when it has transparency, a JPEG when it has none."""
    with Image.open(io.BytesIO(data)) as image:
        source_format = image.format
        upright = ImageOps.exif_transpose(image)  # a photo's orientation lives in its EXIF: apply it now
    transparent = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
    as_png = source_format == "PNG" or (source_format == "WEBP" and transparent)
    if not as_png and upright.mode not in ("L", "RGB"):
        upright = upright.convert("RGB")
    # Only how a palette or grey PNG marks its see-through colour survives; the rest is metadata.
    upright.info = {key: upright.info[key] for key in ("transparency",) if as_png and key in upright.info}
    buffer = io.BytesIO()
    upright.save(buffer, "PNG" if as_png else "JPEG", **({"optimize": True} if as_png else {"quality": 92}))
    encoded = buffer.getvalue()
    if len(encoded) > settings.LOGO_MAX_BYTES:
        raise _logo_too_large(f"Converted for the web, this logo is {len(encoded) / 1_048_576:.1f} MB")
    return encoded, "image/png" if as_png else "image/jpeg"


def partner_set_logo(*, partner: Partner, data: bytes | None, content_type: str = "") -> None:
    partner.logo = data
    partner.logo_content_type = content_type if data else ""
    partner.logo_sha256 = hashlib.sha256(data).hexdigest() if data else ""
    partner.save(update_fields=["logo", "logo_content_type", "logo_sha256"])


def invitation_create(*, partner: Partner, email: str, role: Role, invited_by: User) -> Invitation:
    """Invite `email` to the partner and email them a link. Raises ValidationError for a duplicate."""
    email = email.strip().lower()
    if Membership.objects.filter(partner=partner, user__email__iexact=email).exists():
        raise ValidationError({"email": f"{email} is already a member of {partner.name}."})
    if Invitation.objects.filter(
        partner=partner, email__iexact=email, accepted_at=None, revoked_at=None
    ).exists():
        raise ValidationError(
            {"email": f"{email} already has a pending invitation. Revoke it to send a new one."}
        )
    token = token_new()
    invitation = Invitation.objects.create(
        partner=partner,
        email=email,
        role=role,
        invited_by=invited_by,
        token_hash=token_hash(token),
        expires_at=timezone.now() + timedelta(days=settings.INVITATION_VALID_DAYS),
    )
    # reminders emails the link; the token exists only in this call and in that email.
    signals.invitation_created.send(sender=Invitation, invitation=invitation, token=token)
    audit_record(
        partner=partner,
        kind=AuditKind.MEMBER_INVITED,
        actor=invited_by,
        message=f"Invited {email} as {Role(role).label}",
    )
    return invitation


def invitation_revoke(*, invitation: Invitation) -> None:
    if invitation.is_pending:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])


def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Make `user` a member with the invited role. The invitation must be pending and unexpired."""
    with transaction.atomic(), scopes_disabled():  # the person joins a partner: no scope exists yet
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not invitation.is_pending or invitation.expires_at <= timezone.now():
            raise ValidationError("This invitation has expired or was already used.")
        if user.email.lower() != invitation.email.lower():
            raise ValidationError(
                f"This invitation is for {invitation.email}; you are signed in as {user.email}."
            )
        membership, _ = Membership.objects.get_or_create(
            partner=invitation.partner, user=user, defaults={"role": invitation.role}
        )
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
    return membership


def user_create_from_invitation(*, invitation: Invitation, full_name: str, password: str) -> User:
    user = User.objects.create_user(email=invitation.email, password=password, full_name=full_name)
    invitation_accept(invitation=invitation, user=user)
    return user


def _owner_count(partner: Partner) -> int:
    return Membership.objects.filter(partner=partner, role=Role.OWNER).count()


def _team_lock(*memberships: Membership) -> None:
    """Lock the business's row, so changes to its team run one at a time, then read the memberships
    again as they are now: two owners demoting each other at once must not both count two owners."""
    Partner.objects.select_for_update().filter(pk=memberships[0].partner_id).values_list("pk").first()
    for membership in memberships:
        try:
            membership.refresh_from_db(fields=["role"])
        except Membership.DoesNotExist:
            raise ValidationError("That person is no longer on this team.") from None


@transaction.atomic
def membership_change_role(*, membership: Membership, role: Role, actor: Membership) -> None:
    _team_lock(membership, actor)
    if Role.OWNER in (role, membership.role) and not actor.has_role(Role.OWNER):
        raise ValidationError("Only an owner can make someone an owner or change an owner's role.")
    if membership.role == Role.OWNER and role != Role.OWNER and _owner_count(membership.partner) <= 1:
        raise ValidationError("A business needs at least one owner. Make someone else an owner first.")
    before = membership.get_role_display()
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        partner=membership.partner,
        kind=AuditKind.MEMBER_ROLE_CHANGED,
        actor=actor.user,
        message=f"{membership.user.email} is now {Role(role).label}",
        changes={"Role": [before, Role(role).label]},
    )


@transaction.atomic
def membership_remove(*, membership: Membership, actor: Membership) -> None:
    _team_lock(membership, actor)
    if membership.role == Role.OWNER and not actor.has_role(Role.OWNER):
        raise ValidationError("Only an owner can remove an owner.")
    if membership.role == Role.OWNER and _owner_count(membership.partner) <= 1:
        raise ValidationError("A business needs at least one owner. Make someone else an owner first.")
    membership.delete()
    audit_record(
        partner=membership.partner,
        kind=AuditKind.MEMBER_REMOVED,
        actor=actor.user,
        message=f"{membership.user.email} ({membership.get_role_display()}) no longer has access",
    )
