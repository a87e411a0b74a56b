from django.utils.translation import gettext_lazy as _

from core.pages import role_page
from directory.models import Role

coordinator = role_page((Role.COORDINATOR,), _("Coordination"))
