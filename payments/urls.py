"""Buyer-facing pages outside the admin (namespace "payments", mounted at /payments/)."""

from django.urls import path

from . import views

app_name = "payments"
urlpatterns = [
    path("return/", views.payment_return, name="return"),
    path("sandbox/<str:token>/", views.sandbox_checkout, name="sandbox_checkout"),
    path("razorpay/<str:token>/", views.razorpay_checkout, name="razorpay_checkout"),
    path("razorpay/<str:token>/callback/", views.razorpay_callback, name="razorpay_callback"),
    path("bank-transfer/<str:token>/", views.bank_transfer_instructions, name="bank_transfer_instructions"),
]
