"""Memberships: who belongs to an organisation, with which role (D4, X5)."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext as _

from clients.exceptions import LastOwnerError
from clients.models import Membership, Organisation, Role


@transaction.atomic
def add_member(
    *, organisation: Organisation, user: AbstractBaseUser, role: str = Role.MEMBER
) -> Membership:
    membership = Membership(organisation=organisation, user=user, role=role)
    membership.full_clean()
    membership.save()
    return membership


def _lock_owners(organisation: Organisation) -> int:
    """Lock the owner rows so two concurrent demotions cannot both leave no owner."""
    owners = Membership.objects.select_for_update().filter(
        organisation=organisation, role=Role.OWNER
    )
    return len(list(owners))


@transaction.atomic
def change_role(*, membership: Membership, role: str) -> Membership:
    demotes_owner = membership.role == Role.OWNER and role != Role.OWNER
    if demotes_owner and _lock_owners(membership.organisation) <= 1:
        raise LastOwnerError(_("An organisation must keep at least one owner."))
    membership.role = role
    membership.full_clean()
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def remove_member(*, membership: Membership) -> None:
    if membership.role == Role.OWNER and _lock_owners(membership.organisation) <= 1:
        raise LastOwnerError(_("An organisation must keep at least one owner."))
    membership.delete()
