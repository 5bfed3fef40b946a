"""Form helpers shared by every app's views."""

from django.core.exceptions import ValidationError
from django.forms import Form


def apply_errors(form: Form, error: ValidationError, field_map: dict[str, str] | None = None) -> None:
    """Show a service's ValidationError next to the field it names, or above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, errors in error.message_dict.items():
        field = (field_map or {}).get(name, name)
        for message in errors:
            form.add_error(field if field in form.fields else None, message)
