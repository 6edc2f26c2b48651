"""A small shop repository with docstrings, doc comments, a test file, a secret and a few focused commits."""

from __future__ import annotations

import json
from pathlib import Path

CART = '''"""Shopping cart operations."""


def add_item(cart, item, quantity=1):
    """Add an item to the shopping cart, increasing its quantity."""
    cart[item] = cart.get(item, 0) + quantity
    return cart


def remove_item(cart, item):
    """Remove an item from the shopping cart entirely."""
    cart.pop(item, None)
    return cart


def cart_total(cart, prices):
    """Compute the total price of everything in the cart."""
    return sum(prices[item] * count for item, count in cart.items())
'''

PAYMENT = '''"""Payment client."""


def charge_card(amount, card_number):
    """Charge a credit card through the payment gateway."""
    token = "ghp_4f9Qx2LmZ8rT1vK7bN3cY6wE0uH5jD2sA9pR"
    request = {"amount": amount, "card": card_number, "token": token}
    return send_request("/charge", request)


def refund_payment(payment_id, amount):
    """Refund part or all of an earlier payment."""
    request = {"payment": payment_id, "amount": amount}
    return send_request("/refund", request)
'''

SHIPPING = '''/**
 * Estimate the delivery date for a parcel sent to the given country.
 */
function estimateDelivery(country, weightKg) {
  const days = country === "NL" ? 1 : 4;
  return new Date(Date.now() + days * 86400000 + weightKg * 1000);
}

// Format a postal address as printable label lines.
function formatAddressLabel(address) {
  return [address.name, address.street, `${address.zip} ${address.city}`].join("\\n");
}
'''

INVENTORY = '''"""Stock keeping."""


def reserve_stock(stock, item, quantity):
    """Reserve units of an item so that no other order can take them."""
    if stock.get(item, 0) < quantity:
        raise ValueError(f"not enough {item} in stock")
    stock[item] -= quantity
    return stock


def restock_item(stock, item, quantity):
    """Put units of an item back on the shelf after a return."""
    stock[item] = stock.get(item, 0) + quantity
    return stock
'''

TESTS = '''from shop.cart import add_item


def test_add_item_twice():
    cart = add_item({}, "apple")
    assert add_item(cart, "apple")["apple"] == 2
'''

REMOVE_FIXED = CART.replace(
    '    cart.pop(item, None)\n    return cart\n',
    '    if item in cart:\n        del cart[item]\n    return cart\n',
)


def build_shop(repo) -> None:  # type: ignore[no-untyped-def]
    """Write the shop into a tests `GitRepo`: one import commit, then two focused ones."""
    repo.write("shop/cart.py", CART)
    repo.write("shop/payment.py", PAYMENT)
    repo.write("shop/shipping.js", SHIPPING)
    repo.write("shop/inventory.py", INVENTORY)
    repo.write("tests/test_cart.py", TESTS)
    repo.commit("Import the whole shop at once")
    repo.write("shop/cart.py", REMOVE_FIXED)
    repo.commit("Keep the cart intact when removing a missing item")
    repo.write("shop/inventory.py", INVENTORY.replace("not enough", "too few"))
    repo.commit("Reword the out of stock error AKIAIOSFODNN7EXAMPLE")


def pairs_with_and_without(repo_root, flag: str, data: Path, capsys) -> dict[str, dict[str, int]]:  # type: ignore[no-untyped-def]
    """`train-embeddings --json` on a tiny budget with `flag` ("on") and without it ("off"): the pairs by source."""
    from copilot_index.server.cli import main

    by_source = {}
    for label, extra in (("on", [flag]), ("off", [])):
        code = main(["--data-dir", str(data / label), "train-embeddings", "--repo", str(repo_root), "--json",
                     "--minutes", "0.05", "--batch-size", "4", "--held-out", "0.4", "--no-probe", *extra])
        assert code == 0
        by_source[label] = json.loads(capsys.readouterr().out)["pairs"]["by_source"]
    return by_source
