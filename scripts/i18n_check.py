"""The translation catalogs (locale/): check them, or bring them up to date.

    python scripts/i18n_check.py           # `make lint`: fails, naming each problem
    python scripts/i18n_check.py --update  # `make messages`: refresh locale/ from the code

What should be translated is extracted the way Django does it (`makemessages`, which
runs GNU gettext's xgettext) into a temporary directory, never into locale/ itself:
- our code: every app, templates/ and config/ (tests, the bench, scripts and var/ are
  not the product's; hidden directories such as .venv are skipped by Django anyway),
  domains `django` (Python, templates) and `djangojs` (the console's scripts);
- django-unfold, the admin's theme, which ships no translations at all: its templates'
  and its Python's strings join our `django` catalog, except those Django's own catalogs
  (admin, auth, ...) already translate for that language, which stay Django's.

The check fails when one of our models in the console (the admin) has a name or a field
whose name is not marked for translation, and when, for German or French, a string of
the code is missing from the catalog, an entry is untranslated or fuzzy, an entry no
longer in the code is left over (run `make messages`), or a compiled .mo is missing or
differs from its .po. The .mo is compared as a catalog (what gettext would look up), not
by date: a git checkout gives every file the same age.

`--update` rewrites each .po with the extracted entries in extraction order, keeping
every translation whose msgid (and context) is unchanged, drops what the code no longer
has, and compiles the .mo files with polib: no msgfmt needed, and a fresh machine needs
no gettext at all to run the product. New entries are left empty for a translator; the
check names them until they are translated.
"""

from __future__ import annotations

import argparse
import gettext
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "locale"
LANGUAGES = ("de", "fr")
DOMAINS = ("django", "djangojs")
# Not the product's strings: tests, benchmarks, scripts, docs, runtime files, migrations
# (they hold verbose names as plain text, never marked), the catalogs themselves.
IGNORES = ["tests", "bench", "scripts", "docs", "var", "locale", "migrations", "staticfiles"]
THIRD_PARTY = "unfold"  # the admin theme whose strings we translate ourselves
HEADER = {
    "Project-Id-Version": "Data Isolation Managers",
    "Report-Msgid-Bugs-To": "",
    "MIME-Version": "1.0",
    "Content-Type": "text/plain; charset=UTF-8",
    "Content-Transfer-Encoding": "8bit",
}


def _django():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def key(entry) -> tuple[str, str]:
    return (entry.msgctxt or "", entry.msgid)


@contextmanager
def _cwd(path: Path):
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def _makemessages(source: Path, out: Path, domain: str, ignores: list[str]) -> dict:
    """{lang: POFile} of `source`'s strings, extracted by Django into `out`."""
    from django.conf import settings
    from django.core.management import call_command

    saved = settings.LOCALE_PATHS
    settings.LOCALE_PATHS = [str(out)]  # makemessages writes to the first one
    try:
        with _cwd(source):
            call_command(
                "makemessages",
                locale=list(LANGUAGES),
                domain=domain,
                ignore_patterns=ignores,
                add_location="file",
                no_obsolete=True,
                verbosity=0,
            )
    finally:
        settings.LOCALE_PATHS = saved
    found = {}
    for lang in LANGUAGES:
        path = out / lang / "LC_MESSAGES" / f"{domain}.po"
        found[lang] = polib.pofile(str(path)) if path.exists() else polib.POFile()
    return found


def _django_translates(lang: str):
    """Whether Django's own catalogs (its core and every installed app but ours, which
    have none) translate a (context, msgid) in `lang`."""
    import django
    from django.apps import apps

    dirs = [Path(django.__file__).parent / "conf" / "locale"]
    dirs += [Path(app.path) / "locale" for app in apps.get_app_configs()]
    catalog: dict = {}
    for localedir in dirs:
        found = gettext.translation("django", str(localedir), [lang], fallback=True)
        catalog.update(getattr(found, "_catalog", {}))

    def translates(entry) -> bool:
        msgid = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
        value = catalog.get((msgid, 0) if entry.msgid_plural else msgid)
        return bool(value)

    return translates


def _not_product(directory: str, names: list[str]) -> set[str]:
    skip = {*IGNORES, "__pycache__", "node_modules"}
    return {n for n in names if n in skip or n.startswith(".")}


def _theme_unused(directory: str, names: list[str]) -> set[str]:
    """The theme's static files, and its contrib apps that are not installed (their
    strings never show)."""
    from django.apps import apps

    skip = {"static", "locale", "__pycache__"}
    if Path(directory).name == "contrib":
        skip |= {n for n in names if not apps.is_installed(f"{THIRD_PARTY}.contrib.{n}")}
    return {n for n in names if n in skip}


def extract() -> dict[tuple[str, str], list]:
    """{(domain, lang): [POEntry]}: what the code asks to translate (needs xgettext)."""
    _django()
    import unfold

    wanted: dict[tuple[str, str], list] = {}
    with tempfile.TemporaryDirectory(prefix="dim-i18n-") as tmp:
        tmp = Path(tmp)
        # Copies, so that nothing is ever written into locale/ or the installed package:
        # makemessages sends a file's strings to the `locale` directory beside it.
        source = tmp / "src"
        shutil.copytree(ROOT, source, ignore=_not_product)
        for domain in DOMAINS:
            ours = _makemessages(source, tmp / f"ours-{domain}", domain, IGNORES)
            for lang in LANGUAGES:
                wanted[(domain, lang)] = [e for e in ours[lang] if not e.obsolete]
        theme = tmp / THIRD_PARTY
        shutil.copytree(Path(unfold.__file__).parent, theme, ignore=_theme_unused)
        theirs = _makemessages(theme, tmp / "theme", "django", [])
        for lang in LANGUAGES:
            have = {key(e) for e in wanted[("django", lang)]}
            django_has = _django_translates(lang)
            for entry in theirs[lang]:
                if entry.obsolete or key(entry) in have or django_has(entry):
                    continue
                entry.occurrences = [(f"{THIRD_PARTY}/{f}", n) for f, n in entry.occurrences]
                wanted[("django", lang)].append(entry)
    return wanted


def unmarked_model_names() -> list[str]:
    """Our models in the console (registered in the admin) whose names or fields' names
    are not marked for translation: extraction cannot see a string nobody marked, and a
    field without `verbose_name` shows its attribute name, in English, as a column title."""
    from django.contrib import admin
    from django.utils.functional import Promise

    problems = []
    for model in sorted(admin.site._registry, key=lambda m: m._meta.label):
        opts = model._meta
        app_path = Path(opts.app_config.path)
        installed = "site-packages" in app_path.parts  # a package, even in ROOT/.venv
        if (
            installed
            or not app_path.is_relative_to(ROOT)
            or opts.app_config.name.startswith("tests")
        ):
            continue
        for attr in ("verbose_name", "verbose_name_plural"):
            if not isinstance(opts.original_attrs.get(attr), Promise):
                problems.append(f"{opts.label}: Meta.{attr} is not marked for translation")
        for field in opts.get_fields():
            if field.concrete and not field.auto_created:
                if not isinstance(field.verbose_name, Promise):
                    problems.append(
                        f"{opts.label}.{field.name}: verbose_name is not marked for translation"
                    )
    return problems


def po_path(locale_dir: Path, lang: str, domain: str) -> Path:
    return locale_dir / lang / "LC_MESSAGES" / f"{domain}.po"


def _expected_mo(po) -> dict:
    """What gettext should find in the compiled catalog of `po`."""
    catalog = {}
    for entry in po.translated_entries():
        msgid = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
        if entry.msgid_plural:
            for index, text in entry.msgstr_plural.items():
                catalog[(msgid, int(index))] = text
        else:
            catalog[msgid] = entry.msgstr
    return catalog


def _mo_problems(po, po_file: Path) -> list[str]:
    mo_file = po_file.with_suffix(".mo")
    if not mo_file.exists():
        return [f"{mo_file.relative_to(po_file.parents[3])}: missing (run make messages)"]
    with mo_file.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    found = {k: v for k, v in compiled._catalog.items() if k != ""}
    expected = _expected_mo(po)
    differing = sorted(
        repr(k) for k in set(found) | set(expected) if found.get(k) != expected.get(k)
    )
    plural = compiled.info().get("plural-forms") == po.metadata.get("Plural-Forms")
    if not differing and plural:
        return []
    name = mo_file.relative_to(po_file.parents[3])
    detail = ", ".join(differing[:5]) + (" ..." if len(differing) > 5 else "")
    return [f"{name}: differs from its .po ({detail or 'Plural-Forms'}): run make messages"]


def _label(ctx: str, msgid: str) -> str:
    return f"{msgid!r} (context {ctx!r})" if ctx else repr(msgid)


def catalog_problems(wanted: dict | None, locale_dir: Path = LOCALE_DIR) -> list[str]:
    """Every problem of the catalogs under `locale_dir`; with `wanted` (from `extract`),
    also what the code has that they lack, and what they keep that the code dropped."""
    problems = []
    for domain in DOMAINS:
        for lang in LANGUAGES:
            po_file = po_path(locale_dir, lang, domain)
            expected = None if wanted is None else wanted.get((domain, lang), [])
            name = po_file.relative_to(locale_dir.parent)
            if not po_file.exists():
                if expected:
                    problems.append(f"{name}: missing (run make messages)")
                continue
            po = polib.pofile(str(po_file))
            live = [e for e in po if not e.obsolete]
            forms = nplurals(po.metadata.get("Plural-Forms", ""))
            for entry in live:
                label = f"{name}: {_label(*key(entry))}"
                if "fuzzy" in entry.flags:
                    problems.append(f"{label} is fuzzy (check the translation, drop the flag)")
                elif not entry.translated():
                    problems.append(f"{label} is not translated")
                elif entry.msgid_plural and len(entry.msgstr_plural) != forms:
                    problems.append(
                        f"{label} has {len(entry.msgstr_plural)} plural forms, {lang} has {forms}"
                    )
            if expected is not None:
                have = {key(e) for e in live}
                code = {key(e) for e in expected}
                for ctx, msgid in sorted(code - have):
                    problems.append(f"{name}: {_label(ctx, msgid)} is missing (run make messages)")
                for ctx, msgid in sorted(have - code):
                    problems.append(
                        f"{name}: {_label(ctx, msgid)} is no longer in the code (run make messages)"
                    )
            problems += _mo_problems(po, po_file)
    return problems


def update(wanted: dict, locale_dir: Path = LOCALE_DIR) -> None:
    """Rewrite each catalog from `wanted`, keeping the translations, and compile it."""
    for (domain, lang), entries in sorted(wanted.items()):
        po_file = po_path(locale_dir, lang, domain)
        old = {key(e): e for e in polib.pofile(str(po_file))} if po_file.exists() else {}
        po = polib.POFile(wrapwidth=79)
        po.header = (
            "Data Isolation Managers: the console's strings, and django-unfold's where Django "
            "does not\ntranslate them. Updated by `make messages`, checked by `make lint` "
            "(docs/operations.md#translations)."
        )
        po.metadata = {**HEADER, "Language": lang, "Plural-Forms": plural_forms(lang)}
        forms = nplurals(po.metadata["Plural-Forms"])
        for entry in entries:
            kept = old.get(key(entry))
            if kept is not None and not kept.obsolete:
                entry.msgstr = kept.msgstr
                entry.msgstr_plural = kept.msgstr_plural or entry.msgstr_plural
                if "fuzzy" in kept.flags and "fuzzy" not in entry.flags:
                    entry.flags.append("fuzzy")
            if entry.msgid_plural:  # as many forms as the language has, empty until translated
                entry.msgstr_plural = {i: entry.msgstr_plural.get(i, "") for i in range(forms)}
            po.append(entry)
        po_file.parent.mkdir(parents=True, exist_ok=True)
        po.save(str(po_file))
        po.save_as_mofile(str(po_file.with_suffix(".mo")))


def nplurals(header: str) -> int:
    """The number of plural forms a Plural-Forms header declares (2 when it says none)."""
    for part in header.split(";"):
        name, _sep, value = part.partition("=")
        if name.strip() == "nplurals" and value.strip().isdigit():
            return int(value)
    return 2


def plural_forms(lang: str) -> str:
    """Django's own Plural-Forms header for `lang`."""
    import django

    found = gettext.translation(
        "django", str(Path(django.__file__).parent / "conf" / "locale"), [lang]
    )
    return found.info()["plural-forms"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help="refresh locale/ (make messages)")
    args = parser.parse_args(argv)
    if shutil.which("xgettext") is None:
        print(
            "i18n: xgettext is not installed (apt-get install gettext): the catalogs cannot "
            "be compared with the code",
            file=sys.stderr,
        )
        for problem in catalog_problems(None):
            print(f"i18n: {problem}", file=sys.stderr)
        return 1
    wanted = extract()
    if args.update:
        update(wanted)
    problems = unmarked_model_names() + catalog_problems(wanted)
    for problem in problems:
        print(f"i18n: {problem}", file=sys.stderr)
    counts = ", ".join(f"{d}/{lang}: {len(wanted[(d, lang)])}" for d, lang in sorted(wanted))
    if problems:
        print(f"i18n: {len(problems)} problem(s) ({counts} strings)", file=sys.stderr)
        return 1
    print(f"i18n: catalogs complete ({counts} strings)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
