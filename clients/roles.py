"""The role matrix: what owners, admins and members may do in their organisation (D4, X5).

Every organisation page names one permission (`clients.access.organisation_page`); a role
without it answers 403. A member may also be tied to one client, and then sees and spends only
for that client: pages find clients through `clients.selectors.visible_clients`, which answers
only that one, so another client's id is a 404 for them.

| permission       | owner | admin | member |
|------------------|:-----:|:-----:|:------:|
| view             |   ✓   |   ✓   |   ✓    |  figures, rate card, activity, usage, clients, members
| spend            |   ✓   |   ✓   |   ✓    |  quotes and consumptions
| manage_clients   |   ✓   |   ✓   |        |  create, edit, deactivate clients; assign; limits
| buy              |   ✓   |   ✓   |        |  buy credits, read invoices
| manage_members   |   ✓   |       |        |  invite, change roles, remove members
| manage_plan      |   ✓   |       |        |  plan, card on file, billing profile, alerts, top-up
| manage_integrations | ✓  |       |        |  API keys and webhook endpoints (K4, B3)
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from clients.models import Role


class Permission(models.TextChoices):
    VIEW = "view", _("See figures and history")
    SPEND = "spend", _("Spend credits")
    MANAGE_CLIENTS = "manage_clients", _("Manage clients, assignments and limits")
    BUY = "buy", _("Buy credits and read invoices")
    MANAGE_MEMBERS = "manage_members", _("Manage members and roles")
    MANAGE_PLAN = "manage_plan", _("Manage the plan and payment details")
    MANAGE_INTEGRATIONS = "manage_integrations", _("Manage API keys and webhooks")


ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset(Permission.values),
    Role.ADMIN: frozenset(Permission.values)
    - {Permission.MANAGE_MEMBERS, Permission.MANAGE_PLAN, Permission.MANAGE_INTEGRATIONS},
    Role.MEMBER: frozenset({Permission.VIEW, Permission.SPEND}),
}


def permissions_of(role: str) -> frozenset[str]:
    return ROLE_PERMISSIONS.get(role, frozenset())
