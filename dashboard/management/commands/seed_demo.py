"""Demo data for `make run`: a partner with customers and invoices, a second one for the switcher, a
platform admin.

Safe to run on every start: it creates what is missing and leaves everything else alone.
"""

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django_scopes import scope, scopes_disabled

from customers.models import Customer
from customers.services import customer_create
from invoicing.models import Invoice, PaymentOption, RecurringEnd, RecurringFrequency
from invoicing.recurring import RecurringInput, recurring_create
from invoicing.services import InvoiceInput, LineInput, invoice_create
from partners.models import Membership, Partner, Role, User
from partners.services import partner_create
from payments.gateways.base import BankAccountDetails, CardDetails
from payments.models import PaymentMethodType
from payments.services import customer_set_autopay, payment_method_add, payment_record_offline

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-partner-2026"
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-platform-2026"


class Command(BaseCommand):
    help = "Create the demo partner, its owner and a platform admin if they do not exist."

    @transaction.atomic
    def handle(self, *args, **options):
        with scopes_disabled():  # demo data for several partners
            owner = self._user(DEMO_EMAIL, DEMO_PASSWORD, full_name="Dana Demo")
            self._user(
                ADMIN_EMAIL, ADMIN_PASSWORD, full_name="Platform Admin", is_staff=True, is_superuser=True
            )
            northwind = self._partner(
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
            with scope(partner=northwind):
                self._invoices(northwind, owner)
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

    def _invoices(self, partner: Partner, owner: User) -> None:
        """A handful of customers and invoices in every state, the first time only."""
        if Customer.objects.filter(partner=partner).exists():
            return
        customers = [
            customer_create(partner=partner, data=fields)
            for fields in (
                {
                    "name": "Ada Lovelace",
                    "company": "Analytical Engines Ltd",
                    "email": "ada@analytical.example",
                },
                {"name": "Grace Hopper", "company": "Cobol Cloud Co", "email": "grace@cobol.example"},
                {"name": "Alan Turing", "company": "Bletchley Partners", "email": "alan@bletchley.example"},
                {
                    "name": "Katherine Johnson",
                    "company": "Orbit Analytics",
                    "email": "katherine@orbit.example",
                },
            )
        ]
        self._payment_methods(customers)
        today = partner.today()
        plans = [
            (customers[0], [("Managed IT services, monthly", "1", 250_000, "0")], "auto-pay", 14),
            (
                customers[1],
                [("Laptop", "2", 129_999, "8.25"), ("Setup and imaging", "2", 15_000, "0")],
                "paid",
                30,
            ),
            (customers[2], [("Firewall appliance", "1", 89_900, "8.25")], "partly paid", 30),
            (customers[3], [("Cloud backup, 500 GB", "1", 4_900, "0")], "overdue", 7),
            (customers[0], [("Onsite support, hours", "6", 12_500, "0")], "draft", 30),
        ]
        for customer, lines, state, due_in in plans:
            data = InvoiceInput(
                customer=customer,
                due_date=today + datetime.timedelta(days=due_in),
                currency=partner.default_currency,
                lines=[LineInput(d, Decimal(q), price, Decimal(rate)) for d, q, price, rate in lines],
                memo="Thank you for your business.",
                payment_option=PaymentOption.CHARGE_ON_DUE_DATE
                if state == "auto-pay"
                else PaymentOption.CHARGE_LATER,
            )
            invoice = invoice_create(partner=partner, data=data, created_by=owner, finalize=state != "draft")
            if state in ("paid", "partly paid"):
                amount = invoice.total if state == "paid" else invoice.total // 2
                payment_record_offline(
                    invoice=invoice,
                    amount=amount,
                    method=PaymentMethodType.CHECK,
                    received_on=today,
                    actor=owner,
                )
            if state == "overdue":
                # Demo only: the app never accepts a past due date, so age this one directly.
                Invoice.objects.filter(pk=invoice.pk).update(due_date=today - datetime.timedelta(days=12))
        self._recurring(partner, owner, customers)

    def _recurring(self, partner: Partner, owner: User, customers: list[Customer]) -> None:
        """Ada on Auto-Pay monthly from the 1st; Katherine's weekly backup starting today (beat issues
        its first invoice within a minute of `make run`); Alan quarterly on Charge on due date without a
        saved method, so his schedule shows the warning."""
        ada, _, alan, katherine = customers
        today = partner.today()
        first_of_next_month = (today.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
        plans = [
            (ada, "Managed IT services, monthly", 250_000, RecurringFrequency.MONTHLY, first_of_next_month,
             PaymentOption.CHARGE_ON_DUE_DATE, {}),
            (katherine, "Cloud backup, 500 GB", 4_900, RecurringFrequency.WEEKLY, today,
             PaymentOption.EMAIL_PAYMENT_LINK, {}),
            (alan, "Firewall monitoring, quarterly", 45_000, RecurringFrequency.QUARTERLY, today
             + datetime.timedelta(days=10), PaymentOption.CHARGE_ON_DUE_DATE,
             {"end_mode": RecurringEnd.AFTER_COUNT, "end_count": 4}),
        ]  # fmt: skip
        for customer, description, price, frequency, start, option, ending in plans:
            data = RecurringInput(
                customer=customer,
                currency=partner.default_currency,
                lines=[LineInput(description, Decimal(1), price)],
                frequency=frequency,
                start_date=start,
                payment_option=option,
                days_until_due=14,
                memo="Thank you for your business.",
                **ending,
            )
            recurring_create(partner=partner, data=data, created_by=owner)

    def _payment_methods(self, customers: list[Customer]) -> None:
        """Sandbox test methods: Ada pays by card on Auto-Pay, Grace by bank debit, Katherine's card
        declines (insufficient funds), so failed charges and retries show up too."""
        ada, grace, _, katherine = customers
        year = ada.partner.today().year + 3
        payment_method_add(
            customer=ada,
            details=CardDetails("4242424242424242", 12, year, "123", ada.name),
            make_default=True,
        )
        customer_set_autopay(customer=ada, enabled=True)
        payment_method_add(
            customer=grace,
            details=BankAccountDetails("110000000", "000123456789", grace.name),
            make_default=True,
        )
        payment_method_add(
            customer=katherine,
            details=CardDetails("4000000000009995", 6, year, "123", katherine.name),
            make_default=True,
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
