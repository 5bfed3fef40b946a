from django.urls import path

from customers import views

urlpatterns = [
    path("", views.customer_list, name="customer_list"),
]
