"""Choices follow the querysets: list filters, form choice lists and autocompletes show only what a user may see.

The rule lives in `choices_for`: the objects of a model a user may pick or filter by are those the
model's own admin lists to that user (its `get_queryset`), as Django's autocomplete already does.
`ScopedChoicesAdmin` applies it to every foreign-key and many-to-many form field and list filter
of a model admin; every model admin of the console uses it. `FieldChoicesAutocompleteView` lets whoever
may edit an autocomplete field search its choices (Django asks for the view permission of the related
model: platform staff pick org admins without the user admin's pages).
"""

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path, reverse_field_path
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.db.models import QuerySet

from ledger.selectors import sees_all_organizations


def choices_for(request, model, admin_site=admin.site) -> QuerySet:
    """Objects of `model` the user may choose: those its registered admin lists to them (none without one)."""
    model_admin = admin_site._registry.get(model)
    if model_admin is None:  # no admin says who sees it: whoever sees every org, nobody else
        everything = sees_all_organizations(request.user)
        return model._default_manager.all() if everything else model._default_manager.none()
    visible = model._default_manager.filter(pk__in=model_admin.get_queryset(request).order_by().values("pk"))
    ordering = model_admin.get_ordering(request)
    return visible.order_by(*ordering) if ordering else visible


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A related-object list filter listing only the objects the user may see."""

    def field_choices(self, field, request, model_admin):
        ordering = self.field_admin_ordering(field, request, model_admin)
        visible = choices_for(request, field.related_model, model_admin.admin_site).values("pk")
        return field.get_choices(include_blank=False, ordering=ordering, limit_choices_to={"pk__in": visible})


class ScopedAllValuesFieldListFilter(admin.AllValuesFieldListFilter):
    """A list filter on a value of a related model (`organization__currency`): values of visible objects only."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        parent_model, _ = reverse_field_path(model, field_path)
        if parent_model is not model:
            self.lookup_choices = (choices_for(request, parent_model, model_admin.admin_site).distinct()
                                   .order_by(field.name).values_list(field.name, flat=True))


def _default_filter_class(field):
    """The list filter Django picks for a field named in `list_filter`."""
    return next(klass for test, klass in admin.FieldListFilter._field_list_filters if test(field))


def scoped_list_filter(model, list_filter) -> list:
    """`list_filter` with every related-object or related-value filter replaced by its scoped version.

    Custom filters (SimpleListFilter subclasses) build their choices themselves: from the model
    admin's queryset, which is scoped.
    """
    scoped = []
    for item in list_filter:
        if isinstance(item, str):
            path, filter_class = item, None
        elif isinstance(item, tuple):
            path, filter_class = item
        else:
            scoped.append(item)
            continue
        field = get_fields_from_path(model, path)[-1]
        chosen = filter_class or _default_filter_class(field)
        if chosen is admin.RelatedFieldListFilter:
            scoped.append((path, ScopedRelatedFieldListFilter))
        elif chosen is admin.AllValuesFieldListFilter and "__" in path:
            scoped.append((path, ScopedAllValuesFieldListFilter))
        else:
            scoped.append(item)
    return scoped


class ScopedChoicesAdmin(admin.ModelAdmin):
    """A model admin whose list filters and related-object choice lists follow `choices_for`."""

    def get_list_filter(self, request):
        return scoped_list_filter(self.model, super().get_list_filter(request))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs.setdefault("queryset", choices_for(request, db_field.related_model, self.admin_site))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs.setdefault("queryset", choices_for(request, db_field.related_model, self.admin_site))
        return super().formfield_for_manytomany(db_field, request, **kwargs)


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
