import factory

from directory.models import Membership, Organisation, OrganisationKind, Region, RegionLevel, User
from hotline.models import Case, Person


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"9{n:05d}")
    name = factory.Sequence(lambda n: f"Region {n}")
    level = RegionLevel.DISTRICT


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"org-{n}")
    name = factory.Sequence(lambda n: f"Organisation {n}")
    kind = OrganisationKind.HOTLINE_CENTRE
    region = factory.SubFactory(RegionFactory)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = "operator"


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    name = factory.Sequence(lambda n: f"Person {n}")
    # A range no test spells out: a number names one person (one_person_per_phone).
    phone = factory.Sequence(lambda n: f"+86137{n:08d}")


class CaseFactory(factory.django.DjangoModelFactory):
    """Bypasses the services on purpose: for arranging state, never for the action under test."""

    class Meta:
        model = Case

    person = factory.SubFactory(PersonFactory)
    owning_organisation = factory.SubFactory(OrganisationFactory)
    risk = "low"
