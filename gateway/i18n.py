"""Arabic (right to left, the default) and French: which language a request gets, and the
compiled catalogs Flask-Babel reads.

Pages take the language from `?lang=`, then the `lang` cookie that `?lang=` sets, then the
browser's Accept-Language; the JSON API from `?lang=`, then Accept-Language.  Formatting
uses the Moroccan variants (ar_MA, fr_MA): Western digits and a 24-hour clock.
"""
import os
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import current_app, request
from flask_babel import Babel, format_decimal, get_locale, gettext as _

TRANSLATIONS_DIR = Path(__file__).with_name("translations")
LANGUAGES = {"ar": "ar_MA", "fr": "fr_MA"}
DEFAULT_LANGUAGE = "ar"
LANGUAGE_NAMES = {"ar": "العربية", "fr": "Français"}
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600


def is_api_request() -> bool:
    """A program's request (the JSON API, Open311): no language cookie, errors as data."""
    return request.path.startswith(("/api/", "/open311/"))


def requested_language() -> str | None:
    """The language asked for explicitly with `?lang=`, if it is one we speak."""
    asked = request.args.get("lang")
    return asked if asked in LANGUAGES else None


def select_language() -> str:
    asked = requested_language()
    if asked:
        return asked
    if not is_api_request() and request.cookies.get(COOKIE) in LANGUAGES:
        return request.cookies[COOKIE]
    return request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT_LANGUAGE)


def current_language() -> str:
    return get_locale().language


def format_size(size: int) -> str:
    """A size in bytes as people say it: 840 KB, 4.5 MB."""
    if size < 1024 * 1024:
        return _("%(number)s KB", number=format_decimal(max(1, round(size / 1024))))
    return _("%(number)s MB", number=format_decimal(round(size / (1024 * 1024), 1)))


def compile_catalogs(directory: Path = TRANSLATIONS_DIR) -> list[Path]:
    """Compile each messages.po whose .mo is missing or older; the .mo files are build output.

    Each .mo is written to a temporary file and renamed, so gunicorn workers starting
    together never read half a catalog.  Returns the catalogs it (re)compiled.
    """
    compiled = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/messages.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parents[1].name)
        descriptor, temporary = tempfile.mkstemp(dir=mo_path.parent, suffix=".mo.tmp")
        try:
            with os.fdopen(descriptor, "wb") as mo_file:
                write_mo(mo_file, catalog)
            os.replace(temporary, mo_path)
        except BaseException:
            os.unlink(temporary)
            raise
        compiled.append(mo_path)
    return compiled


def _language_context():
    language = current_language()
    others = [code for code in LANGUAGES if code != language]
    return {
        "lang": language,
        "direction": "rtl" if get_locale().character_order == "right-to-left" else "ltr",
        "other_languages": [(code, LANGUAGE_NAMES[code], _same_page_in(code)) for code in others],
    }


def _same_page_in(language: str) -> str:
    """This page's address with `lang` switched, keeping its other query arguments."""
    arguments = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    return request.path + "?" + urlencode([*arguments, ("lang", language)])


def _remember_language(response):
    asked = requested_language()
    if asked and not is_api_request() and request.cookies.get(COOKIE) != asked:
        response.set_cookie(COOKIE, asked, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True,
                            secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def init_i18n(app) -> None:
    compile_catalogs()
    app.config.setdefault("BABEL_DEFAULT_LOCALE", LANGUAGES[DEFAULT_LANGUAGE])
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Africa/Casablanca")
    Babel(app, locale_selector=lambda: LANGUAGES[select_language()])
    app.context_processor(_language_context)
    app.add_template_filter(format_size)
    app.after_request(_remember_language)
