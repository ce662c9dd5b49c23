"""The public grievance pages, mounted at /grievances/ by portal/urls.py (no sign-in)."""

from django.urls import path

from grievances import public

app_name = "grievances_public"

urlpatterns = [
    path("file/", public.ticket_file, name="file"),
    path("status/", public.ticket_status, name="status"),
]
