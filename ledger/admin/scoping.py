"""Choices follow the querysets: list filters, form choice lists and autocompletes show only what a user may see.

The rule lives in `choices_for`: the objects of a model a user may pick or filter by are those the
model's own admin lists to that user (its `get_queryset`), as Django's autocomplete already does.
`ScopedChoicesAdmin` applies it to every foreign-key and many-to-many form field and list filter
of a model admin; every model admin of the console uses it. Its autocompletes
answer whoever may edit the field they serve (`ops.security.FieldChoicesAutocompleteView`), and show
again only posted values their field can read (`ReadableValuesOnly`).
"""

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path, reverse_field_path
from django.contrib.admin.widgets import AutocompleteSelect, AutocompleteSelectMultiple
from django.core.exceptions import ValidationError
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
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = ReadableAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs.setdefault("queryset", choices_for(request, db_field.related_model, self.admin_site))
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = ReadableAutocompleteSelectMultiple(db_field, self.admin_site,
                                                                  using=kwargs.get("using"))
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class ReadableValuesOnly:
    """An autocomplete widget that shows again only the posted values its field can read.

    Django's looks every posted value up to show the chosen options again: a crafted one (`abc` for an
    integer or UUID key) raised in the template, a 500 where the form's error belongs. Unreadable values
    are left out of the rendering; the field's own validation still reports them.
    """

    def optgroups(self, name, value, attr=None):
        remote = self.field.remote_field
        target = remote.model._meta.get_field(getattr(remote, "field_name", None) or remote.model._meta.pk.name)
        readable = []
        for item in value:
            try:
                target.to_python(item)
            except ValidationError:
                continue
            readable.append(item)
        return super().optgroups(name, readable, attr)


class ReadableAutocompleteSelect(ReadableValuesOnly, AutocompleteSelect):
    """Django's autocomplete select, safe against unreadable posted values."""


class ReadableAutocompleteSelectMultiple(ReadableValuesOnly, AutocompleteSelectMultiple):
    """Django's autocomplete multiple select, safe against unreadable posted values."""
