from django.urls import path

from dashboard.views import customers as views

urlpatterns = [
    path("", views.customer_list, name="customer_list"),
    path("new/", views.customer_create, name="customer_create"),
    path("<int:customer_id>/", views.customer_detail, name="customer_detail"),
    path("<int:customer_id>/edit/", views.customer_edit, name="customer_edit"),
    path("<int:customer_id>/archive/", views.customer_archive, name="customer_archive"),
    path("<int:customer_id>/restore/", views.customer_unarchive, name="customer_unarchive"),
    path("<int:customer_id>/auto-pay/", views.customer_autopay, name="customer_autopay"),
    path("<int:customer_id>/payment-methods/new/", views.payment_method_add, name="payment_method_add"),
    path(
        "<int:customer_id>/payment-methods/<int:payment_method_id>/default/",
        views.payment_method_set_default,
        name="payment_method_set_default",
    ),
    path(
        "<int:customer_id>/payment-methods/<int:payment_method_id>/remove/",
        views.payment_method_remove,
        name="payment_method_remove",
    ),
]
