from django.utils.translation import gettext_lazy as _

from core.pages import role_page
from directory.models import Role

console = role_page((Role.OPERATOR,), _("Hotline console"))
