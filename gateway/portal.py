"""The citizen's help pages: questions and answers, and the complaint letter models, each
shown as a page and downloadable as a Word document in the page's language.

Their words are in gateway/content/ (gateway.portal_content), which editors change.
"""
from flask import Blueprint, Response, abort, render_template

from gateway.i18n import current_language
from gateway.letter_docx import DOCX_MIMETYPE, letter_document
from gateway.portal_content import faq as faq_content, letter as letter_content, letters, lifecycle_settings

blueprint = Blueprint("portal", __name__)


@blueprint.get("/faq")
def faq():
    return render_template("faq.html", faq=faq_content(current_language(), lifecycle_settings()))


@blueprint.get("/templates")
def templates():
    return render_template("letters.html", letters=letters(current_language(), lifecycle_settings()))


@blueprint.get("/templates/<slug>")
def template(slug):
    return render_template("letter.html", letter=_letter(slug))


@blueprint.get("/templates/<slug>.docx")
def template_document(slug):
    letter = _letter(slug)
    return Response(letter_document(letter), mimetype=DOCX_MIMETYPE, headers={
        "Content-Disposition": f'attachment; filename="chikaya-{letter.slug}-{letter.language}.docx"',
        "Cache-Control": "no-cache",  # the language follows the visitor, not the address
        "Vary": "Cookie, Accept-Language",
    })


def _letter(slug: str):
    letter = letter_content(slug, current_language(), lifecycle_settings())
    if letter is None:
        abort(404)
    return letter
