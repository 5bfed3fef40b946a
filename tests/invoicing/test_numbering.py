import re
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_scopes import scope, scopes_disabled

from invoicing import services
from invoicing.models import Invoice, NumberKind
from invoicing.numbering import number_set_next
from invoicing.services import lifecycle
from tests.factories import PartnerFactory
from tests.factories.invoicing import customer_for, make_invoice


@pytest.mark.django_db(transaction=True)
def test_twenty_drafts_finalized_concurrently_get_twenty_consecutive_numbers():
    partner = PartnerFactory(invoice_number_prefix="INV-", invoice_number_padding=4)
    customer = customer_for(partner)
    drafts = [make_invoice(partner, customer=customer, finalize=False) for _ in range(20)]
    barrier = threading.Barrier(len(drafts))
    failures = []

    def finalize(draft):
        try:
            barrier.wait()
            with scope(partner=partner):
                services.invoice_finalize(invoice=draft, actor=None)
        except Exception as error:  # recorded, asserted below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=finalize, args=(draft,)) for draft in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    with scopes_disabled():
        numbers = sorted(Invoice.objects.filter(partner=partner).values_list("number", flat=True))
    assert numbers == [f"INV-{n:04d}" for n in range(1, 21)]


@pytest.mark.django_db(transaction=True)
def test_a_failed_finalization_leaves_no_gap(monkeypatch):
    partner = PartnerFactory()
    first = make_invoice(partner, finalize=False)
    second = make_invoice(partner, finalize=False)

    def broken_snapshot(party):
        raise RuntimeError("the disk is full")

    with scope(partner=partner):
        monkeypatch.setattr(lifecycle, "_party_snapshot", broken_snapshot)
        with pytest.raises(RuntimeError):
            services.invoice_finalize(invoice=first, actor=None)
        monkeypatch.undo()
        assert services.invoice_finalize(invoice=second, actor=None).number == "INV-0001"
        assert services.invoice_finalize(invoice=first, actor=None).number == "INV-0002"


@pytest.mark.django_db
def test_numbers_are_per_partner(unscoped):
    one, two = PartnerFactory(), PartnerFactory()
    assert make_invoice(one).number == "INV-0001"
    assert make_invoice(two).number == "INV-0001"
    assert make_invoice(one).number == "INV-0002"


@pytest.mark.django_db
def test_the_scheme_sets_prefix_padding_and_yearly_reset(unscoped):
    partner = PartnerFactory(
        invoice_number_prefix="NW/", invoice_number_padding=6, invoice_number_yearly_reset=True
    )
    number = make_invoice(partner).number
    assert re.fullmatch(rf"NW/{partner.today().year}-000001", number)


@pytest.mark.django_db
def test_the_next_number_can_only_go_up(unscoped):
    partner = PartnerFactory()
    make_invoice(partner)
    with scope(partner=partner):
        number_set_next(partner=partner, kind=NumberKind.INVOICE, on_date=partner.today(), next_value=500)
        assert make_invoice(partner).number == "INV-0500"
        with pytest.raises(ValidationError, match="can only go up"):
            number_set_next(partner=partner, kind=NumberKind.INVOICE, on_date=partner.today(), next_value=10)


@pytest.mark.django_db
def test_drafts_have_no_number_and_voiding_keeps_it(unscoped):
    partner = PartnerFactory()
    draft = make_invoice(partner, finalize=False)
    assert draft.number == ""
    with scope(partner=partner):
        issued = services.invoice_finalize(invoice=draft, actor=None)
        voided = services.invoice_void(invoice=issued, actor=None)
    assert voided.number == "INV-0001"
    assert make_invoice(partner).number == "INV-0002"


@pytest.mark.django_db
def test_credit_notes_have_their_own_sequence(unscoped):
    partner = PartnerFactory(credit_note_prefix="CN-")
    invoice = make_invoice(partner)
    with scope(partner=partner):
        note = services.credit_note_create(invoice=invoice, amount=1000, reason="Discount", actor=None)
    assert note.number == "CN-0001"
    assert make_invoice(partner).number == "INV-0002"
