from django.contrib import admin
from django.urls import include, path

from api.urls import API_NAMESPACE, api_urls, developer_urls
from config import health
from dashboard.views.home import dashboard
from dashboard.views.reports import activity_log
from invoicing.views.settings import invoicing_settings
from partners.forms import AdminSignInForm
from payments.views import gateway_webhook, settings_payments, stripe_webhook

admin.site.site_header = "Invoicing platform admin"
admin.site.site_title = "Platform admin"
admin.site.login_form = AdminSignInForm  # the app's sign-in limit, on the admin's sign-in page too

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_urls, namespace=API_NAMESPACE)),
    path("settings/developers/", include(developer_urls)),
    path("dev/outbox/", include("reminders.outbox_urls")),
    path("", dashboard, name="dashboard"),
    path("customers/", include("dashboard.customer_urls")),
    path("invoices/", include("dashboard.invoice_urls")),
    path("invoices/", include("invoicing.urls")),
    path("recurring/", include("dashboard.recurring_urls")),
    path("reports/", include("dashboard.report_urls")),
    path("activity/", activity_log, name="activity_log"),
    path("settings/invoicing/", invoicing_settings, name="settings_invoicing"),
    path("settings/payments/", settings_payments, name="settings_payments"),
    path("webhooks/payments/", gateway_webhook, name="gateway_webhook"),
    path("webhooks/stripe/<str:token>/", stripe_webhook, name="stripe_webhook"),
    path("pay/", include("payments.portal.urls")),
    path("anymail/", include("reminders.webhooks")),
    path("", include("reminders.urls")),
    path("", include("partners.urls")),
]
