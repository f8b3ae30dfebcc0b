"""Labels staff read in the back office (in their language) and constraint messages in their
words instead of the constraints' names (issue 13)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("api", "0001_api_keys_and_remembered_requests")]

    operations = [
        migrations.AlterModelOptions(
            name="idempotentrequest",
            options={
                "verbose_name": "remembered API request",
                "verbose_name_plural": "remembered API requests",
            },
        ),
        migrations.AlterField(
            model_name="apikey",
            name="organisation",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="api_keys",
                to="clients.organisation",
                verbose_name="organisation",
            ),
        ),
        migrations.AlterField(
            model_name="idempotentrequest",
            name="body",
            field=models.BinaryField(default=b"", verbose_name="answer"),
        ),
        migrations.AlterField(
            model_name="idempotentrequest",
            name="content_type",
            field=models.CharField(blank=True, max_length=100, verbose_name="content type"),
        ),
        migrations.AlterField(
            model_name="idempotentrequest",
            name="created_at",
            field=models.DateTimeField(verbose_name="created at"),
        ),
        migrations.AlterField(
            model_name="idempotentrequest",
            name="fingerprint",
            field=models.CharField(max_length=64, verbose_name="body fingerprint"),
        ),
        migrations.AlterField(
            model_name="idempotentrequest",
            name="finished_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="finished at"),
        ),
        migrations.AlterField(
            model_name="idempotentrequest",
            name="key",
            field=models.CharField(max_length=255, verbose_name="idempotency key"),
        ),
        migrations.AlterField(
            model_name="idempotentrequest",
            name="organisation",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="clients.organisation",
                verbose_name="organisation",
            ),
        ),
        migrations.AlterField(
            model_name="idempotentrequest",
            name="state",
            field=models.CharField(
                choices=[("running", "Running"), ("done", "Done")],
                max_length=8,
                verbose_name="state",
            ),
        ),
        migrations.AlterField(
            model_name="idempotentrequest",
            name="status_code",
            field=models.PositiveSmallIntegerField(
                blank=True, null=True, verbose_name="status code"
            ),
        ),
        migrations.AlterConstraint(
            model_name="apikey",
            name="api_key_rate_in_range",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("requests_per_minute__gte", 1), ("requests_per_minute__lte", 1000000)
                ),
                name="api_key_rate_in_range",
                violation_error_message="Requests per minute go from 1 to 1,000,000.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="idempotentrequest",
            name="api_request_key_unique_in_organisation",
            constraint=models.UniqueConstraint(
                fields=("organisation", "key"),
                name="api_request_key_unique_in_organisation",
                violation_error_message=(
                    "This idempotency key was already used in this organisation."
                ),
            ),
        ),
    ]
