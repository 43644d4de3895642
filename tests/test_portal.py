"""The citizen's help pages: the home page, the questions and answers and the complaint letter
models, whose words editors keep in gateway/content/; and the site's colours against WCAG 2.1 AA.
(The same pages in a real browser, with axe-core: tests/browser.)"""
import io
import re
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn

from gateway import portal_content
from gateway.app import create_app
from gateway.i18n import LANGUAGES
from services.intake.domain import Settings
from tests.conftest import RABBIT_HOST, RABBIT_PASSWORD, RABBIT_USER

STYLE = Path(__file__).resolve().parents[1] / "gateway" / "static" / "style.css"


@pytest.fixture(scope="module")
def portal_app(tmp_path_factory):
    """The gateway with deadlines other than the defaults, which the pages must show.  These
    pages need no service: its broker address is a vhost that does not exist, so a page that
    asked a service anything would fail here."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHIKAYA_VAR_DIR", str(tmp_path_factory.mktemp("var")))
        app = create_app({"AMQP_URI": f"amqp://{RABBIT_USER}:{RABBIT_PASSWORD}@{RABBIT_HOST}/no-such-vhost",
                          "TESTING": True, "SECRET_KEY": "test-only-secret",
                          "ANSWER_DEADLINE_DAYS": "45", "REOPEN_WINDOW_DAYS": "20"})
        yield app
    app.extensions["complaint_desk"].pool.close()


@pytest.fixture
def client(portal_app):
    return portal_app.test_client()  # its own cookies: each test starts without a language


def page_language(html: str) -> tuple[str, str]:
    found = re.search(r'<html lang="(\w+)" dir="(\w+)">', html)
    return found.group(1), found.group(2)


def main_html(html: str) -> str:
    return html[html.index("<main"):html.index("</main>")]


def main_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main_html(html)))


def test_the_home_page_explains_the_service_with_the_platforms_deadlines(client):
    french = client.get("/?lang=fr").get_data(as_text=True)
    assert page_language(french) == ("fr", "ltr")
    text = main_text(french)
    for words in ("Une réclamation", "Une observation", "Une suggestion", "dans les 45 jours",
                  "dans les 20 jours", "gratuit"):
        assert words in text
    for link in ('href="/complaints/new"', 'href="/track"', 'href="/prosecution/"', 'href="/statistics"',
                 'href="/faq"', 'href="/templates"'):
        assert link in french

    arabic = client.get("/?lang=ar").get_data(as_text=True)
    assert page_language(arabic) == ("ar", "rtl")
    assert "داخل أجل 45 يوما" in main_text(arabic)


def test_the_questions_and_answers_come_from_the_editors_files(client, portal_app):
    counts = {}
    for language, deadline in (("fr", "45 jours"), ("ar", "45 يوما")):
        html = client.get(f"/faq?lang={language}").get_data(as_text=True)
        questions = re.findall(r'<h2 id="(q\d+)">(.*?)</h2>', html)
        counts[language] = len(questions)
        for anchor, _question in questions:
            assert f'href="#{anchor}"' in html  # listed at the top, each a link to its answer
        assert deadline in main_text(html) and "{answer_deadline_days}" not in html
        assert 'href="/prosecution/"' in html and 'href="/statistics"' in html
        # every address on the site that an editor wrote is a page (not a 404, nor a redirect)
        routes = portal_app.url_map.bind("localhost")
        for address in re.findall(r'href="(/[^"#?]*)"', main_html(html)):
            routes.match(address)
    assert counts["fr"] == counts["ar"] >= 8


def test_markup_an_editor_types_is_shown_as_text_and_an_edit_shows_at_once(client, tmp_path, monkeypatch):
    monkeypatch.setattr(portal_content, "CONTENT_DIR", tmp_path)
    faq = tmp_path / "faq.fr.md"
    faq.write_text("## Puis-je <b>écrire</b> du HTML ?\n\n<script>alert(1)</script>\n\n"
                   "[cliquez](javascript:alert(1)) ![image](http://example.org/x.png)\n"
                   "Le délai est de {answer_deadline_days} jours, {unknown} reste tel quel.\n", "utf-8")
    html = client.get("/faq?lang=fr").get_data(as_text=True)
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>écrire</b>" not in html and "&lt;b&gt;écrire&lt;/b&gt;" in html
    assert 'href="javascript' not in html.lower()
    assert "<img" not in html  # nothing is fetched from another site
    assert "Le délai est de 45 jours, {unknown} reste tel quel." in html

    faq.write_text("## Une nouvelle question\n\nSa réponse.\n", "utf-8")
    assert "Une nouvelle question" in client.get("/faq?lang=fr").get_data(as_text=True)


def test_every_letter_model_exists_in_arabic_and_french():
    slugs = portal_content.letter_slugs()
    assert {"privacy", "administrative-delay"} <= set(slugs)
    for slug in slugs:
        for language in LANGUAGES:
            letter = portal_content.letter(slug, language, Settings())
            assert letter.title and letter.summary and letter.body.strip()


def test_the_models_are_listed_and_shown_in_the_page_language(client):
    arabic = client.get("/templates?lang=ar").get_data(as_text=True)
    assert page_language(arabic) == ("ar", "rtl")
    for letter in portal_content.letters("ar", Settings()):
        assert f'href="/templates/{letter.slug}"' in arabic and letter.title in arabic
        assert f'href="/templates/{letter.slug}.docx?lang=ar"' in arabic

    page = client.get("/templates/privacy?lang=fr").get_data(as_text=True)
    assert "<h1>Plainte pour atteinte à la vie privée</h1>" in page
    assert "Monsieur le Procureur du Roi" in page and "447-1" in page
    assert 'href="/templates/privacy.docx?lang=fr"' in page
    assert 'href="/templates/privacy?lang=ar"' in page  # the language switch keeps the page


def paragraphs_with_text(document):
    return [paragraph for paragraph in document.paragraphs if paragraph.text.strip()]


def test_a_model_downloads_as_a_word_document_right_to_left_in_arabic(client):
    client.get("/templates?lang=ar")  # the language is remembered for the download
    answer = client.get("/templates/privacy.docx")
    assert answer.status_code == 200
    assert answer.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="chikaya-privacy-ar.docx"'
    document = Document(io.BytesIO(answer.data))
    paragraphs = paragraphs_with_text(document)
    assert paragraphs[0].text == "شكاية من أجل المس بالحياة الخاصة"
    assert any("وكيل الملك" in paragraph.text for paragraph in paragraphs)
    assert all(paragraph._p.pPr.find(qn("w:bidi")) is not None for paragraph in paragraphs)
    assert all(run.font.rtl for paragraph in paragraphs for run in paragraph.runs if run.text.strip())
    # the attachments' list stays a list, and the bold field names stay bold
    assert [paragraph.style.name for paragraph in paragraphs].count("List Bullet") == 4
    assert paragraphs[1].runs[0].bold and paragraphs[1].runs[0].text == "الاسم الكامل:"
    defaults = document.styles.element.find(qn("w:docDefaults")).find(".//" + qn("w:lang"))
    assert defaults.get(qn("w:bidi")) == "ar-MA"
    assert document.core_properties.language == "ar-MA"


def test_a_model_downloads_left_to_right_in_french(client):
    answer = client.get("/templates/administrative-delay.docx?lang=fr")
    assert answer.headers["Content-Disposition"] == 'attachment; filename="chikaya-administrative-delay-fr.docx"'
    paragraphs = paragraphs_with_text(Document(io.BytesIO(answer.data)))
    assert paragraphs[0].text == "Réclamation pour le retard d’une administration"
    assert any("décret n° 2-17-265" in paragraph.text for paragraph in paragraphs)
    assert all(paragraph._p.pPr is None or paragraph._p.pPr.find(qn("w:bidi")) is None for paragraph in paragraphs)


@pytest.mark.parametrize("path", ["/templates/nope", "/templates/nope.docx", "/templates/PRIVACY",
                                  "/templates/..%2F..%2Fetc%2Fpasswd", "/templates/privacy.fr"])
def test_a_model_that_does_not_exist_is_404(client, path):
    assert client.get(path).status_code == 404


def test_a_model_file_without_its_header_is_named_in_the_error(tmp_path, monkeypatch):
    monkeypatch.setattr(portal_content, "LETTERS_DIR", tmp_path)
    for language in LANGUAGES:
        (tmp_path / f"broken.{language}.md").write_text("Madame, Monsieur,\n", "utf-8")
    with pytest.raises(portal_content.ContentError, match=r"broken\.ar\.md: no line '---'"):
        portal_content.letter("broken", "ar", Settings())
    (tmp_path / "broken.ar.md").write_text("title: Titre\n---\nMadame,\n", "utf-8")
    with pytest.raises(portal_content.ContentError, match="missing summary"):
        portal_content.letter("broken", "ar", Settings())


def test_a_model_missing_in_one_language_is_not_offered(tmp_path, monkeypatch):
    monkeypatch.setattr(portal_content, "LETTERS_DIR", tmp_path)
    (tmp_path / "only-french.fr.md").write_text("title: T\nsummary: S\n---\nCorps\n", "utf-8")
    assert portal_content.letter_slugs() == []


# --- colours: WCAG 2.1 AA asks 4.5:1 for text, 3:1 for the edges of controls and focus rings

def relative_luminance(colour: str) -> float:
    def channel(value: int) -> float:
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4
    red, green, blue = (int(colour[index:index + 2], 16) for index in (1, 3, 5))
    return 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_the_contrast_ratio_formula():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)  # the usual AA grey


# (foreground, background, minimum, where style.css uses them)
COLOUR_PAIRS = [
    ("ink", "paper", 4.5, "body text"),
    ("muted", "paper", 4.5, "hints, times"),
    ("muted", "wash", 4.5, "the footer"),
    ("brand-dark", "paper", 4.5, "links, secondary buttons, statuses"),
    ("brand-dark", "wash", 4.5, "the footer's links"),
    ("white", "brand", 4.5, "the header, buttons"),
    ("white", "brand-dark", 4.5, "a button under the pointer"),
    ("accent", "paper", 4.5, "errors, required marks"),
    ("white", "accent", 4.5, "overdue badges, the reopened tag"),
    ("ink", "focus", 4.5, "a focused link"),
    ("muted", "paper", 3, "the edges of fields"),
    ("brand", "paper", 3, "the edges of secondary buttons"),
    ("focus", "brand", 3, "the focus ring in the header"),
    ("ink", "paper", 3, "the focus ring's outer edge on a page"),
]


def test_the_sites_colours_pass_wcag_aa():
    palette = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})\s*;", STYLE.read_text()))
    palette["white"] = "#ffffff"
    too_low = [f"{foreground} on {background} ({use}): {contrast(palette[foreground], palette[background]):.2f}"
               for foreground, background, minimum, use in COLOUR_PAIRS
               if contrast(palette[foreground], palette[background]) < minimum]
    assert too_low == []
