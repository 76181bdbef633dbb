"""Helpers for tests that drive the org page's money action forms as a browser would."""

from django.urls import reverse


def action_url(org, slug):
    """The URL of one of the org page's action forms (add-credits, remove-credits, ...)."""
    return reverse(f"admin:ledger_organization_{slug}", args=[org.pk])


def token(client, org, slug):
    """A one-time form token, as the rendered form carries it (GET issues one and redirects to the form)."""
    response = client.get(action_url(org, slug), follow=True)
    assert response.status_code == 200
    return response.context["form"]["form_token"].value()


def master(org):
    """The org's master account."""
    return org.accounts.get(is_master=True)
