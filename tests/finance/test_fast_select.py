"""The finance filters' select renders in Python: the same HTML as Django's template-rendered Select."""

import pytest
from django import forms

from ledger.finance.filters import FastSelect

CHOICES = [("", "All <kinds>"), ("a&b", 'Quote " and <tag>'), ("2", "Two"),
           ("Group", [("g1", "In group"), ("g2", "Also")])]


@pytest.mark.parametrize("value", [None, "", "a&b", "g2", ["2"], "missing"])
@pytest.mark.parametrize("attrs", [None, {"id": "id_kind", "data-x": 'q"<'}, {"required": True, "disabled": False}])
def test_fast_select_renders_what_djangos_select_renders(value, attrs):
    expected = forms.Select(choices=CHOICES).render("kind", value, attrs=attrs)
    assert FastSelect(choices=CHOICES).render("kind", value, attrs=attrs) == expected
