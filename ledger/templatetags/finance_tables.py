"""The ledger entries table of the finance pages (page and print view), written in Python.

A page of 50 entries through a template cost some 20 variable lookups and a dozen `if` nodes per row: about
7 ms of a finance ledger page's CPU on a slow 2-core machine (50-63 ms in all), twenty times that for the
print view's 1,000 rows. `entries_table` writes the same markup from the same `EntryRow`s (their texts are
formatted once in ledger.finance.views._rows) and escapes every value as the template's `{{ }}` did.
"""

from django import template
from django.utils.html import conditional_escape as esc
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

HEAD = ('<th>Date</th><th>Kind</th><th class="num">Amount</th>{balance}{account}'
        '<th>By</th><th>Reference</th><th>Details</th>')


@register.simple_tag
def entries_table(rows, scope) -> SafeString:
    """The entries table of a ledger page: one row per `EntryRow`; a balance column when the scope keeps
    one (an account), an account column when it spans several (an org)."""
    has_balance, show_account = bool(scope.has_balance), not scope.account
    head = HEAD.format(balance='<th class="num">Balance after</th>' if has_balance else "",
                       account="<th>Account</th>" if show_account else "")
    body = "\n".join(_row(row, has_balance, show_account) for row in rows) if rows else (
        '    <tr><td colspan="8">No entries match these filters.</td></tr>')
    return mark_safe(  # noqa: S308 - every value is escaped in _row
        '<div class="finance-table-wrap">\n<table class="finance-table entries-table" style="width:100%">\n'
        f"  <thead>\n    <tr>\n      {head}\n    </tr>\n  </thead>\n  <tbody>\n{body}\n  </tbody>\n</table>\n</div>")


def _row(row, has_balance: bool, show_account: bool) -> str:
    channel = f' · <span class="channel">{esc(row.channel_text)}</span>' if row.channel else ""
    cells = [f'<td class="date">{esc(row.date_text)}</td>', f"<td>{esc(row.kind_text)}{channel}</td>",
             f'<td class="num">{esc(row.amount_text)}</td>']
    if has_balance:
        cells.append(f'<td class="num">{esc(row.balance_text)}</td>')
    if show_account:
        cells.append(f"<td>{esc(row.account)}</td>")
    cells += [f"<td>{esc(row.actor)}</td>", f'<td class="reference">{esc(row.reference_text)}</td>',
              f'<td class="details">{_details(row) if row.has_details else ""}</td>']
    return (f'    <tr class="entry entry-{esc(row.kind)}" data-posting="{esc(row.posting_id)}">\n      '
            + "\n      ".join(cells) + "\n    </tr>")


def _details(row) -> str:
    terms = []
    if row.subaccount:
        terms.append(f"<dt>Subaccount</dt><dd>{esc(row.subaccount)}</dd>")
    if row.country:
        terms.append(f"<dt>Country</dt><dd>{esc(row.country)}</dd>")
    if row.category:
        terms.append(f'<dt>Category</dt><dd class="category">{esc(row.category_text)}</dd>')
    if row.quantity:
        terms.append(f'<dt>Quantity</dt><dd class="quantity">{esc(row.quantity_text)}</dd>')
    if row.unit_price is not None:
        terms.append(f'<dt>Unit price</dt><dd class="rate unit-price">{esc(row.unit_price_text)}</dd>')
    if row.memo:
        terms.append(f"<dt>Memo</dt><dd>{esc(row.memo)}</dd>")
    terms.append(f"<dt>Ledger entry</dt><dd>#{esc(row.transaction_id)}</dd>")
    return ('\n        <details><summary>more</summary>\n          <dl class="entry-details">\n            '
            + "\n            ".join(terms) + "\n          </dl>\n        </details>")
