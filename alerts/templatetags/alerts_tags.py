"""Template tags for the org page: the live alert banners of an org."""

from django import template
from django.urls import NoReverseMatch, reverse

from alerts.selectors import live_banners

register = template.Library()


@register.simple_tag
def org_banners(organization) -> list:
    """Open notices whose condition still holds, with today's figures (alerts.selectors.live_banners)."""
    if organization is None or getattr(organization, "pk", None) is None:
        return []
    return live_banners(organization)


@register.simple_tag
def notifications_admin_url(organization) -> str:
    """The admin list of an org's open notices (where they are read and dismissed), or "" without the admin."""
    try:
        url = reverse("admin:alerts_notification_changelist")
    except NoReverseMatch:
        return ""
    return f"{url}?organization__id__exact={organization.pk}&dismissed_at__isempty=1"
