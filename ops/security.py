"""Staff sign-in hardening: the admin site asks for a TOTP code when ADMIN_REQUIRE_OTP is on, and a
session that was never verified by a device counts as logged out everywhere (admin, finance, API)."""

from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.auth.models import AnonymousUser
from django.urls import get_script_prefix, get_urlconf
from django.utils import translation
from django_otp.admin import OTPAdminAuthenticationForm

from ledger.selectors import user_roles

OTP_LOGIN_TEMPLATE = "otp/admin111/login.html"  # django-otp's admin login page with the code field


def otp_required() -> bool:
    return bool(getattr(settings, "ADMIN_REQUIRE_OTP", False))


APP_LISTS_KEPT = 256  # app lists kept per process (one per set of permissions, language and URL prefix)


class FieldChoicesAutocompleteView(AutocompleteJsonView):
    """Django's autocomplete, also open to a user who may edit the field it serves.

    Django answers only users who may view the related model (for the org admins picker: `auth.view_user`,
    which platform staff do not hold). A user who may change or add objects of the field's model, on an
    admin that offers this field as an autocomplete to them, may search its choices too: those are what a
    select would list them in full (`choices_for`: the related admin's queryset for that user), now 20 a page.
    """

    def has_perm(self, request, obj=None):
        if super().has_perm(request, obj):
            return True
        source_admin = self.admin_site._registry.get(self.source_field.model)
        if source_admin is None or self.source_field.name not in source_admin.get_autocomplete_fields(request):
            return False
        return source_admin.has_change_permission(request) or source_admin.has_add_permission(request)


class CreditsAdminSite(AdminSite):
    """`admin.site`: password sign-in, plus a one-time code from a registered device when OTP is required.

    The sidebar's app list of every console page is built once per set of permissions: Django builds it
    on every page, asking each of the ~30 model admins for its permissions and reversing ~60 URLs (4 ms
    of a page). Every model admin here decides those from the user's permissions and role groups only,
    which is what the list is kept by (with the language and the URL prefix).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._app_lists: dict[tuple, list] = {}

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

    def autocomplete_view(self, request):
        """Django's autocomplete, also for whoever may edit the field it serves."""
        return FieldChoicesAutocompleteView.as_view(admin_site=self)(request)

    def get_app_list(self, request, app_label=None):
        """Django's app list (all apps, or one app's page), kept per permission set; each caller gets its own copy."""
        if app_label is not None:
            return super().get_app_list(request, app_label)
        key = app_list_key(request.user, registered=len(self._registry))
        app_list = self._app_lists.get(key)
        if app_list is None:
            app_list = super().get_app_list(request)
            if len(self._app_lists) >= APP_LISTS_KEPT:
                self._app_lists.clear()
            self._app_lists[key] = app_list
        return [{**app, "models": [dict(model) for model in app["models"]]} for app in app_list]


def app_list_key(user, *, registered: int) -> tuple:
    """What a model admin's permission answers depend on: the user's flags, roles and permissions (a superuser
    has them all), with the language (model names), the URL prefix and URLconf (links) and the registry's size."""
    if user.is_superuser:
        roles = permissions = None
    else:  # both are read once per request and kept on the user, and the page's own checks read them anyway
        roles, permissions = frozenset(user_roles(user)), frozenset(user.get_all_permissions())
    return (user.is_active, user.is_staff, user.is_superuser, roles, permissions, translation.get_language(),
            get_script_prefix(), get_urlconf(), registered)


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
