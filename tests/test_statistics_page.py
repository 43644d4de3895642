"""The public statistics page in Arabic and French and its open data (CSV, JSON), against the real
stats, routing and prosecution services fed the known sequence of tests/stats_support.py; then
the charts alone."""
import csv
import io
import re
from html.parser import HTMLParser

import pytest

from gateway import charts
from gateway.app import create_app
from tests.prosecution_support import prosecution  # noqa: F401  (the fixture)
from tests.stats_support import feed, known_sequence

CHARTS = ["chart-trend", "chart-processed", "chart-speed", "chart-satisfaction", "chart-prosecution"]


class PageText(HTMLParser):
    """The text of each table (by caption: rows of cells) and of each key figure (dt: dd)."""

    def __init__(self, html: str):
        super().__init__()
        self.tables, self.key_figures = {}, {}
        self._caption = self._row = self._text = self._term = None
        self._in = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag in ("caption", "th", "td", "dt", "dd"):
            self._text = []
        if tag == "tr":
            self._row = []
        self._in.append(tag)

    def handle_endtag(self, tag):
        text = " ".join("".join(self._text or []).split())
        if tag == "caption":
            self._caption = text
            self.tables[text] = []
        elif tag in ("th", "td") and self._row is not None:
            self._row.append(text)
        elif tag == "tr":
            self.tables[self._caption].append(self._row)
            self._row = None
        elif tag == "dt":
            self._term = text
        elif tag == "dd":
            self.key_figures.setdefault(self._term, text)  # the first: the method's terms come later
        if tag in ("caption", "th", "td", "dt", "dd"):
            self._text = None
        self._in.pop()

    def handle_data(self, data):
        if self._text is not None and "svg" not in self._in:
            self._text.append(data)

    def rows(self, caption: str) -> dict:
        """The table's body rows by their first cell."""
        return {row[0]: row[1:] for row in self.tables[caption][1:]}


@pytest.fixture
def fed_client(request, stats, prosecution, rabbit_config, var_dir):  # noqa: F811  (imported above)
    """The gateway once stats has counted the known sequence.  Routing (the administrations'
    names) starts afterwards, and intake not at all, so that they never act on these made-up events."""
    feed(stats, rabbit_config, known_sequence())
    request.getfixturevalue("routing")
    app = create_app({"AMQP_URI": rabbit_config["AMQP_URI"], "TESTING": True, "SECRET_KEY": "test-only-secret"})
    yield app.test_client()
    app.extensions["complaint_desk"].pool.close()


def drawn(html: str, direction: str) -> list[str]:
    """The charts of the page, each named by its title and description."""
    found = re.findall(r'<svg class="chart" id="([\w-]+)" role="img" aria-labelledby="\1-title \1-desc" '
                       rf'[^>]*direction="{direction}"[^>]*><title id="\1-title">[^<]+</title>'
                       r'<desc id="\1-desc">[^<]+</desc>', html)
    return found


def assert_nothing_from_elsewhere(html: str):
    assert not re.search(r'(src|href|action)="(https?:)?//', html)
    # the charts need no script: the only one is the portal's own file, on every page
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/portal.js" defer>'] and "<img" not in html


def test_the_page_in_arabic_right_to_left_with_every_chart_and_its_table(fed_client):
    response = fed_client.get("/statistics?lang=ar")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    assert drawn(html, "rtl") == CHARTS
    assert_nothing_from_elsewhere(html)
    page = PageText(html)
    assert page.key_figures["الطلبات المودعة"] == "7"
    assert page.key_figures["قيد المعالجة"] == "2"
    assert page.key_figures["المعالجة (أجيب عنها أو أغلقت)"] == "5 71,4%"
    assert page.key_figures["الأيام حتى أول جواب"] == "24 في المتوسط؛ الوسيط 20,5"
    # the satisfaction rate never comes alone: 3 ratings of 4 requests answered
    assert page.key_figures["الرضا"] == ("66,7% عدد التقييمات: 3 من أصل 4 من الطلبات المجاب عنها "
                                         "نسبة التقييم 75%")
    assert page.key_figures["أعاد المواطن فتحها"] == "1"
    assert page.key_figures["تجاوز الأجل القانوني قبل الجواب"] == "1 منها 1 لا تزال في الانتظار"
    assert page.key_figures["المحالة على إدارة أخرى"] == "1"
    assert page.key_figures["الإدارات المشاركة"] == "2"
    assert page.key_figures["الشكايات المودعة"] == "3"

    cnss, onee = "الصندوق الوطني للضمان الاجتماعي", "المكتب الوطني للكهرباء والماء الصالح للشرب"
    assert page.rows("حسب الإدارة") == {
        cnss: ["4", "1", "3 (75%)", "27,5", "27,5", "1", "1", "0",
               "نسبة الرضا 50%، عدد التقييمات: 2 من أصل 2 من الطلبات المجاب عنها", "100%"],
        onee: ["2", "0", "2 (100%)", "20,5", "20,5", "0", "0", "1",
               "نسبة الرضا 100%، عدد التقييمات: 1 من أصل 2 من الطلبات المجاب عنها", "50%"],
        "فريق التوجيه (الإدارة لم تحدد بعد)": ["1", "1", "0 (0%)", "—", "—", "0", "0", "0",
                                                  "لا يوجد أي تقييم بعد (الطلبات المجاب عنها: 0)", "—"],
    }
    assert list(page.rows("الطلبات حسب شهر الإيداع")) == ["نونبر 2026", "أكتوبر 2026"]  # newest first
    assert page.rows("الطلبات حسب شهر الإيداع")["أكتوبر 2026"][:5] == ["2", "0", "2 (100%)", "33", "33"]
    # fastest first; by satisfaction, then by how many rated
    assert list(page.rows("الإدارات حسب مدة الجواب")) == [onee, cnss]
    assert page.rows("الإدارات حسب نسبة الرضا") == {onee: ["100%", "1", "2", "50%", "5"],
                                                    cnss: ["50%", "2", "2", "100%", "3"]}
    assert page.rows("الطلبات المغلقة حسب السبب") == {
        "أكد المواطن الجواب": ["1"], "مكرر لطلب آخر": ["1"], "أُغلق تلقائيًا: لم يتفاعل المواطن بعد الجواب": ["1"]}
    offices = page.rows("الشكايات إلى النيابة العامة حسب النيابة")
    assert offices["النيابة العامة لدى المحكمة الابتدائية بسلا"] == ["0", "1", "0", "0", "1", "0", "0", "0"]
    assert offices["النيابة العامة لدى المحكمة الابتدائية بالرباط"] == ["2", "0", "0", "0", "0", "0", "0", "1"]


def test_the_page_in_french_left_to_right(fed_client):
    html = fed_client.get("/statistics?lang=fr").get_data(as_text=True)
    assert '<html lang="fr" dir="ltr">' in html
    assert drawn(html, "ltr") == CHARTS
    page = PageText(html)
    assert page.key_figures["Satisfaction"] == ("66,7% 3 évaluation(s) sur 4 demande(s) ayant reçu une réponse "
                                                "taux d’évaluation 75%")
    assert page.key_figures["Administrations participantes"] == "2"
    assert page.rows("Par administration")["Caisse nationale de sécurité sociale"][:3] == ["4", "1", "3 (75%)"]
    assert page.rows("Par type de demande")["Suggestion"][:3] == ["1", "1", "0 (0%)"]
    assert page.rows("Par région")["Rabat-Salé-Kénitra"][:5] == ["2", "1", "1 (50%)", "21", "21"]
    assert list(page.rows("Demandes par mois de dépôt")) == ["novembre 2026", "octobre 2026"]
    categories = page.rows("Plaintes au ministère public par nature d’infraction")
    assert {name: row[0] for name, row in categories.items()} == {"Corruption (pot-de-vin)": "1", "Vol": "2"}
    assert page.rows("Plaintes au ministère public par mois")["octobre 2026"] == ["1", "1", "0", "0", "0", "0", "0",
                                                                                    "0"]
    assert 'href="/statistics?lang=ar"' in html  # the language switch keeps the page


def test_the_open_data_say_what_the_api_says(fed_client):
    client = fed_client
    document = client.get("/statistics.json")
    assert document.status_code == 200 and document.mimetype == "application/json"
    assert document.headers["Content-Disposition"] == 'attachment; filename="chikaya-statistics.json"'
    api = client.get("/api/v1/stats").json
    assert {**document.json, "generated_at": None} == {**api, "generated_at": None}

    response = client.get("/statistics.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="chikaya-statistics.csv"'
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert table[0] == ["scope", "breakdown", "key", "figure", "value"]
    figures = table[1:]
    for scope, breakdown, key, figure, value in figures:
        expected = lookup(document.json, scope, breakdown, key, figure)
        assert value == ("" if expected is None else str(expected)), (scope, breakdown, key, figure)
    assert len(figures) == len(set(tuple(row[:4]) for row in figures)) == leaves(document.json)
    for row in (["complaints", "all", "", "ratings.count", "3"], ["complaints", "all", "", "answered", "4"],
                ["complaints", "all", "", "participating_administrations", "2"],
                ["complaints", "administration", "CNSS", "ratings.satisfaction_rate", "0.5"],
                ["complaints", "month", "2026-10", "days_to_answer.median", "33.0"],
                ["complaints", "type", "suggestion", "days_to_answer.average", ""],
                ["complaints", "all", "", "closed_by_reason.duplicate", "1"],
                ["prosecution", "office", "TPI_RABAT", "steps.forwarded", "1"],
                ["prosecution", "all", "", "filed", "3"]):
        assert row in figures


def lookup(document: dict, scope: str, breakdown: str, key: str, figure: str):
    if scope == "complaints":
        group = ({**document["overall"], "participating_administrations": document["participating_administrations"]}
                 if breakdown == "all" else document["breakdowns"][breakdown][key])
    else:
        prosecution = document["prosecution"]
        group = prosecution if breakdown == "all" else prosecution[f"by_{breakdown}"][key]
    for part in figure.split("."):
        group = group[part]
    return group


def leaves(document: dict) -> int:
    def count(value):
        return sum(count(inner) for inner in value.values()) if isinstance(value, dict) else 1
    prosecution = document["prosecution"]
    return (count(document["overall"]) + 1 + count(document["breakdowns"])
            + count({"filed": prosecution["filed"], "steps": prosecution["steps"]})
            + sum(count(prosecution[f"by_{breakdown}"]) for breakdown in ("month", "category", "office")))


def test_the_page_before_any_request(client, stats):
    html = client.get("/statistics?lang=fr").get_data(as_text=True)
    assert "Aucune demande n’a encore été déposée." in html
    assert drawn(html, "ltr") == []
    assert PageText(html).key_figures["Demandes déposées"] == "0"
    assert client.get("/statistics.csv").status_code == 200


# -- the charts alone -----------------------------------------------------------------------------

def bars(svg: str) -> list[tuple[float, float]]:
    return [(float(x), float(width)) for x, width in re.findall(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg)]


def test_a_right_to_left_chart_is_the_mirror_of_the_left_to_right_one():
    rows = [("Première", 4, "4", "4 jours"), ("Seconde", 1, "1", "1 jour")]
    left = charts.ranking("c", "titre", "description", rows, 4, rtl=False)
    right = charts.ranking("c", "titre", "description", rows, 4, rtl=True)
    assert [x for x, _width in bars(left)] == [0, 0]
    assert [x + width for x, width in bars(right)] == [charts.WIDTH, charts.WIDTH]
    assert [width for _x, width in bars(left)] == [width for _x, width in bars(right)]
    assert bars(left)[0][1] == 4 * bars(left)[1][1]  # lengths in proportion
    assert 'direction="rtl"' in right and 'direction="ltr"' in left
    months = charts.columns("m", "t", "d", [("janv.", "2026", (3,)), ("févr.", "2026", (1,))], (charts.PROCESSED,),
                            str, rtl=True)
    first, second = bars(months)
    assert first[0] > second[0]  # right to left, January is on the right


def test_what_a_chart_says_is_escaped():
    svg = charts.ranking("c", "<b>titre</b>", "a & b", [("<script>", 1, "1", "1 & 2")], 1, rtl=False)
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;titre" in svg and "1 &amp; 2" in svg
