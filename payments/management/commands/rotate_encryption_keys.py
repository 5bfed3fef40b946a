"""Re-encrypt every stored processor secret under the first of ENCRYPTION_KEYS (docs/operations.md)."""

from django.core.management.base import BaseCommand
from django.db import transaction
from django_scopes import scopes_disabled

from core.encryption import rotate
from payments.models import ProcessorAccount

FIELDS = ["secret_key_encrypted", "webhook_secret_encrypted", "webhook_token_encrypted"]


class Command(BaseCommand):
    help = "Re-encrypt partners' processor secrets under the newest encryption key."

    def handle(self, *args, **options):
        count = 0
        with scopes_disabled(), transaction.atomic():  # an operator's command: every partner
            for account in ProcessorAccount.objects.select_for_update().exclude(secret_key_encrypted=""):
                for field in FIELDS:
                    setattr(account, field, rotate(getattr(account, field)))
                account.save(update_fields=[*FIELDS, "updated_at"])
                count += 1
        self.stdout.write(f"Re-encrypted the secrets of {count} processor account(s).")
