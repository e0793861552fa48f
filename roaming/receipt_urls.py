from django.urls import path

from roaming import receipt_views

urlpatterns = [
    path("<uuid:public_id>/", receipt_views.receipt, name="receipt"),
    path("<uuid:public_id>.pdf", receipt_views.receipt_download, name="receipt_pdf"),
]
