from django.urls import path

from payments import views

urlpatterns = [
    path("account/payment-methods/", views.payment_methods, name="payment_methods"),
    path("account/payment-methods/setup/", views.payment_method_setup, name="payment_method_setup"),
    path(
        "payments/<int:payment_id>/authenticate/",
        views.payment_authenticate,
        name="payment_authenticate",
    ),
    path("payments/stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
]
