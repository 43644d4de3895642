"""A letter model as a Word document (.docx) that the citizen fills in on a phone (Word,
Google Docs, WPS and LibreOffice open it) or on paper once printed.

Made with python-docx from the model's Markdown: its title, then each paragraph, bold and
italic words, line breaks and bulleted or numbered lists.  An Arabic letter is right to left
throughout: each paragraph is marked bidi and each run rtl, in a font with Arabic letters.
"""
import io

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt

from gateway.portal_content import Letter

FONT = "Arial"  # has Latin and Arabic letters on every phone and office suite
FONT_SIZE = Pt(12)
TITLE_SIZE = Pt(16)
LANGUAGE_TAGS = {"ar": "ar-MA", "fr": "fr-MA"}
RIGHT_TO_LEFT = {"ar"}
# what may follow <w:bidi> in a paragraph's properties (the schema fixes their order)
AFTER_BIDI = ("w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing",
              "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
              "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr",
              "w:pPrChange")
DOCX_MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def letter_document(letter: Letter) -> bytes:
    document = Document()
    right_to_left = letter.language in RIGHT_TO_LEFT
    _set_default_font(document, LANGUAGE_TAGS[letter.language])
    document.core_properties.title = letter.title
    document.core_properties.language = LANGUAGE_TAGS[letter.language]

    title = _paragraph(document, None, right_to_left)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = _add_run(title, letter.title, right_to_left)
    run.bold = run.font.cs_bold = True
    run.font.size = TITLE_SIZE

    list_styles = []  # the list style of each open list, innermost last
    heading = False
    for token in letter.tokens():
        if token.type in ("bullet_list_open", "ordered_list_open"):
            list_styles.append("List Bullet" if token.type == "bullet_list_open" else "List Number")
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            list_styles.pop()
        elif token.type == "heading_open":
            heading = True  # a letter has no outline: a heading's words are a bold paragraph
        elif token.type == "inline":
            paragraph = _paragraph(document, list_styles[-1] if list_styles else None, right_to_left)
            _add_inline(paragraph, token, right_to_left, bold=heading)
            heading = False
    output = io.BytesIO()
    document.save(output)
    return output.getvalue()


def _paragraph(document, style, right_to_left: bool):
    paragraph = document.add_paragraph(style=style)
    if right_to_left:
        properties = paragraph._p.get_or_add_pPr()
        properties.insert_element_before(OxmlElement("w:bidi"), *AFTER_BIDI)
    return paragraph


def _add_inline(paragraph, inline, right_to_left: bool, bold: bool = False) -> None:
    strong = em = 0
    for child in inline.children or ():
        if child.type == "strong_open":
            strong += 1
        elif child.type == "strong_close":
            strong -= 1
        elif child.type == "em_open":
            em += 1
        elif child.type == "em_close":
            em -= 1
        elif child.type == "softbreak":
            _add_run(paragraph, " ", right_to_left)
        elif child.type == "hardbreak":
            paragraph.add_run().add_break()
        elif child.content:  # text, code, and a link's words
            run = _add_run(paragraph, child.content, right_to_left)
            if strong or bold:
                run.bold = run.font.cs_bold = True
            if em:
                run.italic = run.font.cs_italic = True


def _add_run(paragraph, text: str, right_to_left: bool):
    run = paragraph.add_run(text)
    if right_to_left:
        run.font.rtl = True
    return run


def _set_default_font(document, language_tag: str) -> None:
    """The document's defaults, which every style builds on: one font for Latin and Arabic
    letters (instead of the template's theme fonts), its size, and the text's language."""
    defaults = document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    fonts = defaults.find(qn("w:rFonts"))
    for name in list(fonts.attrib):
        del fonts.attrib[name]
    for script in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(script), FONT)
    for size in ("w:sz", "w:szCs"):
        defaults.find(qn(size)).set(qn("w:val"), str(int(FONT_SIZE.pt * 2)))  # in half-points
    language = defaults.find(qn("w:lang"))
    language.set(qn("w:val"), language_tag)
    language.set(qn("w:bidi"), language_tag)
