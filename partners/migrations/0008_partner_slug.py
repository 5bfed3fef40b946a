import secrets

from django.db import migrations, models

import partners.models


def fill_slugs(apps, schema_editor):
    Partner = apps.get_model("partners", "Partner")
    for partner in Partner.objects.filter(slug=None).only("pk"):
        partner.slug = secrets.token_urlsafe(12)  # as partners.models.new_partner_slug
        partner.save(update_fields=["slug"])


class Migration(migrations.Migration):
    """Partner.slug for existing rows: added empty (and without an index, which the unique constraint
    brings), filled with a random slug per partner, then made required and unique."""

    dependencies = [
        ("partners", "0007_audit_payment_methods"),
    ]

    operations = [
        migrations.AddField(
            model_name="partner",
            name="slug",
            field=models.SlugField(max_length=32, null=True, db_index=False, editable=False),
        ),
        migrations.RunPython(fill_slugs, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="partner",
            name="slug",
            field=models.SlugField(
                default=partners.models.new_partner_slug, editable=False, max_length=32, unique=True
            ),
        ),
    ]
