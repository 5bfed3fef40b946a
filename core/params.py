"""Numbers from places a person or another system can edit: query strings, hidden fields, webhook metadata."""

MAX_ID_DIGITS = 11  # fits PostgreSQL's bigint with room to spare, and far below int()'s 4,300-digit limit


def parse_id(value: object) -> int | None:
    """A whole number of at most 11 digits written in ASCII, or None for anything else.

    ASCII only: "²" and "٣" pass str.isdigit() but int() refuses the first and reads the second.
    """
    text = str(value) if value is not None else ""
    if text.isascii() and text.isdigit() and len(text) <= MAX_ID_DIGITS:
        return int(text)
    return None
