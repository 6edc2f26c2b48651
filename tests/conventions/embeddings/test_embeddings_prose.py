"""`prose` pairs: documentation sentences naming one definition, mined from a real temporary git repository."""

from __future__ import annotations

from pathlib import Path

import pytest
from embedding_repo import build_shop, pairs_with_and_without

from copilot_index.conventions.embeddings.pairs import MiningOptions, Pair, PairMiner
from copilot_index.indexer.repo import resolve_repo

CODE = '''def send_invoice(order, mailer):
    """Mail the invoice of an order."""
    body = render_invoice(order)
    return mailer.deliver(order.customer_email, body)


def render_invoice(order):
    lines = [f"{item.name}: {item.price}" for item in order.items]
    return "\\n".join(lines)


class RetryPolicy:
    def backoff_seconds(self, attempt):
        return min(60, 2**attempt)
'''

GO = '''package shop

func applyDiscount(total int, percent int) int {
	return total - total*percent/100
}
'''

OTHER = '''def render_invoice(template):
    return template.strip()
'''

README = '''# Shop

Call `send_invoice` once an order is paid, and the customer gets their invoice by mail.
The `send_invoice` and `render_invoice` helpers live in one module.
Invoices are rendered by ``billing.render_invoice`` from the order's items.

```python
send_invoice(order, mailer)  # a code block explains nothing in words
```

    render_invoice(order) is an indented code line of a longer example

Writing `send_invoice()` twice does not send a second invoice, the mailer ignores repeats.
A reminder mail goes out after three days when send_invoice was never called for an order.
''' + "Hostile markup around `send_invoice` is skipped as too long:\n" + ("[a](verylongwords " * 8 + "\n") * 6

GUIDE = '''Guide
=====

-   :meth:`~shop.billing.RetryPolicy.backoff_seconds` no longer waits more than a minute
    between two attempts to reach the mail server.
-   Discounts are computed by applyDiscount without rounding up the customer's total.
-   [FIX] fix(discount): applyDiscount keeps whole cents for every currency (#412) (@mara)
-   `RetryPolicy` no longer keeps the API key sk_live_51HxQwErTyUiOpAsDfGhJkL0 in its settings.
'''


def _prose(repo, per_definition: int = 6) -> list[Pair]:  # type: ignore[no-untyped-def]
    repo.write("shop/billing.py", CODE)
    repo.write("shop/discount.go", GO)
    repo.write("legacy/templates.py", OTHER)
    repo.write("README.md", README)
    repo.write("docs/guide.rst", GUIDE)
    repo.write("CHANGELOG.md", "- `send_invoice` now retries when the mail server does not answer in time.\n")
    repo.commit("Import the shop")
    pairs = PairMiner(resolve_repo(repo.root), options=MiningOptions(prose_per_definition=per_definition)).mine()
    return [p for p in pairs if p.source == "prose"]


def test_a_sentence_naming_one_definition_points_at_its_code_without_its_doc(repo) -> None:  # type: ignore[no-untyped-def]
    pairs = _prose(repo)
    [paid] = [p for p in pairs if p.query.startswith("Call send_invoice")]
    assert paid.query == "Call send_invoice once an order is paid, and the customer gets their invoice by mail."
    assert paid.path == "shop/billing.py"
    assert "def send_invoice(order, mailer):" in paid.positive
    assert "Mail the invoice" not in paid.positive
    assert "def render_invoice" not in paid.positive


def test_markup_roles_dotted_paths_and_bare_identifiers_are_resolved(repo) -> None:  # type: ignore[no-untyped-def]
    by_query = {p.query: p for p in _prose(repo)}
    backoff = by_query["backoff_seconds no longer waits more than a minute between two attempts to reach the mail server."]
    assert "def backoff_seconds(self, attempt):" in backoff.positive
    # render_invoice is defined twice; the dotted path says which one is meant
    dotted = by_query["Invoices are rendered by billing.render_invoice from the order's items."]
    assert dotted.path == "shop/billing.py"
    assert "func applyDiscount" in by_query[
        "Discounts are computed by applyDiscount without rounding up the customer's total."].positive
    assert "applyDiscount keeps whole cents for every currency" in by_query  # a changelog line's tags are dropped
    assert "send_invoice" in " ".join(by_query)  # bare snake_case and a call with () count too
    assert any(q.startswith("A reminder mail goes out") for q in by_query)
    assert any(q.startswith("Writing send_invoice() twice") for q in by_query)


def test_ambiguous_names_two_definitions_and_code_blocks_make_no_pair(repo) -> None:  # type: ignore[no-untyped-def]
    queries = [p.query for p in _prose(repo)]
    assert not any("helpers live in one module" in q for q in queries)  # names two definitions
    assert not any("code block" in q or "indented code line" in q for q in queries)
    assert not any(q.startswith("render_invoice") for q in queries)  # bare name defined twice: no answer
    assert not any(q.startswith("Hostile markup") for q in queries)  # not a sentence anyone would type
    assert not any("retries when the mail server" in q for q in queries)  # release notes say what changed


def test_secrets_in_prose_are_redacted_and_a_definition_gets_at_most_its_share(repo) -> None:  # type: ignore[no-untyped-def]
    pairs = _prose(repo, per_definition=2)
    assert len([p for p in pairs if "def send_invoice" in p.positive]) == 2  # of the README's three sentences
    [secret] = [p for p in pairs if p.query.startswith("RetryPolicy no longer keeps the API key")]
    assert "class RetryPolicy" in secret.positive  # after the method's sentence, which also means the class
    assert not any("sk_live_51HxQwErTyUiOpAsDfGhJkL0" in p.query + p.positive for p in pairs)
    assert _prose_off(repo) == []


def _prose_off(repo) -> list[Pair]:  # type: ignore[no-untyped-def]
    pairs = PairMiner(resolve_repo(repo.root)).mine()  # the default: no prose pairs
    return [p for p in pairs if p.source == "prose"]


def test_train_embeddings_trains_on_prose_pairs_only_when_asked(  # type: ignore[no-untyped-def]
    repo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_shop(repo)
    repo.write("README.md", "Orders hold stock through `reserve_stock` until they are paid or cancelled.\n\n"
               "A returned parcel goes back on the shelf with restock_item, one unit at a time.\n")
    repo.commit("Document the stock rules")
    by_source = pairs_with_and_without(repo.root, "--prose", tmp_path, capsys)
    assert by_source["on"]["prose"] == 2 and by_source["off"]["prose"] == 0
    assert {k: v for k, v in by_source["on"].items() if k != "prose"} == {
        k: v for k, v in by_source["off"].items() if k != "prose"}
