"""Tenant isolation, checked over every URL in the URLconf so new pages are covered without editing this.

Each URL that takes an id is requested, with that id taken from partner A's data, by partner B's owner:
all must answer 404. Each partner page is POSTed to by A's Read-only member: all must answer 403.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_scopes import ScopeError, scope

from api.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from api.services import api_key_create
from api.urls import API_NAMESPACE
from customers.models import PaymentMethod
from partners.models import Membership, Role
from payments.services import payment_record_offline
from reminders.models import SuppressedAddress
from tests.conftest import client_for, member_of
from tests.factories import CustomerFactory, InvitationFactory
from tests.factories.invoicing import make_invoice
from tests.factories.recurring import make_schedule

# URLs with parameters that are not a partner's data. Each needs a reason; a new one fails the test
# below until it is either a `partner_view` (and so covered) or added here.
NOT_TENANT_DATA = {
    "invitation_accept": "public: the emailed token is the credential (tested in test_invitations)",
    "partner_logo": "public: logos appear on emails and pay pages; addressed by content hash",
    "password_reset_confirm": "public: Django's signed reset token",
    "outbox_detail": "development outbox, all partners' mail, off in production (test_outbox)",
    "outbox_html": "development outbox",
    "outbox_attachment": "development outbox",
    "pay_page": "public: the pay link's token is the credential (tests/payments/test_pay_page.py)",
    "pay_pdf": "public: the pay link's token is the credential",
    "pay_confirm": "public: the pay link's token is the credential; charges only that invoice",
    "pay_result": "public: the pay link's token is the credential; shows only that invoice's attempts",
    "pay_brand_css": "public: a brand colour as CSS, keyed by the colour itself; no partner data",
    "email_tracking_webhook": "the email provider's webhook, EMAIL_ESP's only, behind ANYMAIL_WEBHOOK_SECRET "
    "(tests/reminders/test_webhooks.py); events find their email by the provider's message id",
    "pay_new": "public: the pay link's token is the credential; charges only that invoice",
    "pay_other": "public: the pay link's token is the credential; opens only that customer's other open "
    "invoices at that partner (tests/payments/test_pay_link_other_invoices.py)",
    "stripe_webhook": "a partner's Stripe account's webhook: the URL's secret finds the account, whose own "
    "signing secret checks every event (tests/payments/test_processor_accounts.py)",
    **dict.fromkeys(
        (
            "portal_invoices",
            "portal_sign_in",
            "portal_sign_in_link",
            "portal_sign_out",
            "portal_pay",
            "portal_payments",
            "portal_invoice_pdf",
            "portal_methods",
            "portal_method_default",
            "portal_method_remove",
            "portal_autopay",
            "portal_details",
        ),
        "customer portal: the partner in the URL, the customer from their own portal session; other "
        "customers' ids are 404 (tests/payments/test_portal_account.py)",
    ),
}


def walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue  # platform admins only, behind is_staff
            if entry.namespace == API_NAMESPACE:
                continue  # API keys, not sessions: tests/api/test_keys_and_tenancy.py walks every route
            yield from walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield entry, prefix + str(entry.pattern)


def partner_urls():
    return [
        (p, route)
        for p, route in walk(get_resolver().url_patterns)
        if getattr(p.callback, "partner_view", False)
    ]


def object_ids_of(partner) -> dict[str, object]:
    """One object of `partner` for every URL keyword argument; a new kind of id must be added here."""
    with_scope = Membership.objects.with_scopes_disabled()
    member = member_of(partner, Role.MEMBER)
    customer = CustomerFactory(partner=partner)
    issued = make_invoice(partner, customer=customer)
    with scope(partner=partner):
        payment = payment_record_offline(
            invoice=issued, amount=1_000, method="check", received_on=partner.today(), actor=None
        )
        method = PaymentMethod.objects.create(
            partner=partner, customer=customer, kind="card", brand="Visa", last4="4242", gateway_token="tok"
        )
        paused = SuppressedAddress.objects.create(
            partner=partner, address="gone@example.com", reason="Bounced"
        )
        key, _ = api_key_create(partner=partner, name="Books", scope="read", created_by=None)
        endpoint = WebhookEndpoint.objects.create(
            partner=partner, url="https://example.com/hook", event_types=["invoice.paid"]
        )
        event = WebhookEvent.objects.create(
            partner=partner, type="invoice.paid", object_id=issued.pk, payload={}
        )
        delivery = WebhookDelivery.objects.create(partner=partner, event=event, endpoint=endpoint)
    return {
        "membership_id": with_scope.get(user=member.user, partner=partner).pk,
        "invitation_id": InvitationFactory(partner=partner).pk,
        "customer_id": customer.pk,
        "invoice_id": make_invoice(partner, finalize=False).pk,
        "payment_method_id": method.pk,
        "payment_id": payment.pk,
        "suppressed_id": paused.pk,
        "schedule_id": make_schedule(partner, customer=customer, start_date=partner.today()).pk,
        "key_id": key.pk,
        "endpoint_id": endpoint.pk,
        "delivery_id": delivery.pk,
        "name": "payment",  # the Collect panel form drawn when its panel opens (invoice_action_form)
    }


def test_every_url_with_an_id_is_a_partner_view_or_explained():
    unexplained = [
        p.name
        for p, _ in walk(get_resolver().url_patterns)
        if p.pattern.converters
        and not getattr(p.callback, "partner_view", False)
        and p.name not in NOT_TENANT_DATA
    ]
    assert unexplained == []


@pytest.mark.django_db
def test_another_partners_ids_answer_404_on_every_url(partner, other_partner, other_owner):
    ids = object_ids_of(partner)
    intruder = client_for(other_owner)
    checked = []
    for pattern, _ in partner_urls():
        if not pattern.pattern.converters:
            continue
        missing = set(pattern.pattern.converters) - set(ids)
        assert not missing, f"add an object for {missing} to object_ids_of() so {pattern.name} is covered"
        url = reverse(pattern.name, kwargs={name: ids[name] for name in pattern.pattern.converters})
        # A view answers 405 to the method it does not take, for any id (so nothing leaks), and 404 to
        # the one it takes.
        answers = (intruder.get(url).status_code, intruder.post(url).status_code)
        assert set(answers) <= {404, 405}, (url, answers)
        assert 404 in answers, (url, answers)
        checked.append(pattern.name)
    assert {
        "team_member_role",
        "team_member_remove",
        "invitation_revoke",
        "customer_detail",
        "customer_edit",
        "customer_archive",
        "customer_unarchive",
        "customer_autopay",
        "payment_method_add",
        "payment_method_set_default",
        "payment_method_remove",
        "invoice_charge",
        "invoice_refund",
        "invoice_payment_status",
        "recurring_detail",
        "recurring_edit",
        "recurring_pause",
        "recurring_resume",
        "recurring_cancel",
    } <= set(checked)


@pytest.mark.django_db
def test_read_only_members_get_403_on_every_write(partner):
    ids = object_ids_of(partner)
    reader = client_for(member_of(partner, Role.READ_ONLY).user)
    checked = []
    for pattern, _ in partner_urls():
        kwargs = {name: ids[name] for name in pattern.pattern.converters}
        url = reverse(pattern.name, kwargs=kwargs)
        response = reader.post(url, {"role": Role.OWNER, "email": "x@example.com", "name": "Hijacked"})
        assert response.status_code == 403, f"{pattern.name} let a Read-only member write"
        checked.append(pattern.name)
    assert len(checked) >= 6


@pytest.mark.django_db
def test_read_only_members_can_read_every_page_without_ids(partner):
    """Every page is readable by a Read-only member, but those a view declares for a higher role
    (Settings → Developers: a key acts for the whole business), which answer 403."""
    reader = client_for(member_of(partner, Role.READ_ONLY).user)
    for pattern, _ in partner_urls():
        if not pattern.pattern.converters:
            allowed = Membership(role=Role.READ_ONLY).has_role(pattern.callback.read_role)
            assert reader.get(reverse(pattern.name)).status_code == (200 if allowed else 403), pattern.name


@pytest.mark.django_db
def test_a_query_outside_a_partner_scope_fails_loudly(partner, owner):
    with pytest.raises(ScopeError):
        list(Membership.objects.all())
    with pytest.raises(ScopeError):
        Membership.objects.filter(user=owner).count()


@pytest.mark.django_db
def test_signed_out_visitors_are_sent_to_sign_in(client):
    for pattern, _ in partner_urls():
        if not pattern.pattern.converters:
            response = client.get(reverse(pattern.name))
            assert response.status_code == 302
            assert response.url.startswith(reverse("login"))
