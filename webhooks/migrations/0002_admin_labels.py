"""Labels staff read in the back office, in their language (issue 13)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_endpoints_events_deliveries")]

    operations = [
        migrations.AlterField(
            model_name="attempt",
            name="delivery",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="attempt_set",
                to="webhooks.delivery",
                verbose_name="delivery",
            ),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="endpoint",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="deliveries",
                to="webhooks.endpoint",
                verbose_name="endpoint",
            ),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="event",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="deliveries",
                to="webhooks.event",
                verbose_name="event",
            ),
        ),
        migrations.AlterField(
            model_name="endpoint",
            name="organisation",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="webhook_endpoints",
                to="clients.organisation",
                verbose_name="organisation",
            ),
        ),
        migrations.AlterField(
            model_name="event",
            name="organisation",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="webhook_events",
                to="clients.organisation",
                verbose_name="organisation",
            ),
        ),
    ]
