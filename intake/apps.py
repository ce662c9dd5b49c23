"""The intake app: XLSForms out, field submissions in through the upload pipeline."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntakeConfig(AppConfig):
    name = "intake"
    verbose_name = _("Field collection")
