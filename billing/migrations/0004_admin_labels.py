"""Labels staff read in the back office (in their language) and constraint messages in their
words instead of the constraints' names (issue 13)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0003_card_typed_at_checkout"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="autotopup",
            name="organisation",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE,
                primary_key=True,
                related_name="auto_top_up",
                serialize=False,
                to="clients.organisation",
                verbose_name="organisation",
            ),
        ),
        migrations.AlterField(
            model_name="billingprofile",
            name="organisation",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                primary_key=True,
                related_name="billing",
                serialize=False,
                to="clients.organisation",
                verbose_name="organisation",
            ),
        ),
        migrations.AlterField(
            model_name="billingprofile",
            name="price_list",
            field=models.ForeignKey(
                blank=True,
                help_text="A partner's own list; empty: the default list of the currency.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                to="billing.pricelist",
                verbose_name="price list",
            ),
        ),
        migrations.AlterField(
            model_name="invoice",
            name="credit_note_for",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="credit_note",
                to="billing.invoice",
                verbose_name="credit note for",
            ),
        ),
        migrations.AlterField(
            model_name="invoice",
            name="organisation",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="invoices",
                to="clients.organisation",
                verbose_name="organisation",
            ),
        ),
        migrations.AlterField(
            model_name="invoiceline",
            name="invoice",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="lines",
                to="billing.invoice",
                verbose_name="invoice",
            ),
        ),
        migrations.AlterField(
            model_name="package",
            name="price_list",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="packages",
                to="billing.pricelist",
                verbose_name="price list",
            ),
        ),
        migrations.AlterField(
            model_name="payment",
            name="invoice",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="payments",
                to="billing.invoice",
                verbose_name="invoice",
            ),
        ),
        migrations.AlterField(
            model_name="pricetier",
            name="price_list",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="tiers",
                to="billing.pricelist",
                verbose_name="price list",
            ),
        ),
        migrations.AlterField(
            model_name="purchase",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                to=settings.AUTH_USER_MODEL,
                verbose_name="bought by",
            ),
        ),
        migrations.AlterField(
            model_name="purchase",
            name="idempotency_key",
            field=models.CharField(blank=True, max_length=200, verbose_name="idempotency key"),
        ),
        migrations.AlterField(
            model_name="purchase",
            name="invoice",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="purchase",
                to="billing.invoice",
                verbose_name="invoice",
            ),
        ),
        migrations.AlterField(
            model_name="purchase",
            name="lot",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="purchase",
                to="credits.lot",
                verbose_name="lot",
            ),
        ),
        migrations.AlterField(
            model_name="purchase",
            name="organisation",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="purchases",
                to="clients.organisation",
                verbose_name="organisation",
            ),
        ),
        migrations.AlterField(
            model_name="purchase",
            name="package",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                to="billing.package",
                verbose_name="package",
            ),
        ),
        migrations.AlterField(
            model_name="purchase",
            name="plan",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="purchases",
                to="billing.plan",
                verbose_name="plan",
            ),
        ),
        migrations.AlterField(
            model_name="subscription",
            name="next_plan",
            field=models.ForeignKey(
                blank=True,
                help_text="A downgrade waiting for the next renewal.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="billing.plan",
                verbose_name="next plan",
            ),
        ),
        migrations.AlterField(
            model_name="subscription",
            name="organisation",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="subscription",
                to="clients.organisation",
                verbose_name="organisation",
            ),
        ),
        migrations.AlterField(
            model_name="subscription",
            name="plan",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="subscriptions",
                to="billing.plan",
                verbose_name="plan",
            ),
        ),
        migrations.AlterConstraint(
            model_name="autotopup",
            name="top_up_buys_credits",
            constraint=models.CheckConstraint(
                condition=models.Q(("credits__gte", 1)),
                name="top_up_buys_credits",
                violation_error_message="A top-up buys 1 credit or more.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="autotopup",
            name="top_up_cap_positive",
            constraint=models.CheckConstraint(
                condition=models.Q(("monthly_cap__gt", 0)),
                name="top_up_cap_positive",
                violation_error_message="The monthly cap must be above zero.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="billingprofile",
            name="tax_rate_percentage",
            constraint=models.CheckConstraint(
                condition=models.Q(("tax_rate__gte", 0), ("tax_rate__lte", 100)),
                name="tax_rate_percentage",
                violation_error_message="The tax rate is a percentage, from 0 to 100.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="invoice",
            name="invoice_number_gapless_unique",
            constraint=models.UniqueConstraint(
                fields=("series", "year", "sequence"),
                name="invoice_number_gapless_unique",
                violation_error_message="This invoice number is already given.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="invoicecounter",
            name="invoice_counter_unique",
            constraint=models.UniqueConstraint(
                fields=("series", "year"),
                name="invoice_counter_unique",
                violation_error_message="This series already has a counter for this year.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="package",
            name="package_has_credits",
            constraint=models.CheckConstraint(
                condition=models.Q(("credits__gte", 1)),
                name="package_has_credits",
                violation_error_message="A package holds 1 credit or more.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="package",
            name="package_price_positive",
            constraint=models.CheckConstraint(
                condition=models.Q(("price__gt", 0)),
                name="package_price_positive",
                violation_error_message="A package's price must be above zero.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="payment",
            name="payment_positive",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gt", 0)),
                name="payment_positive",
                violation_error_message="A payment's amount must be above zero.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="plan",
            name="plan_price_not_negative",
            constraint=models.CheckConstraint(
                condition=models.Q(("monthly_price__gte", 0)),
                name="plan_price_not_negative",
                violation_error_message="The monthly price cannot be negative.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="pricelist",
            name="price_list_one_default_per_currency",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_default", True)),
                fields=("currency",),
                name="price_list_one_default_per_currency",
                violation_error_message="This currency already has a default price list.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="pricetier",
            name="tier_unique_start",
            constraint=models.UniqueConstraint(
                fields=("price_list", "min_credits"),
                name="tier_unique_start",
                violation_error_message="This price list already has a tier from this quantity.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="pricetier",
            name="tier_price_positive",
            constraint=models.CheckConstraint(
                condition=models.Q(("unit_price__gt", 0)),
                name="tier_price_positive",
                violation_error_message="The price per credit must be above zero.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="pricetier",
            name="tier_starts_at_one",
            constraint=models.CheckConstraint(
                condition=models.Q(("min_credits__gte", 1)),
                name="tier_starts_at_one",
                violation_error_message="A tier starts at 1 credit or more.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="purchase",
            name="purchase_idempotency_key_unique",
            constraint=models.UniqueConstraint(
                condition=models.Q(("idempotency_key", ""), _negated=True),
                fields=("organisation", "idempotency_key"),
                name="purchase_idempotency_key_unique",
                violation_error_message=(
                    "This idempotency key was already used for another purchase."
                ),
            ),
        ),
        migrations.AlterConstraint(
            model_name="purchase",
            name="purchase_money_not_negative",
            constraint=models.CheckConstraint(
                condition=models.Q(("total__gte", 0), ("amount__gte", 0), ("tax__gte", 0)),
                name="purchase_money_not_negative",
                violation_error_message="Amounts, tax and total cannot be negative.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="purchase",
            name="purchase_plan_period_paid_once",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("status__in", ["charging", "charged", "paid"]), ("kind", "plan_renewal")
                ),
                fields=("organisation", "period_start"),
                name="purchase_plan_period_paid_once",
                violation_error_message="This plan period is already paid for.",
            ),
        ),
    ]
