"""The default messages telling complainants and assignees of a ticket's steps, in every language of the
portal; administrators edit them under Notifications → Message templates (never overwritten here)."""

from django.db import migrations

TEMPLATES = [{'key': 'grievance.status_changed.complainant',
  'language': 'en',
  'subject': 'Your complaint {number}: {status}',
  'body': 'Your complaint {number} is now: {status}. Follow it at {status_url} with your tracking code.'},
 {'key': 'grievance.status_changed.complainant',
  'language': 'fr',
  'subject': 'Votre plainte {number} : {status}',
  'body': 'Votre plainte {number} est maintenant : {status}. Suivez-la sur {status_url} avec votre code de '
          'suivi.'},
 {'key': 'grievance.status_changed.complainant',
  'language': 'pt',
  'subject': 'A sua reclamação {number}: {status}',
  'body': 'A sua reclamação {number} está agora: {status}. Acompanhe-a em {status_url} com o seu código de '
          'seguimento.'},
 {'key': 'grievance.status_changed.complainant',
  'language': 'es',
  'subject': 'Su queja {number}: {status}',
  'body': 'Su queja {number} está ahora: {status}. Sígala en {status_url} con su código de seguimiento.'},
 {'key': 'grievance.status_changed.assignee',
  'language': 'en',
  'subject': 'Ticket {number}: {status}',
  'body': 'Ticket {number} is now: {status}.\n{ticket_url}'},
 {'key': 'grievance.status_changed.assignee',
  'language': 'fr',
  'subject': 'Dossier {number} : {status}',
  'body': 'Le dossier {number} est maintenant : {status}.\n{ticket_url}'},
 {'key': 'grievance.status_changed.assignee',
  'language': 'pt',
  'subject': 'Processo {number}: {status}',
  'body': 'O processo {number} está agora: {status}.\n{ticket_url}'},
 {'key': 'grievance.status_changed.assignee',
  'language': 'es',
  'subject': 'Caso {number}: {status}',
  'body': 'El caso {number} está ahora: {status}.\n{ticket_url}'}]


def install(apps, schema_editor):
    template_model = apps.get_model("notifications", "MessageTemplate")
    for template in TEMPLATES:
        template_model.objects.get_or_create(
            key=template["key"],
            language=template["language"],
            defaults={"subject": template["subject"], "body": template["body"]},
        )


class Migration(migrations.Migration):
    dependencies = [
        ("grievances", "0003_intake_contact_partners"),
        ("notifications", "0001_initial"),
    ]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
