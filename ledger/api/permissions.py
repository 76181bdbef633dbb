"""Who may call what: service-token scopes, or a staff user's Django permissions within their orgs."""

from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission

from apiauth.models import ServiceToken
from ledger import selectors
from ledger.models import Account
from ledger.money import Actor


def required_scope(request, view) -> str:
    """The token scope an endpoint needs: `view.scopes[method]`, else read for GET and manage for writes."""
    scopes = getattr(view, "scopes", {})
    return scopes.get(request.method, "read" if request.method in SAFE_METHODS else "manage")


class ApiAccess(BasePermission):
    """Service tokens need the endpoint's scope; staff sessions need the endpoint's Django permissions.

    Views declare `scopes = {"POST": "charge"}` and `user_permissions = {"POST": ["ledger.remove_credits"]}`.
    A write without declared user permissions is open to superusers only. Which orgs a user sees is
    enforced by the lookups (`visible_accounts`, `visible_organizations`): others' objects are 404.
    """

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if isinstance(token, ServiceToken):
            scope = required_scope(request, view)
            if not token.grants(scope):
                raise exceptions.PermissionDenied(f"This token lacks the `{scope}` scope.")
            return True
        user = request.user
        if user is None or not user.is_authenticated:
            raise exceptions.NotAuthenticated("Send `Authorization: Bearer <token>` or log in as staff.")
        if not (user.is_active and user.is_staff):
            raise exceptions.PermissionDenied("Only staff users may call the API with a session.")
        perms = getattr(view, "user_permissions", {}).get(request.method)
        if perms is None:
            if request.method in SAFE_METHODS or user.is_superuser:
                return True
            raise exceptions.PermissionDenied("Your user lacks the permission for this operation.")
        if not user.has_perms(perms):
            raise exceptions.PermissionDenied("Your user lacks the permission for this operation.")
        return True


def actor_for(request) -> Actor:
    """The ledger actor of a request: the token's service, or the staff user."""
    if isinstance(request.auth, ServiceToken):
        return Actor(service=request.auth.name, token_id=request.auth.pk)
    return Actor(user=request.user)


def is_service(request) -> bool:
    return isinstance(request.auth, ServiceToken)


def visible_organizations(request):
    """Orgs the caller may see: the token's orgs (every org for an all-orgs token), else `organizations_for(user)`."""
    if is_service(request):
        return request.auth.visible_organizations()
    return selectors.organizations_for(request.user)


def visible_accounts(request):
    """Accounts the caller may see: those of the token's orgs, else `accounts_for(user)`."""
    if is_service(request):
        if request.auth.all_organizations:
            return Account.objects.all()
        return token_accounts(request.auth.pk)
    return selectors.accounts_for(request.user)


def token_accounts(token_id):
    """Accounts of the orgs listed on a service token that is not for all organizations."""
    listed = ServiceToken.organizations.through.objects.filter(servicetoken_id=token_id)
    return Account.objects.filter(organization__in=listed.values("organization_id"))


def may_create_organizations(request) -> bool:
    """A token limited to some orgs cannot create orgs (it could not see them); all-orgs tokens and staff may."""
    return not is_service(request) or request.auth.all_organizations
