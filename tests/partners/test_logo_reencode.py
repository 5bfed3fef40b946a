"""Uploaded logos are drawn again from their pixels before they are stored and served publicly: a phone
photo's camera, GPS position and time, a PNG's text chunks and anything appended after the image stay
behind. Logos stored before this are served exactly as stored."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import ExifTags, Image, PngImagePlugin

from partners.services import partner_set_logo
from tests.partners.test_settings import details

pytestmark = pytest.mark.django_db

CAMERA, GPS_REF = "Canon EOS 5D Mark IV", "N"


def photo_exif(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Canon"
    exif[ExifTags.Base.Model] = CAMERA
    exif[ExifTags.Base.DateTime] = "2026:03:02 15:00:00"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = GPS_REF
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 26.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 39.0)
    return exif


def encoded(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def upload(client, partner, data: bytes, name: str = "logo"):
    file = SimpleUploadedFile(name, data, content_type="application/octet-stream")
    response = client.post(reverse("settings_details"), {**details(partner), "logo_upload": file})
    assert response.status_code == 302, response.content.decode()
    partner.refresh_from_db()
    served = client.get(reverse("partner_logo", kwargs={"logo_sha256": partner.logo_sha256}))
    assert served.status_code == 200
    assert served.content == bytes(partner.logo)
    return served


def test_a_phone_photo_loses_its_camera_and_gps_and_is_turned_upright(owner_client, partner):
    # 40 wide, 20 high, "rotate 90° clockwise to view" (EXIF orientation 6), as phones store portraits.
    original = encoded(Image.new("RGB", (40, 20), "#1f4e8c"), "JPEG", exif=photo_exif(orientation=6))
    assert CAMERA.encode() in original

    served = upload(owner_client, partner, original, "photo.jpg")
    assert served["Content-Type"] == "image/jpeg"
    assert b"Canon" not in served.content
    stored = Image.open(io.BytesIO(served.content))
    assert stored.format == "JPEG"
    assert dict(stored.getexif()) == {}
    assert stored.size == (20, 40)  # drawn upright: the orientation left with the EXIF
    assert max(abs(a - b) for a, b in zip(stored.getpixel((10, 20)), (0x1F, 0x4E, 0x8C), strict=True)) < 8


def test_a_png_keeps_its_transparency_and_loses_its_text_and_metadata(owner_client, partner):
    image = Image.new("RGBA", (30, 30), (31, 78, 140, 255))
    image.putpixel((0, 0), (0, 0, 0, 0))
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "Jane Doe, 51.5074 N 0.1278 W")
    text.add_itxt("Comment", "made on Jane's laptop")
    original = encoded(image, "PNG", pnginfo=text, exif=photo_exif(), icc_profile=b"fake profile text")

    served = upload(owner_client, partner, original + b"<html>appended after IEND</html>", "logo.png")
    assert served["Content-Type"] == "image/png"
    for secret in (b"Jane", b"Canon", b"fake profile", b"appended"):
        assert secret not in served.content
    stored = Image.open(io.BytesIO(served.content))
    assert stored.info.keys() <= {"dpi", "gamma", "srgb", "transparency"}
    assert stored.convert("RGBA").getpixel((0, 0))[3] == 0
    assert stored.convert("RGBA").getpixel((5, 5)) == (31, 78, 140, 255)


def test_a_palette_png_stays_small(owner_client, partner):
    image = Image.new("P", (400, 200), 0)
    image.putpalette([31, 78, 140, 255, 255, 255] + [0] * 762)
    image.paste(1, (100, 50, 300, 150))
    original = encoded(image, "PNG", transparency=1)
    served = upload(owner_client, partner, original)
    assert len(served.content) <= 2 * len(original)
    assert Image.open(io.BytesIO(served.content)).convert("RGBA").getpixel((150, 100))[3] == 0


@pytest.mark.parametrize(("mode", "content_type"), [("RGBA", "image/png"), ("RGB", "image/jpeg")])
def test_a_webp_becomes_png_with_transparency_and_jpeg_without(owner_client, partner, mode, content_type):
    image = Image.new(mode, (50, 25), "#1f4e8c")
    if mode == "RGBA":
        image.putpixel((0, 0), (0, 0, 0, 0))
    original = encoded(image, "WEBP", lossless=True, exif=photo_exif())
    served = upload(owner_client, partner, original, "logo.webp")
    assert served["Content-Type"] == content_type
    assert b"Canon" not in served.content
    assert partner.logo_content_type == content_type


def test_a_logo_that_grows_past_the_limit_once_re_encoded_is_refused_with_a_message(
    owner_client, partner, settings
):
    settings.LOGO_MAX_BYTES = 50_000
    noise = Image.effect_noise((300, 300), 120).convert("RGBA")  # incompressible, with an alpha channel
    original = encoded(noise, "WEBP", quality=10)
    assert len(original) < settings.LOGO_MAX_BYTES
    file = SimpleUploadedFile("noise.webp", original)
    response = owner_client.post(reverse("settings_details"), {**details(partner), "logo_upload": file})
    assert response.status_code == 200
    assert "Converted for the web, this logo is" in response.content.decode()
    partner.refresh_from_db()
    assert partner.logo is None


def test_a_logo_stored_before_re_encoding_is_served_as_stored(client, partner):
    original = encoded(Image.new("RGB", (40, 20)), "JPEG", exif=photo_exif())
    partner_set_logo(partner=partner, data=original, content_type="image/jpeg")
    served = client.get(reverse("partner_logo", kwargs={"logo_sha256": partner.logo_sha256}))
    assert served.content == original
