"""Offers staff type in admin stay within what one operation may move (credits.bounds): a
package, a plan's monthly allowance or a tier's threshold past 10**12 credits, or a package
valid for more than 1200 months, is a form error instead of a purchase that later fails.
Validators only: no table changes."""

import django.core.validators
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("billing", "0004_admin_labels")]

    operations = [
        migrations.AlterField(
            model_name="package",
            name="credits",
            field=models.PositiveBigIntegerField(
                validators=[django.core.validators.MaxValueValidator(1000000000000)],
                verbose_name="credits",
            ),
        ),
        migrations.AlterField(
            model_name="package",
            name="validity_months",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="Empty: the policy decides.",
                null=True,
                validators=[django.core.validators.MaxValueValidator(1200)],
                verbose_name="validity (months)",
            ),
        ),
        migrations.AlterField(
            model_name="plan",
            name="included_credits",
            field=models.PositiveBigIntegerField(
                validators=[django.core.validators.MaxValueValidator(1000000000000)],
                verbose_name="credits included each month",
            ),
        ),
        migrations.AlterField(
            model_name="pricetier",
            name="min_credits",
            field=models.PositiveBigIntegerField(
                validators=[django.core.validators.MaxValueValidator(1000000000000)],
                verbose_name="from (credits)",
            ),
        ),
    ]
