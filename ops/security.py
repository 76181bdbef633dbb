"""Staff sign-in hardening: the admin site asks for a TOTP code when ADMIN_REQUIRE_OTP is on, and a
session that was never verified by a device counts as logged out everywhere (admin, finance, API)."""

from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.auth.models import AnonymousUser
from django_otp.admin import OTPAdminAuthenticationForm

OTP_LOGIN_TEMPLATE = "otp/admin111/login.html"  # django-otp's admin login page with the code field


def otp_required() -> bool:
    return bool(getattr(settings, "ADMIN_REQUIRE_OTP", False))


class CreditsAdminSite(AdminSite):
    """`admin.site`: password sign-in, plus a one-time code from a registered device when OTP is required."""

    @property
    def login_form(self):
        return OTPAdminAuthenticationForm if otp_required() else None

    @property
    def login_template(self):
        return OTP_LOGIN_TEMPLATE if otp_required() else None

    def has_permission(self, request):
        allowed = super().has_permission(request)
        if allowed and otp_required():
            return request.user.is_verified()
        return allowed


class VerifiedStaffMiddleware:
    """With OTP required, a signed-in user whose session was not verified by a device is anonymous.

    Runs after django-otp's OTPMiddleware. Covers every page that relies on the session (finance
    pages, the API's session authentication), not only the admin's own views, and sessions opened
    before OTP was switched on.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if otp_required() and user is not None and user.is_authenticated and not user.is_verified():
            request.user = AnonymousUser()
        return self.get_response(request)
