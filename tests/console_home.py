"""The operations home's cards as a test reads them: through the console itself (the
tenant middleware, the context it opens, the providers), never by calling a provider
with a hand-made request."""

from __future__ import annotations


def home_cards(client, tenant: str | None = None) -> dict:
    """{card key: card} of the home page for the signed-in client; `tenant` picks one
    (as ?tenant= does)."""
    response = client.get("/", {"tenant": tenant} if tenant else {})
    assert response.status_code == 200
    return {card.key: card for card in response.context["cards"]}


def _plain(value):
    # Durations come from Django's timesince, which joins number and unit with a
    # no-break space.
    return value.replace("\xa0", " ") if isinstance(value, str) else value


def rows(card) -> dict:
    """{label: value} of a card's rows (no-break spaces as plain ones)."""
    return {str(row.label): _plain(row.value) for row in card.rows}


def tones(card) -> dict:
    return {str(row.label): row.tone for row in card.rows}
