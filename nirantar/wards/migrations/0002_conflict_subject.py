from django.db import migrations, models


class Migration(migrations.Migration):
    """The ward projection looks a subject's conflicts up after every placement and
    discharge; without this index each look-up read the whole conflict table."""

    dependencies = [
        ("wards", "0001_wards"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="conflict",
            index=models.Index(fields=["subject", "kind"], name="wards_conflict_subject"),
        ),
    ]
