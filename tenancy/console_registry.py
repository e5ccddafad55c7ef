"""What the console shows: sections of the sidebar and cards of the operations home.

The console shell (`tenancy.console_site`) draws whatever this registry holds, so a
manager plugs its pages into the console from its own `AppConfig.ready()` without the
shell knowing it exists (tenancy is the bottom layer: it cannot import the managers).

    register_section("security", _("Security"), icon="shield", order=30)
    register_item("security", NavItem(_("Dashboard"), "console-security", icon="monitoring"))
    register_admin_models("security", [KeyRing])      # their changelists, permission-checked
    register_card("jobs", jobs_card, order=60)        # a KPI card on the operations home

An admin model that no section claims still appears, under "Other", so that registering
a model in the admin can never hide it from the sidebar.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext_lazy as _

Permission = Callable[[Any], bool]  # (request) -> may this user see the item?


@dataclass(frozen=True)
class NavItem:
    title: Any  # str or lazy str
    link: str  # a URL name (reversed at render time) or a path starting with "/"
    icon: str = "chevron_right"  # a Material Symbols name
    permission: Permission | None = None
    kind: str = "page"  # "page" | "dashboard" | "admin"


@dataclass
class Section:
    key: str
    title: Any
    icon: str = "folder"
    order: int = 100
    items: list[NavItem] = field(default_factory=list)
    models: list[type] = field(default_factory=list)  # admin changelists, in this order


@dataclass(frozen=True)
class CardRow:
    label: Any
    value: Any
    link: str | None = None
    tone: str = ""  # "", "ok", "warning", "danger": how the value should read


@dataclass(frozen=True)
class Card:
    """One KPI card. `value` is the headline; `rows` break it down; `link` goes to the
    details (a URL, query string included: `console_cards.changelist_url`). `empty` is
    set only when there is nothing to count yet: the sentence saying what will fill the
    card and how, shown instead of the value and rows (docs/architecture.md#the-console)."""

    key: str
    title: Any
    value: Any
    link: str | None = None
    rows: tuple[CardRow, ...] = ()
    subtitle: Any = ""
    empty: Any = ""
    order: int = 100


# provider(request, tenants) -> Card | None. `tenants` is the list of tenants the card
# covers (one picked tenant, or every tenant for an operator who chose "all"); None
# answers "this card does not apply to this user".
CardProvider = Callable[[Any, list], "Card | None"]

_sections: dict[str, Section] = {}
_cards: dict[str, tuple[int, CardProvider]] = {}

OTHER = "other"


class UnknownSection(LookupError):
    pass


def register_section(key: str, title, *, icon: str = "folder", order: int = 100) -> Section:
    """Create a sidebar section, or update the title/icon/order of an existing one
    (registration is idempotent: `ready()` may run twice under the test runner)."""
    section = _sections.get(key)
    if section is None:
        section = _sections[key] = Section(key, title, icon, order)
    else:
        section.title, section.icon, section.order = title, icon, order
    return section


def _section(key: str) -> Section:
    try:
        return _sections[key]
    except KeyError:
        raise UnknownSection(
            f"no console section {key!r}: call register_section({key!r}, ...) first "
            f"(known: {', '.join(sorted(_sections)) or 'none'})"
        ) from None


def register_item(section_key: str, item: NavItem) -> None:
    section = _section(section_key)
    section.items = [i for i in section.items if i.link != item.link] + [item]


def register_admin_models(section_key: str, models: list[type]) -> None:
    section = _section(section_key)
    for model in models:
        for other in _sections.values():
            if model in other.models:
                other.models.remove(model)
        section.models.append(model)


def register_card(key: str, provider: CardProvider, *, order: int = 100) -> None:
    _cards[key] = (order, provider)


def sections() -> list[Section]:
    return sorted(_sections.values(), key=lambda s: (s.order, str(s.title)))


def claimed_models() -> set[type]:
    return {m for s in _sections.values() for m in s.models}


def card_providers() -> list[tuple[str, CardProvider]]:
    return [(key, p) for key, (_order, p) in sorted(_cards.items(), key=lambda kv: kv[1][0])]


register_section(OTHER, _("Other"), icon="more_horiz", order=1000)
