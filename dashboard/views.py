from django.utils.translation import gettext_lazy as _

from core.pages import role_page
from directory.models import Role

# Decision makers see counts and trends, never names: no case list here.
home = role_page((Role.DECISION_MAKER, Role.COORDINATOR), _("One-screen view"), show_cases=False)
