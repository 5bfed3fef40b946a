"""The configured payment gateway. `settings.PAYMENT_GATEWAY` names its class; the sandbox is the default."""

import functools

from django.conf import settings
from django.utils.module_loading import import_string

from payments.gateways.base import Gateway


@functools.cache
def _gateway(path: str, options: tuple) -> Gateway:
    return import_string(path)(**dict(options))


def get_gateway() -> Gateway:
    return _gateway(settings.PAYMENT_GATEWAY, tuple(sorted(settings.PAYMENT_GATEWAY_OPTIONS.items())))
