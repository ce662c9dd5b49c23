from django.urls import path

from identity import sso_views

app_name = "sso"
urlpatterns = [
    path("start/", sso_views.SsoStartView.as_view(), name="start"),
    path("callback/", sso_views.SsoCallbackView.as_view(), name="callback"),
]
