from django.urls import path

from nirantar.billing import views

urlpatterns = [
    path("", views.cashier, name="billing-cashier"),
    path("pay", views.take_payment, name="billing-pay"),
    path("receipts/<str:receipt>.pdf", views.receipt_pdf, name="billing-receipt"),
    path("refunds", views.refunds, name="billing-refunds"),
    path("refunds/decide", views.decide_refund, name="billing-decide"),
    path("closing", views.closing, name="billing-closing"),
    path("closing/preview", views.closing_preview, name="billing-closing-preview"),
    path("charges/cancel", views.cancel_charge, name="billing-cancel-charge"),
    path("procedure", views.procedure, name="billing-procedure"),
    path("conflicts", views.conflicts, name="billing-conflicts"),
    path("conflicts/resolve", views.resolve_conflict, name="billing-resolve"),
]
