"""Field encryption at rest (加密存储) for free-text notes: Fernet through
django-fernet-encrypted-fields, keyed by ``FIELD_ENCRYPTION_KEY`` (the library's ``SALT_KEY``)
together with ``SECRET_KEY``. Only notes are encrypted: never a column that is filtered or counted.
"""

from django.conf import settings
from django.core import checks
from encrypted_fields.fields import EncryptedTextField

DEV_FIELD_ENCRYPTION_KEY = "embedded-default-field-encryption-key-dev-only"


class EncryptedNotesField(EncryptedTextField):
    """A TextField stored as Fernet ciphertext. An empty note stays an empty string (the library
    stores NULL for it, which these NOT NULL columns refuse); it reveals only that it is empty."""

    def get_prep_value(self, value):
        if value in (None, ""):
            return value
        return super().get_prep_value(value)


@checks.register(checks.Tags.security, deploy=True)
def check_field_encryption_key(app_configs, **kwargs):
    keys = settings.SALT_KEY if isinstance(settings.SALT_KEY, list) else [settings.SALT_KEY]
    if not keys or keys[0] == DEV_FIELD_ENCRYPTION_KEY or len(keys[0]) < 32:
        return [
            checks.Error(
                "FIELD_ENCRYPTION_KEY is the embedded development key or shorter than 32 "
                "characters: notes would be encrypted with a key everyone knows.",
                id="core.E101",
            )
        ]
    return []
