"""Postal addresses laid out by their country's convention: one formatter for the PDF, the pay page and
the emails.

    >>> address_lines(line1="200 Congress Ave", city="Austin", region="TX", postal_code="78701", country="US")
    ['200 Congress Ave', 'Austin, TX 78701', 'United States']

The layouts follow the Universal Postal Union's, for the countries partners here invoice from most; any
other country gets the continental European order ("10115 Berlin") with the region on its own line.
"""

# How the locality line is built from {city}, {region} and {postal}, and whether the postal code stands on
# a line of its own after it (the UK and Ireland).
LOCALITY = {
    "US": "{city}, {region} {postal}",
    "CA": "{city} {region} {postal}",
    "AU": "{city} {region} {postal}",
    "NZ": "{city} {postal}",
    "GB": "{city}",
    "IE": "{city}",
}
POSTAL_LINE_AFTER = {"GB", "IE"}
DEFAULT_LOCALITY = "{postal} {city}"
COUNTRY_NAMES = {
    "US": "United States",
    "CA": "Canada",
    "GB": "United Kingdom",
    "IE": "Ireland",
    "AU": "Australia",
    "NZ": "New Zealand",
    "DE": "Germany",
    "FR": "France",
    "NL": "Netherlands",
    "ES": "Spain",
    "IT": "Italy",
}
REGION_IN_LOCALITY = {"US", "CA", "AU"}


def country_name(code: str) -> str:
    return COUNTRY_NAMES.get(code.upper(), code.upper())


def address_lines(
    *,
    line1: str = "",
    line2: str = "",
    city: str = "",
    region: str = "",
    postal_code: str = "",
    country: str = "",
) -> list[str]:
    """The address as printed lines, empty parts left out."""
    code = country.upper()
    pattern = LOCALITY.get(code, DEFAULT_LOCALITY)
    postal = "" if code in POSTAL_LINE_AFTER else postal_code
    region_inside = code in REGION_IN_LOCALITY
    locality = pattern.format(city=city, region=region if region_inside else "", postal=postal)
    locality = " ".join(locality.split()).strip(", ").replace(" ,", ",")
    if locality.endswith(","):
        locality = locality[:-1]
    lines = [line1, line2, locality]
    if not region_inside:
        lines.append(region)
    if code in POSTAL_LINE_AFTER:
        lines.append(postal_code)
    lines.append(country_name(code) if code else "")
    return [line for line in lines if line]


class HasPostalAddress:
    """For a model with address_line1, address_line2, city, region, postal_code and country fields
    (a partner, a customer): its `address_lines`, by this module's conventions."""

    @property
    def address_lines(self) -> list[str]:
        return address_lines(
            line1=self.address_line1,
            line2=self.address_line2,
            city=self.city,
            region=self.region,
            postal_code=self.postal_code,
            country=self.country,
        )
