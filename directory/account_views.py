"""Sign-in pages and endpoints (登录、两步验证、API 令牌): the lockout page, logout that revokes,
the second-factor code page, TOTP enrolment, and the API token endpoint."""

import base64

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_logged_in
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from knox import views as knox_views
from knox.models import AuthToken
from rest_framework import serializers, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from core.http import same_site_next
from directory import accounts

BACKUP_CODES = 8


def lockout_message() -> str:
    minutes = round(float(settings.AXES_COOLOFF_TIME) * 60)
    return _(
        "Too many failed sign-ins: this account is locked from this address for %(minutes)s "
        "minutes. Try again later or ask an administrator."
    ) % {"minutes": minutes}


def locked_out(request, *args, **kwargs):
    """django-axes' lockout response (AXES_LOCKOUT_CALLABLE): the login page with the reason,
    or a JSON 429 for the API."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": lockout_message()}, status=429)
    context = {"form": AuthenticationForm(request), "locked_out": lockout_message()}
    return render(request, "registration/login.html", context, status=429)


class LogoutView(auth_views.LogoutView):
    """Ends the session and revokes the user's API tokens; their open sockets close."""

    def post(self, request, *args, **kwargs):
        user = request.user if request.user.is_authenticated else None
        if user is not None:
            accounts.revoke_api_tokens(user)
            user_id = user.pk
        response = super().post(request, *args, **kwargs)
        if user is not None:
            accounts.announce_revoked(user_id)
        return response


@login_required
def verify(request):
    """两步验证码: the TOTP (or a backup) code that completes this session's sign-in."""
    home = settings.LOGIN_REDIRECT_URL
    if request.user.is_verified():
        return redirect(same_site_next(request, home))
    if not accounts.has_second_factor(request.user):
        return redirect("two-step")
    error = ""
    if request.method == "POST":
        device = match_token(request.user, request.POST.get("otp_token", "").strip())
        if device is not None:
            otp_login(request, device)
            return redirect(same_site_next(request, home))
        error = _("The code is not right (or has expired). Enter the current 6-digit code.")
    return render(
        request, "registration/verify.html", {"error": error, "next": same_site_next(request, "")}
    )


def _qr_svg(data: str) -> str:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return image.to_string(encoding="unicode")


def _backup_codes(user) -> list[str]:
    """Fresh single-use backup codes (备用码), replacing any earlier ones."""
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name="backup", defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
    for code in codes:
        device.token_set.create(token=code)
    return codes


@login_required
def two_step(request):
    """两步验证: enrol an authenticator app (TOTP) and confirm it with a code."""
    user = request.user
    confirmed = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if confirmed is not None:
        if not user.is_verified():
            return redirect("account-verify")
        return render(request, "registration/two_step.html", {"enrolled": True})
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None or request.method == "GET":
        # A new secret on every visit: a key shown once and left unconfirmed is never used.
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        device = TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)
    error = ""
    if request.method == "POST":
        if device.verify_token(request.POST.get("otp_token", "").strip()):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            codes = _backup_codes(user)
            return render(
                request,
                "registration/two_step.html",
                {"enrolled": True, "codes": codes, "next": same_site_next(request, "")},
            )
        error = _("The code is not right. Enter the 6-digit code the app shows now.")
    context = {
        "enrolled": False,
        "qr": mark_safe(_qr_svg(device.config_url)),  # noqa: S308 - our own generated SVG
        "key": _base32(device.bin_key),
        "error": error,
        "required": accounts.otp_required(user),
        "next": same_site_next(request, ""),
    }
    return render(request, "registration/two_step.html", context)


def _base32(key: bytes) -> str:
    """The key as authenticator apps take it when typed in, in groups of four."""
    text = base64.b32encode(key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


class TokenRequestSerializer(AuthTokenSerializer):
    otp_token = serializers.CharField(
        label=_("Two-step code"), required=False, allow_blank=True, write_only=True
    )


class ObtainTokenView(APIView):
    """POST username and password (and ``otp_token`` where a second factor is required): an
    expiring API token. Failed attempts count towards the lockout (django-axes)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: inline_serializer(
                "ApiToken",
                {"token": serializers.CharField(), "expiry": serializers.DateTimeField()},
            ),
            429: OpenApiResponse(description="Too many attempts: throttled or locked out."),
        },
    )
    def post(self, request, *args, **kwargs):
        serializer = TokenRequestSerializer(data=request.data, context={"request": request})
        if not serializer.is_valid():
            if getattr(request, "axes_locked_out", False):
                return Response({"detail": lockout_message()}, status=429)
            raise serializers.ValidationError(serializer.errors)  # the API's one error shape
        user = serializer.validated_data["user"]
        if accounts.otp_required(user) or accounts.has_second_factor(user):
            code = (serializer.validated_data.get("otp_token") or "").strip()
            if not code or match_token(user, code) is None:
                message = _("A current two-step code is required for this account.")
                raise serializers.ValidationError({"otp_token": [message]})
        instance, token = AuthToken.objects.create(user=user)
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        return Response({"token": token, "expiry": instance.expiry})


@extend_schema_view(post=extend_schema(request=None, responses={204: None}))
class ApiLogoutView(knox_views.LogoutView):
    """Revoke the token this request was made with (its sockets close)."""

    def post(self, request, format=None):
        if request.auth is None:  # signed in without a token: there is none to revoke
            return Response(
                {"detail": _("This request carries no API token to revoke.")},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return super().post(request, format)


@extend_schema_view(post=extend_schema(request=None, responses={204: None}))
class ApiLogoutAllView(knox_views.LogoutAllView):
    """Revoke every API token of the signed-in user (their sockets close)."""
