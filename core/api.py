"""REST framework glue shared by every app."""

from datetime import UTC, datetime

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, models
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import TransitionNotAllowed
from rest_framework import serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import Conflict, DomainError

# A moment anyone here means lies in this century: a year such as 1534 is a typing slip, and its
# local mean time offset (+08:05:43) is not even a valid RFC 3339 answer.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


class MomentField(serializers.DateTimeField):
    default_error_messages = {
        "out_of_range": gettext_lazy("Give a date and time between the years 2000 and 2099.")
    }

    def to_internal_value(self, value):
        moment = super().to_internal_value(value)
        if not EARLIEST <= moment < LATEST:
            self.fail("out_of_range")
        return moment


class ModelSerializer(serializers.ModelSerializer):
    """The API's model serializers: date-times through ``MomentField``."""

    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.DateTimeField: MomentField,
    }


# Pages of at most MAX_LIMIT rows; an offset past MAX_OFFSET is clamped (an empty page), never
# an integer the database cannot hold.
MAX_LIMIT = 500
MAX_OFFSET = 2**31 - 1


class Pagination(LimitOffsetPagination):
    """``?limit=&offset=``: an over-large limit is cut to ``MAX_LIMIT``, an offset to
    ``MAX_OFFSET`` (DRF already ignores a limit or offset that is not a whole number)."""

    max_limit = MAX_LIMIT

    def get_offset(self, request):
        return min(super().get_offset(request), MAX_OFFSET)


def exception_handler(exc, context):
    """Turn domain errors into JSON a person can act on: ``{"detail", "code", "fields"}``."""
    if isinstance(exc, TransitionNotAllowed):
        # A transition no service wrapped in refused_as_conflict: still 409, never 500.
        exc = Conflict(_("This action is not allowed in the current state."))
    if isinstance(exc, DomainError):
        body = {"detail": exc.message, "code": exc.code}
        if exc.fields:
            body["fields"] = exc.fields
        return Response(body, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {}
        return Response(
            {"detail": "; ".join(exc.messages), "code": "invalid", "fields": fields},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DataError):
        # The safety net behind the edge's validation: a value the database refuses (too long,
        # out of range, a NUL byte) is the request's fault. Nothing was written: the service's
        # transaction rolled back.
        return Response(
            {"detail": _("A value in the request is not acceptable."), "code": "invalid"},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, Http404 | PermissionDenied):
        return drf_exception_handler(exc, context)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" not in response.data:
        # Serializer field errors: keep them, and add one sentence a person can read.
        fields = response.data
        response.data = {
            "detail": "The request has invalid fields: " + ", ".join(sorted(fields)),
            "code": "invalid",
            "fields": fields,
        }
    return response
