from django.urls import URLPattern, path

from api import views
from api.http import api_view
from api.v1 import api

# Endpoints whose service commits by itself before calling out (refunds: committed before the gateway).
NOT_ATOMIC_ROUTES = {"payments/<payment_id>/refunds"}


def _wrapped(patterns):
    return [
        URLPattern(
            pattern.pattern,
            api_view(pattern.callback, atomic=str(pattern.pattern) not in NOT_ATOMIC_ROUTES),
            pattern.default_args,
            pattern.name,
        )
        for pattern in patterns
    ]


api_patterns, app_name, namespace = api.urls
api_urls = (_wrapped(api_patterns), app_name)
API_NAMESPACE = namespace
developer_urls = [
    path("", views.developers, name="developers"),
    path("keys/", views.api_key_create, name="api_key_create"),
    path("keys/<int:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
    path("webhooks/", views.webhook_endpoint_create, name="webhook_endpoint_create"),
    path("webhooks/<int:endpoint_id>/", views.webhook_endpoint_detail, name="webhook_endpoint_detail"),
    path("webhooks/<int:endpoint_id>/roll/", views.webhook_endpoint_roll, name="webhook_endpoint_roll"),
    path("webhooks/<int:endpoint_id>/enable/", views.webhook_endpoint_enable, name="webhook_endpoint_enable"),
    path("webhooks/<int:endpoint_id>/delete/", views.webhook_endpoint_delete, name="webhook_endpoint_delete"),
    path(
        "webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/resend/",
        views.webhook_delivery_resend,
        name="webhook_delivery_resend",
    ),
]
