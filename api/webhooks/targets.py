"""Where a webhook may be sent: https (outside development), and never to an address inside the
platform's own network (private, loopback, link-local, multicast, reserved: server-side request forgery).
Checked when an endpoint is saved and again at every delivery, which connects to the address it checked
(so a DNS answer that changes in between can't steer the request elsewhere)."""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class TargetRefused(ValueError):
    pass


def _forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def resolve_target(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, address to connect to), or TargetRefused with the reason in words."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise TargetRefused("Enter a full URL, e.g. https://example.com/webhooks.") from None
    scheme, host = parts.scheme.lower(), parts.hostname or ""
    if scheme not in ("https", "http") or not host:
        raise TargetRefused("Enter a full URL, e.g. https://example.com/webhooks.")
    if scheme != "https" and settings.WEBHOOK_REQUIRE_HTTPS:
        raise TargetRefused("Webhook URLs must start with https://.")
    if parts.username or parts.password:
        raise TargetRefused("Put no user name or password in the URL; verify our signature instead.")
    port = port or (443 if scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise TargetRefused(f"{host} does not resolve to an address.") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not settings.WEBHOOK_ALLOW_PRIVATE_TARGETS and any(_forbidden(a) for a in addresses):
        raise TargetRefused(f"{host} resolves to a private or internal address, which webhooks can't reach.")
    return scheme, host, port, str(addresses[0])


def target_refusal(url: str) -> str:
    """Why `url` can't be a webhook target, in words; "" when it can."""
    try:
        resolve_target(url)
    except TargetRefused as error:
        return str(error)
    return ""
