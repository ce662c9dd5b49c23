from django.urls import path

from identity import views

app_name = "identity"
urlpatterns = [
    path("enrol/", views.enrol, name="enrol"),
    path("verify/", views.verify, name="verify"),
    path("sessions/", views.sessions, name="sessions"),
]
