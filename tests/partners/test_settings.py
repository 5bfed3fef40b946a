import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from partners.models import Role
from tests.conftest import client_for, member_of

pytestmark = pytest.mark.django_db


def details(partner, **changes) -> dict:
    data = {
        "name": partner.name,
        "email": partner.email,
        "brand_colour": partner.brand_colour,
        "default_currency": partner.default_currency,
        "timezone": partner.timezone,
        "locale": partner.locale,
    }
    data.update(changes)
    return data


def image_file(fmt="PNG", size=(60, 30), name="logo.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, "#1f4e8c").save(buffer, fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def test_an_owner_updates_business_details(owner_client, partner):
    response = owner_client.post(
        reverse("settings_details"),
        details(
            partner,
            name="Northwind Consulting",
            country="us",
            timezone="Europe/Berlin",
            default_currency="EUR",
        ),
    )
    assert response.status_code == 302
    partner.refresh_from_db()
    assert (partner.name, partner.country, partner.timezone, partner.default_currency) == (
        "Northwind Consulting",
        "US",
        "Europe/Berlin",
        "EUR",
    )


def test_bad_values_show_errors_next_to_their_fields_and_keep_what_was_typed(owner_client, partner):
    response = owner_client.post(
        reverse("settings_details"),
        details(partner, name="", country="United States", brand_colour="blue", timezone="Mars/Olympus"),
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "This field is required" in body
    assert "two-letter country code" in body
    assert "Enter a colour as #" in body
    assert "Select a valid choice" in body
    assert 'value="United States"' in body
    partner.refresh_from_db()
    assert partner.name == "Northwind IT"


def test_a_refused_change_leaves_the_header_showing_the_saved_name(owner_client, partner):
    response = owner_client.post(
        reverse("settings_details"), details(partner, name="Renamed Ltd", brand_colour="blue")
    )
    assert "Enter a colour as #" in response.content.decode()
    assert response.context["current_partner"].name == "Northwind IT"
    assert 'value="Renamed Ltd"' in response.content.decode()  # what was typed stays in the field


def test_a_png_logo_is_stored_and_served_by_its_hash(owner_client, partner, client):
    response = owner_client.post(
        reverse("settings_details"), {**details(partner), "logo_upload": image_file()}
    )
    assert response.status_code == 302
    partner.refresh_from_db()
    assert partner.logo_content_type == "image/png"
    served = client.get(reverse("partner_logo", kwargs={"logo_sha256": partner.logo_sha256}))
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert bytes(served.content) == bytes(partner.logo)
    assert "immutable" in served["Cache-Control"]


def test_a_jpeg_logo_is_recognised_from_its_content_not_its_name(owner_client, partner):
    upload = image_file("JPEG", name="logo.png")
    owner_client.post(reverse("settings_details"), {**details(partner), "logo_upload": upload})
    partner.refresh_from_db()
    assert partner.logo_content_type == "image/jpeg"


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            SimpleUploadedFile("logo.png", b"<svg onload=alert(1)>", content_type="image/png"),
            "not a PNG, JPEG or WebP",
        ),
        (
            SimpleUploadedFile("logo.gif", b"GIF89a" + b"\0" * 20, content_type="image/gif"),
            "not a PNG, JPEG or WebP",
        ),
        (
            SimpleUploadedFile("huge.png", b"\x89PNG" + b"\0" * (1024 * 1024 + 1)),
            "the largest allowed is 1 MB",
        ),
    ],
)
def test_bad_logo_files_are_refused_with_a_clear_message(owner_client, partner, upload, message):
    response = owner_client.post(reverse("settings_details"), {**details(partner), "logo_upload": upload})
    assert response.status_code == 200
    assert message in response.content.decode()
    partner.refresh_from_db()
    assert partner.logo is None


def test_a_gif_is_refused_as_the_wrong_type(owner_client, partner):
    response = owner_client.post(
        reverse("settings_details"), {**details(partner), "logo_upload": image_file("GIF", name="a.gif")}
    )
    assert "Upload the logo as a PNG, JPEG or WebP image" in response.content.decode()


def test_the_logo_can_be_removed(owner_client, partner):
    owner_client.post(reverse("settings_details"), {**details(partner), "logo_upload": image_file()})
    owner_client.post(reverse("settings_details"), {**details(partner), "remove_logo": "on"})
    partner.refresh_from_db()
    assert partner.logo is None
    assert partner.logo_sha256 == ""


def test_members_see_settings_read_only_and_cannot_save(partner):
    member = client_for(member_of(partner, Role.MEMBER).user)
    page = member.get(reverse("settings_details")).content.decode()
    assert "Only owners and admins can change these settings" in page
    assert "disabled" in page
    assert member.post(reverse("settings_details"), details(partner, name="Taken over")).status_code == 403
    partner.refresh_from_db()
    assert partner.name == "Northwind IT"
