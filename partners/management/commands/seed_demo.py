"""Demo data for `make run`: a partner to sign in to, a second one for the switcher, a platform admin.

Safe to run on every start: it creates what is missing and leaves everything else alone.
"""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django_scopes import scopes_disabled

from partners.models import Membership, Partner, Role, User
from partners.services import partner_create

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-partner-2026"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-platform-2026"


class Command(BaseCommand):
    help = "Create the demo partner, its owner and a platform admin if they do not exist."

    @transaction.atomic
    def handle(self, *args, **options):
        with scopes_disabled():
            owner = self._user(DEMO_EMAIL, DEMO_PASSWORD, full_name="Dana Demo")
            self._user(
                ADMIN_EMAIL, ADMIN_PASSWORD, full_name="Platform Admin", is_staff=True, is_superuser=True
            )
            self._partner(
                owner,
                name="Northwind IT Services",
                legal_name="Northwind IT Services LLC",
                email="billing@northwind.example",
                address_line1="200 Congress Ave",
                city="Austin",
                region="TX",
                postal_code="78701",
                country="US",
                timezone="America/Chicago",
                default_currency="USD",
            )
            self._partner(
                owner,
                name="Harbour Managed Services",
                email="accounts@harbour.example",
                city="Auckland",
                country="NZ",
                timezone="Pacific/Auckland",
                default_currency="NZD",
                locale="en-NZ",
                brand_colour="#0b6e4f",
            )
        site = settings.SITE_URL
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "  Demo data ready.",
                    f"  Partner dashboard: {site}/login/  email {DEMO_EMAIL}  password {DEMO_PASSWORD}",
                    f"  Platform admin:    {site}/admin/  email {ADMIN_EMAIL}  password {ADMIN_PASSWORD}",
                    f"  Emails sent by the app: {site}/dev/outbox/",
                    "",
                ]
            )
        )

    def _user(self, email: str, password: str, **fields) -> User:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=password, **fields)
        return user

    def _partner(self, owner: User, *, name: str, **details) -> Partner:
        partner = Partner.objects.filter(name=name, memberships__user=owner).first()
        if partner is None:
            partner = partner_create(name=name, owner=owner, **details)
        Membership.objects.get_or_create(partner=partner, user=owner, defaults={"role": Role.OWNER})
        return partner
