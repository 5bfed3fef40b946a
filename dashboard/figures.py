"""The dashboard's and the reports' figures, kept in the cache for a few minutes per partner.

Adding up a partner's open invoices is one index-only pass over all of them: about 20 ms of PostgreSQL
for 60,000 open invoices, on every view of two pages that people reload often. The figures are kept
in the cache (Redis, shared by every worker) and read again only when:

- an invoice, a payment, an email or a paused address of the partner was saved or deleted
  (`figures_changed`, connected in DashboardConfig.ready): the partner's figures version changes, so
  every cached figure of theirs is missed from then on, right away and again once the change commits;
- the partner's day has turned (overdue and "due soon" count from today);
- FIGURES_SECONDS have passed, for changes no signal reports (a bulk update, a fix made in SQL).

The pages say when their figures were added up ("as of"). While Redis is unreachable the cache answers
as an empty one (core.cache) and the figures are computed as before: slower, never wrong. Should a
change's version fail to reach Redis, FIGURES_SECONDS bounds how long the old figures show.
"""

import datetime
import secrets
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from partners.models import Partner

FIGURES_SECONDS = 300
AT_MOST = datetime.timedelta(seconds=FIGURES_SECONDS)
T = TypeVar("T")


def _version_key(partner_id: int) -> str:
    return f"figures-version:{partner_id}"


def _version(partner_id: int) -> str | None:
    """The partner's figures version: a random token, made anew by every change (None while the cache
    is unreachable)."""
    key = _version_key(partner_id)
    version = cache.get(key)
    if version is None:  # never set, or evicted: a new token, so that nothing cached before is read
        cache.add(key, secrets.token_hex(8), timeout=None)
        version = cache.get(key)
    return version


def cached(partner: Partner, name: str, compute: Callable[[], T]) -> tuple[T, datetime.datetime]:
    """`compute()`'s result, from the cache when it is still good (see the module's docstring); and
    when it was computed. An unreachable cache (core.cache answers as an empty one) means computing."""
    today, now = partner.today(), timezone.now()
    version = _version(partner.pk)
    key = f"figures:{partner.pk}:{version}:{name}"
    found = cache.get(key) if version is not None else None
    if found is not None and found[0] == today and now - found[2] < AT_MOST:
        return found[1], found[2]
    value = compute()
    if version is not None:
        cache.set(key, (today, value, now), FIGURES_SECONDS)
    return value, now


def figures_changed(partner_id: int) -> None:
    """Forget the partner's cached figures: now, and again when the current transaction commits (a
    page computing meanwhile still saw the data before the change, and may have cached it)."""

    def forget() -> None:
        cache.set(_version_key(partner_id), secrets.token_hex(8), timeout=None)

    forget()
    transaction.on_commit(forget)


def on_saved_or_deleted(sender, instance, **kwargs) -> None:
    """post_save / post_delete receiver for Invoice, Payment, OutboundEmail and SuppressedAddress."""
    figures_changed(instance.partner_id)
