from django.urls import path

from billing import views

app_name = "billing"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("buy/", views.buy, name="buy"),
    path("plan/", views.change_plan, name="change_plan"),
    path("cards/", views.card_add, name="card_add"),
    path("cards/<id:pk>/delete/", views.card_delete, name="card_delete"),
    path("pay-now/", views.pay_now, name="pay_now"),
    path("cancel/", views.cancel, name="cancel"),
    path("invoices/<str:number>.pdf", views.invoice_download, name="invoice_pdf"),
]
