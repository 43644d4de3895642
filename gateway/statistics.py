"""The public statistics: the page (/statistics, Arabic and French, charts drawn on the server)
and the same figures as open data (/statistics.json, /statistics.csv).

Every figure comes from stats' `totals` (services/stats/reports.py), which reads running
counters, so the page costs the same with a thousand complaints or millions.  A rate is never
shown without what it is a rate of: a satisfaction rate comes with its number of ratings out of
the requests answered.
"""
import csv
import functools
import io
from datetime import date, datetime

from babel.numbers import get_decimal_symbol, get_group_symbol
from flask import Blueprint, Response, current_app, jsonify, render_template
from flask_babel import format_date, format_datetime, get_locale, gettext as _
from flask_babel import lazy_gettext as _l

from gateway import charts, labels, prosecution_labels
from gateway.complaints import desk
from gateway.errors import UNAVAILABLE
from gateway.i18n import current_language
from gateway.prosecution import prosecution_desk
from gateway.rpc import CachedCall
from services.common.events import TRIAGE, UNKNOWN_ADMINISTRATION
from services.common.regions import regions

blueprint = Blueprint("statistics", __name__)

RANKED = 15  # administrations a chart shows; the tables list them all
TREND_MONTHS = 12  # months the trend chart shows; its table lists them all
CSV_COLUMNS = ("scope", "breakdown", "key", "figure", "value")
PROSECUTION_BREAKDOWNS = ("month", "category", "office")

# The steps of a prosecution complaint the statistics count, as column headings.
PROSECUTION_STEPS = {
    "registered": _l("Registered"),
    "referred_to_police": _l("Referred to the judicial police"),
    "information_requested": _l("Information requested"),
    "filed_without_action": _l("Filed without action"),
    "prosecution_launched": _l("Prosecution launched"),
    "referred_to_investigating_judge": _l("Referred to the investigating judge"),
    "forwarded": _l("Forwarded to another office"),
}


def figures() -> dict:
    """stats' document, asked at most once per STATISTICS_CACHE_SECONDS by this process (and the
    last one served a while longer if stats does not answer): the page, the files and the
    crowd that reads them cost the services nothing more.  GET /api/v1/stats stays live."""
    if "statistics" not in current_app.extensions:
        current_app.extensions["statistics"] = CachedCall(
            desk().pool, "stats", "totals", current_app.config.get("STATISTICS_CACHE_SECONDS", 60))
    return current_app.extensions["statistics"].get()


@blueprint.get("/statistics")
def page():
    return render_template("statistics.html", **page_context(figures()))


@blueprint.get("/statistics.json")
def as_json():
    """The same document as GET /api/v1/stats (up to STATISTICS_CACHE_SECONDS older), as a file."""
    response = jsonify(figures())
    response.headers["Content-Disposition"] = 'attachment; filename="chikaya-statistics.json"'
    return response


@blueprint.get("/statistics.csv")
def as_csv():
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_rows(figures()))
    return Response(buffer.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="chikaya-statistics.csv"'})


def csv_rows(document: dict):
    """One row per figure: (scope, breakdown, key, figure, value).  `figure` is the figure's
    path in the JSON document with dots (`ratings.satisfaction_rate`); an empty value is null
    there (no answer yet, so no average)."""
    yield from _flat("complaints", "all", "", document["overall"])
    yield "complaints", "all", "", "participating_administrations", document["participating_administrations"]
    for breakdown, groups in document["breakdowns"].items():
        for key, figures in groups.items():
            yield from _flat("complaints", breakdown, key, figures)
    prosecution = document["prosecution"]
    yield from _flat("prosecution", "all", "", {"filed": prosecution["filed"], "steps": prosecution["steps"]})
    for breakdown in PROSECUTION_BREAKDOWNS:
        for key, counts in prosecution[f"by_{breakdown}"].items():
            yield from _flat("prosecution", breakdown, key, counts)


def _flat(scope: str, breakdown: str, key: str, figures: dict, prefix: str = ""):
    for name, value in figures.items():
        if isinstance(value, dict):
            yield from _flat(scope, breakdown, key, value, f"{prefix}{name}.")
        else:
            yield scope, breakdown, key, prefix + name, "" if value is None else value


# --- the page

@functools.lru_cache
def _signs(locale) -> dict:
    return {ord(","): get_group_symbol(locale), ord("."): get_decimal_symbol(locale)}


def _decimal(value, decimals: int) -> str:
    """`value` with the page's group and decimal signs and at most `decimals` decimals (what babel's
    pattern #,##0.# gives, without its cost for each of the thousands of figures on the page)."""
    text = f"{value:,.{decimals}f}"
    if decimals:
        text = text.rstrip("0").rstrip(".")
    return text.translate(_signs(get_locale()))


def number(value) -> str:
    return _decimal(value, 0)


def days(value) -> str:
    return "—" if value is None else _decimal(value, 1)


def rate(value) -> str:
    """A fraction (0.667) as a percentage."""
    return "—" if value is None else _decimal(100 * value, 1) + "%"


def percentage(value) -> str:
    """A percentage already (66.7)."""
    return "—" if value is None else _decimal(value, 1) + "%"


def month_name(key: str, pattern: str = "MMMM y") -> str:
    year, month = (int(part) for part in key.split("-"))
    return format_date(date(year, month, 1), pattern)


def ratings_out_of(figures: dict) -> str:
    """The honest half of a satisfaction rate: how many rated, out of how many answered."""
    return _("%(ratings)s ratings out of %(answered)s requests answered",
             ratings=number(figures["ratings"]["count"]), answered=number(figures["answered"]))


def satisfaction(figures: dict) -> str:
    ratings = figures["ratings"]
    if not ratings["count"]:
        return _("No rating yet (%(answered)s requests answered)", answered=number(figures["answered"]))
    return _("%(rate)s satisfied: %(ratings)s ratings out of %(answered)s requests answered",
             rate=rate(ratings["satisfaction_rate"]), ratings=number(ratings["count"]),
             answered=number(figures["answered"]))


class Names:
    """What the codes in the figures are called in the page's language; a code whose directory
    cannot be reached right now is shown as it is."""

    def __init__(self, language: str):
        field = f"name_{language}"
        self.administrations = {TRIAGE: _("Dispatch team (administration to be determined)"),
                                UNKNOWN_ADMINISTRATION: _("Administration not known yet")}
        try:
            self.administrations.update({entry["code"]: entry[field] for entry in desk().administrations()})
        except UNAVAILABLE:
            pass
        self.regions = {region["code"]: region[field] for region in regions()}
        try:
            self.offices = {office["code"]: office[f"office_{language}"] for office in prosecution_desk().offices()}
        except UNAVAILABLE:
            self.offices = {}

    def of(self, breakdown: str, key: str) -> str:
        if breakdown == "administration":
            return self.administrations.get(key, key)
        if breakdown == "region":
            return self.regions.get(key, key)
        if breakdown == "type":
            return str(labels.REQUEST_TYPES.get(key, key))
        if breakdown == "month":
            return month_name(key)
        if breakdown == "category":
            return str(prosecution_labels.CATEGORIES.get(key, key))
        if breakdown == "office":
            return self.offices.get(key, key)
        return key


def page_context(document: dict) -> dict:
    rtl = get_locale().character_order == "right-to-left"
    names = Names(current_language())
    breakdowns = document["breakdowns"]

    def named(breakdown):
        return [(key, names.of(breakdown, key), figures) for key, figures in breakdowns[breakdown].items()]

    administrations = sorted(
        ((code, name, figures) for code, name, figures in named("administration")),
        key=lambda row: (-row[2]["submitted"], row[1]))
    months = sorted(named("month"))
    prosecution = document["prosecution"]
    return {
        "document": document,
        "overall": document["overall"],
        "generated_at": format_datetime(datetime.fromisoformat(document["generated_at"]), "medium"),
        "administrations": administrations,
        "months": months,
        "types": sorted(named("type"), key=lambda row: -row[2]["submitted"]),
        "regions": sorted(named("region"), key=lambda row: -row[2]["submitted"]),
        "statuses": [(labels.CASE_STATUSES.get(status, status), count)
                     for status, count in document["overall"]["by_status"].items()],
        "closed_by_reason": [(labels.CLOSE_REASONS.get(reason, reason), count)
                             for reason, count in document["overall"]["closed_by_reason"].items()],
        "trend_chart": _trend_chart(months, rtl),
        "processed_chart": _processed_chart(document["overall"], administrations, rtl),
        "speed_ranking": _speed_ranking(administrations, rtl),
        "satisfaction_ranking": _satisfaction_ranking(administrations, rtl),
        "prosecution": prosecution,
        "prosecution_tables": [(breakdown, [(names.of(breakdown, key), counts)
                                            for key, counts in prosecution[f"by_{breakdown}"].items()])
                               for breakdown in PROSECUTION_BREAKDOWNS],
        "prosecution_steps": PROSECUTION_STEPS,
        "prosecution_chart": _prosecution_chart(prosecution, rtl),
        "number": number, "days": days, "rate": rate, "percentage": percentage,
        "ratings_out_of": ratings_out_of, "satisfaction": satisfaction, "month_name": month_name,
        "ranked": RANKED,
        "colours": {"submitted": charts.SUBMITTED, "processed": charts.PROCESSED, "pending": charts.PENDING},
    }


def _trend_chart(months: list, rtl: bool):
    shown = months[-TREND_MONTHS:]
    if not shown:
        return None
    busiest = max(shown, key=lambda row: row[2]["submitted"])
    description = _("Requests submitted each month, and how many of them have been answered or closed, from "
                    "%(first)s to %(last)s. The most were submitted in %(busiest)s: %(count)s.",
                    first=shown[0][1], last=shown[-1][1], busiest=busiest[1], count=number(busiest[2]["submitted"]))
    groups = [(month_name(key, "MMM"), key[:4], (figures["submitted"], figures["processed"]["complaints"]))
              for key, _name, figures in shown]
    return charts.columns("chart-trend", _("Requests by month of submission"), description, groups,
                          (charts.SUBMITTED, charts.PROCESSED), number, rtl)


def _processed_chart(overall: dict, administrations: list, rtl: bool):
    if not overall["submitted"]:
        return None

    def row(name, figures):
        return (name, (figures["processed"]["complaints"], figures["in_progress"]),
                _("%(processed)s processed (%(percentage)s), %(pending)s in progress",
                  processed=number(figures["processed"]["complaints"]),
                  percentage=percentage(figures["processed"]["percentage"]), pending=number(figures["in_progress"])))

    rows = [row(_("All administrations"), overall)] + [row(name, figures)
                                                       for _code, name, figures in administrations[:RANKED]]
    description = _("Of %(submitted)s requests, %(processed)s have been answered or closed (%(percentage)s) "
                    "and %(pending)s are in progress; then the same for the administrations that received the most.",
                    submitted=number(overall["submitted"]), processed=number(overall["processed"]["complaints"]),
                    percentage=percentage(overall["processed"]["percentage"]), pending=number(overall["in_progress"]))
    return charts.shares("chart-processed", _("Processed and in progress"), description, rows,
                         (charts.PROCESSED, charts.PENDING), rtl)


def _speed_ranking(administrations: list, rtl: bool) -> dict | None:
    """Administrations by average days to the first answer, fastest first."""
    ranked = sorted(((name, figures) for _code, name, figures in administrations
                     if figures["days_to_answer"]["average"] is not None),
                    key=lambda row: (row[1]["days_to_answer"]["average"], row[0]))
    if not ranked:
        return None
    shown = ranked[:RANKED]
    rows = [(name, figures["days_to_answer"]["average"], days(figures["days_to_answer"]["average"]),
             _("%(days)s days on average, median %(median)s; %(answered)s requests answered",
               days=days(figures["days_to_answer"]["average"]), median=days(figures["days_to_answer"]["median"]),
               answered=number(figures["answered"])))
            for name, figures in shown]
    description = _("Average days from receipt to the first answer. Fastest: %(first)s, %(first_days)s "
                    "days; slowest shown: %(last)s, %(last_days)s days.",
                    first=shown[0][0], first_days=days(shown[0][1]["days_to_answer"]["average"]),
                    last=shown[-1][0], last_days=days(shown[-1][1]["days_to_answer"]["average"]))
    top = charts.nice_ceiling(max(value for _name, value, _shown, _detail in rows))
    return {"rows": ranked, "chart": charts.ranking("chart-speed", _("Administrations by time to answer"),
                                                    description, rows, top, rtl)}


def _satisfaction_ranking(administrations: list, rtl: bool) -> dict | None:
    """Administrations by share of satisfied ratings, then by how many rated: a rate from two
    ratings ranks below the same rate from two hundred."""
    ranked = sorted(((name, figures) for _code, name, figures in administrations if figures["ratings"]["count"]),
                    key=lambda row: (-row[1]["ratings"]["satisfaction_rate"], -row[1]["ratings"]["count"], row[0]))
    if not ranked:
        return None
    shown = ranked[:RANKED]
    rows = [(name, figures["ratings"]["satisfaction_rate"], rate(figures["ratings"]["satisfaction_rate"]),
             ratings_out_of(figures)) for name, figures in shown]
    description = _("Share of ratings of 4 or 5 out of 5, with the number of ratings and of requests answered. "
                    "First: %(first)s, %(first_figures)s.", first=shown[0][0], first_figures=satisfaction(shown[0][1]))
    return {"rows": ranked, "chart": charts.ranking("chart-satisfaction", _("Administrations by satisfaction"),
                                                    description, rows, 1, rtl)}


def _prosecution_chart(prosecution: dict, rtl: bool):
    shown = sorted(prosecution["by_month"].items())[-TREND_MONTHS:]
    if not shown:
        return None
    description = _("Complaints filed with the public prosecution each month, from %(first)s to %(last)s.",
                    first=month_name(shown[0][0]), last=month_name(shown[-1][0]))
    groups = [(month_name(key, "MMM"), key[:4], (counts["filed"],)) for key, counts in shown]
    return charts.columns("chart-prosecution", _("Complaints to the public prosecution by month"), description,
                          groups, (charts.PROCESSED,), number, rtl)
