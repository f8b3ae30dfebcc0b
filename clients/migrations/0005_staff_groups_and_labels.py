"""Staff groups of the back office (issue 13, perms.md), and the labels and constraint messages
staff read there.

The groups hold Django's own model permissions only, so that what a person may do in the back
office is read on their page in admin ("Support" reads; "Billing" acts on invoices and
purchases; "Rate cards" edits prices; "Ledger corrections" adjusts pools, limits and holds).
The apps' permissions are created here (Django creates them only after every migration ran),
so that a fresh database gets complete groups. The reverse deletes the four groups.
"""

import django.db.models.deletion
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

READ_APPS = ["clients", "credits", "billing", "api", "webhooks", "axes"]

SUPPORT = "Support"
BILLING = "Billing"
RATE_CARDS = "Rate cards"
LEDGER_CORRECTIONS = "Ledger corrections"

# What each group may do beyond reading (app label, codename).
BEYOND_READING = {
    SUPPORT: [],
    BILLING: [
        ("billing", f"{verb}_{model}")
        for model in ("invoice", "purchase", "billingprofile", "subscription")
        for verb in ("add", "change")
    ],
    RATE_CARDS: [
        *(
            ("credits", f"{verb}_{model}")
            for model in ("billableaction", "actionprice", "smsrate")
            for verb in ("add", "change", "delete")
        ),
        ("credits", "add_consumption"),  # "Try this action"
    ],
    LEDGER_CORRECTIONS: [
        ("credits", "change_creditpool"),
        ("credits", "change_clientaccount"),
        ("credits", "change_hold"),
    ],
}


def _permissions(apps, wanted):
    Permission = apps.get_model("auth", "Permission")
    found = []
    for app_label, codename in wanted:
        found.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return found


def create_staff_groups(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    reading = list(
        Permission.objects.filter(
            content_type__app_label__in=READ_APPS, codename__startswith="view_"
        )
    ) + list(Permission.objects.filter(content_type__app_label="auth", codename="view_user"))
    for name, more in BEYOND_READING.items():
        group, _created = Group.objects.get_or_create(name=name)
        group.permissions.set([*reading, *_permissions(apps, more)])


def delete_staff_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(BEYOND_READING)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0004_client_external_id"),
        ("credits", "0022_bounds"),
        ("billing", "0005_bounds"),
        ("api", "0002_admin_labels"),
        ("webhooks", "0002_admin_labels"),
        ("axes", "0010_accessattemptexpiration"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(create_staff_groups, delete_staff_groups),
        migrations.AlterField(
            model_name="client",
            name="organisation",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="clients",
                to="clients.organisation",
                verbose_name="organisation",
            ),
        ),
        migrations.AlterField(
            model_name="invitation",
            name="organisation",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="invitations",
                to="clients.organisation",
                verbose_name="organisation",
            ),
        ),
        migrations.AlterField(
            model_name="membership",
            name="organisation",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="memberships",
                to="clients.organisation",
                verbose_name="organisation",
            ),
        ),
        migrations.AlterField(
            model_name="membership",
            name="user",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="memberships",
                to=settings.AUTH_USER_MODEL,
                verbose_name="person",
            ),
        ),
        migrations.AlterConstraint(
            model_name="client",
            name="client_one_own_client_per_organisation",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind", "own")),
                fields=("organisation",),
                name="client_one_own_client_per_organisation",
                violation_error_message=(
                    "The organisation already has its own client: it is created with it."
                ),
            ),
        ),
        migrations.AlterConstraint(
            model_name="client",
            name="client_name_unique_in_organisation",
            constraint=models.UniqueConstraint(
                fields=("organisation", "name"),
                name="client_name_unique_in_organisation",
                violation_error_message="This name is already used in this organisation.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="client",
            name="client_external_id_unique_in_organisation",
            constraint=models.UniqueConstraint(
                condition=models.Q(("external_id", ""), _negated=True),
                fields=("organisation", "external_id"),
                name="client_external_id_unique_in_organisation",
                violation_error_message=(
                    "This external ID is already used by another client of this organisation."
                ),
            ),
        ),
        migrations.AlterConstraint(
            model_name="invitation",
            name="invitation_one_open_per_email_and_organisation",
            constraint=models.UniqueConstraint(
                condition=models.Q(("accepted_at__isnull", True), ("cancelled_at__isnull", True)),
                fields=("organisation", "email"),
                name="invitation_one_open_per_email_and_organisation",
                violation_error_message=(
                    "This e-mail is already invited: send the invitation again or cancel it."
                ),
            ),
        ),
        migrations.AlterConstraint(
            model_name="invitation",
            name="invitation_only_members_are_tied",
            constraint=models.CheckConstraint(
                condition=models.Q(("client__isnull", True), ("role", "member"), _connector="OR"),
                name="invitation_only_members_are_tied",
                violation_error_message=(
                    "Only a member can be limited to one client; owners and admins see all."
                ),
            ),
        ),
        migrations.AlterConstraint(
            model_name="invitation",
            name="invitation_not_both_accepted_and_cancelled",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("accepted_at__isnull", True), ("cancelled_at__isnull", True), _connector="OR"
                ),
                name="invitation_not_both_accepted_and_cancelled",
                violation_error_message="An invitation is either accepted or cancelled, not both.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="membership",
            name="membership_one_per_user_and_organisation",
            constraint=models.UniqueConstraint(
                fields=("user", "organisation"),
                name="membership_one_per_user_and_organisation",
                violation_error_message="This person is already a member of the organisation.",
            ),
        ),
        migrations.AlterConstraint(
            model_name="membership",
            name="membership_only_members_are_tied",
            constraint=models.CheckConstraint(
                condition=models.Q(("client__isnull", True), ("role", "member"), _connector="OR"),
                name="membership_only_members_are_tied",
                violation_error_message=(
                    "Only a member can be limited to one client; owners and admins see all."
                ),
            ),
        ),
    ]
