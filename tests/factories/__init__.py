from datetime import timedelta

import factory
from django.utils import timezone

from customers.models import Customer
from partners.models import Invitation, Membership, Partner, Role, User
from partners.tokens import token_hash

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.django.Password(PASSWORD)


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    name = factory.Sequence(lambda n: f"Partner {n} IT Services")
    email = factory.Sequence(lambda n: f"billing{n}@partner.example")
    timezone = "America/New_York"
    default_currency = "USD"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    partner = factory.SubFactory(PartnerFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OWNER


class InvitationFactory(factory.django.DjangoModelFactory):
    """Pass `token="..."` to know the raw token; only its hash is stored."""

    class Meta:
        model = Invitation
        exclude = ["token"]

    partner = factory.SubFactory(PartnerFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.MEMBER
    token = factory.Sequence(lambda n: f"invitation-token-{n}")
    token_hash = factory.LazyAttribute(lambda o: token_hash(o.token))
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    partner = factory.SubFactory(PartnerFactory)
    name = factory.Sequence(lambda n: f"Contact {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
