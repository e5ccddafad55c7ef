"""scripts/i18n_check.py (`make lint`, `make messages`): it passes on the repository's
catalogs, and it fails, naming the string, on an untranslated, fuzzy, missing or stale
entry and on a .mo that does not match its .po."""

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

from tests.markers import require_program

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("i18n_check", ROOT / "scripts" / "i18n_check.py")
i18n_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(i18n_check)


@pytest.fixture
def locale(tmp_path):
    """A copy of the repository's catalogs to spoil."""
    copy = tmp_path / "locale"
    shutil.copytree(ROOT / "locale", copy)
    return copy


def _edit(locale, lang, change, *, compile_mo=True):
    path = locale / lang / "LC_MESSAGES" / "django.po"
    po = polib.pofile(str(path))
    change(po)
    po.save(str(path))
    if compile_mo:
        po.save_as_mofile(str(path.with_suffix(".mo")))


def _entry(po, msgid):
    return next(e for e in po if e.msgid == msgid)


def test_i18n_check_repository_catalogs_are_complete_and_compiled():
    assert i18n_check.catalog_problems(None) == []


def test_i18n_check_names_an_untranslated_entry(locale):
    _edit(locale, "de", lambda po: setattr(_entry(po, "tenants"), "msgstr", ""))
    problems = i18n_check.catalog_problems(None, locale)
    assert problems == ["locale/de/LC_MESSAGES/django.po: 'tenants' is not translated"]


def test_i18n_check_names_a_fuzzy_entry(locale):
    _edit(locale, "fr", lambda po: _entry(po, "tenants").flags.append("fuzzy"))
    problems = i18n_check.catalog_problems(None, locale)
    assert any("'tenants' is fuzzy" in p for p in problems), problems


def test_i18n_check_names_a_mo_that_differs_from_its_po(locale):
    _edit(
        locale,
        "de",
        lambda po: setattr(_entry(po, "tenants"), "msgstr", "Kunden"),
        compile_mo=False,
    )
    problems = i18n_check.catalog_problems(None, locale)
    assert problems == [
        "locale/de/LC_MESSAGES/django.mo: differs from its .po ('tenants'): run make messages"
    ]


def test_i18n_check_names_missing_and_stale_strings(locale):
    wanted = {
        (domain, lang): [e for e in polib.pofile(str(i18n_check.po_path(locale, lang, domain)))]
        for domain in i18n_check.DOMAINS
        for lang in i18n_check.LANGUAGES
    }
    wanted[("django", "de")] = [e for e in wanted[("django", "de")] if e.msgid != "tenants"]
    wanted[("django", "de")].append(polib.POEntry(msgid="A brand new string"))
    problems = i18n_check.catalog_problems(wanted, locale)
    assert problems == [
        "locale/de/LC_MESSAGES/django.po: 'A brand new string' is missing (run make messages)",
        "locale/de/LC_MESSAGES/django.po: 'tenants' is no longer in the code (run make messages)",
    ]


def test_i18n_check_update_keeps_translations_and_adds_new_strings_empty(locale):
    wanted = {
        (domain, lang): list(polib.pofile(str(i18n_check.po_path(locale, lang, domain))))
        for domain in i18n_check.DOMAINS
        for lang in i18n_check.LANGUAGES
    }
    for lang in i18n_check.LANGUAGES:
        wanted[("django", lang)].append(
            polib.POEntry(msgid="%(n)d new thing", msgid_plural="%(n)d new things")
        )
    i18n_check.update(wanted, locale)
    po = polib.pofile(str(locale / "fr" / "LC_MESSAGES" / "django.po"))
    assert _entry(po, "tenants").msgstr == "locataires"
    assert _entry(po, "%(n)d new thing").msgstr_plural == {0: "", 1: "", 2: ""}  # 3 in French
    problems = i18n_check.catalog_problems(wanted, locale)
    assert sorted(problems) == [
        "locale/de/LC_MESSAGES/django.po: '%(n)d new thing' is not translated",
        "locale/fr/LC_MESSAGES/django.po: '%(n)d new thing' is not translated",
    ]


def test_i18n_check_command_passes_on_the_repository():
    require_program("xgettext", "the check extracts the code's strings", "apt-get install gettext")
    done = subprocess.run(
        [sys.executable, "scripts/i18n_check.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "catalogs complete" in done.stdout


def test_i18n_check_console_models_have_translated_names():
    assert i18n_check.unmarked_model_names() == []


def test_i18n_check_names_a_field_whose_name_is_not_marked(monkeypatch):
    from tenancy.models import Tenant

    monkeypatch.setattr(Tenant._meta.get_field("tier"), "verbose_name", "tier")
    assert i18n_check.unmarked_model_names() == [
        "tenancy.Tenant.tier: verbose_name is not marked for translation"
    ]
