from django.urls import include, path

from payments.portal import views

urlpatterns = [
    path("", views.pay_lookup, name="pay_lookup"),
    path("brand/<str:colour>.css", views.brand_stylesheet, name="pay_brand_css"),
    path("<slug:partner_slug>/account/", include("payments.portal.account.urls")),
    path("<str:token>/", views.pay_page, name="pay_page"),
    path("<str:token>/pdf/", views.pay_pdf, name="pay_pdf"),
    path("<str:token>/confirm/", views.pay_confirm, name="pay_confirm"),
    path("<str:token>/pay/", views.pay_new, name="pay_new"),
    path("<str:token>/result/", views.pay_result, name="pay_result"),
    path("<str:token>/other/<int:invoice_id>/", views.pay_other, name="pay_other"),
]
