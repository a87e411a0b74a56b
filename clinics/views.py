from django.utils.translation import gettext_lazy as _

from core.pages import role_page
from directory.models import Role

counsellor = role_page((Role.COUNSELLOR,), _("Counselling inbox"))
hospital = role_page((Role.HOSPITAL_STAFF,), _("Hospital transfers"))
