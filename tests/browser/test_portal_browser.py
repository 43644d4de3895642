"""The citizen's pages in headless Chromium, on the whole platform: a citizen files and follows a
request in Arabic and switches to French; every main page passes axe-core's accessibility
check in both languages, fits a phone's screen and can be used with the keyboard alone."""
import io
import json
import re
from pathlib import Path

from docx import Document
from docx.oxml.ns import qn

from tests.browser.conftest import blocking_violations, translated

ROOT = Path(__file__).resolve().parents[2]
TRACKING_NUMBER = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{5}$")
MAIN_PAGES = ["/", "/faq", "/templates", "/templates/privacy", "/templates/administrative-delay",
              "/complaints/new", "/track", "/statistics", "/prosecution/", "/prosecution/file"]
PHONE_WIDTH = 360
FOCUS_YELLOW = "rgb(255, 191, 71)"  # --focus in style.css


def administration_name(code: str, language: str) -> str:
    directory = json.loads((ROOT / "services/routing/data/administrations.json").read_text("utf-8"))
    return next(entry[f"name_{language}"] for entry in directory if entry["code"] == code)


def region_name(code: str, language: str) -> str:
    regions = json.loads((ROOT / "services/common/data/regions.json").read_text("utf-8"))
    return next(entry[f"name_{language}"] for entry in regions if entry["code"] == code)


def assert_accessible(page):
    assert blocking_violations(page) == [], page.url


def language_of(page) -> tuple[str, str]:
    return tuple(page.evaluate("[document.documentElement.lang, document.documentElement.dir]"))


def test_a_citizen_files_a_request_in_arabic_follows_it_and_switches_to_french(platform, page_in):
    t = translated("ar")
    page = page_in("ar")
    page.goto(platform.base + "/")
    assert language_of(page) == ("ar", "rtl")
    assert_accessible(page)

    page.get_by_role("main").get_by_role("link", name=t("File a request")).click()
    assert page.url.endswith("/complaints/new")
    assert_accessible(page)

    # sent empty: the errors come back listed, announced and focused, each linked to its field
    page.get_by_role("button", name=t("Send my request")).click()
    assert page.title().startswith(t("Error:"))
    summary = page.get_by_role("alert").filter(has_text=t("Please correct the following:"))
    assert summary.is_visible()
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    subject = page.get_by_role("textbox", name=t("Subject"))
    assert subject.get_attribute("aria-invalid") == "true"
    assert "subject-error" in subject.get_attribute("aria-describedby")
    assert page.locator("#subject-error").inner_text().strip()
    summary.get_by_role("link", name=re.compile("^" + re.escape(t("Subject")))).click()
    assert page.evaluate("document.activeElement.id") == "subject"
    assert_accessible(page)

    # filled in as a person would, each field found by its label
    page.get_by_role("radio", name=t("Complaint")).check()
    page.get_by_role("combobox", name=t("Administration concerned")).select_option(
        label=administration_name("CNSS", "ar"))
    subject.fill("تأخر صرف المعاش")
    page.get_by_role("textbox", name=t("Description")).fill(
        "لم يصرف معاش التقاعد منذ ثلاثة أشهر رغم تذكيري للإدارة عدة مرات.")
    page.get_by_role("combobox", name=t("Region")).select_option(label=region_name("CS", "ar"))
    page.get_by_role("textbox", name=t("Full name")).fill("فاطمة الزهراء العمراني")
    page.get_by_role("radio", name=t("Citizen living in Morocco")).check()
    page.get_by_role("combobox", name=t("Identity document")).select_option(
        label=t("National electronic identity card (CNIE)"))
    page.get_by_role("textbox", name=t("Identity document number")).fill("BK123456")
    page.get_by_role("textbox", name=t("Mobile phone")).fill("0612345678")
    page.get_by_role("button", name=t("Send my request")).click()

    # the receipt: the tracking number, once the complaint is committed
    assert page.get_by_role("heading", name=t("Your request has been received")).is_visible()
    tracking_number = page.locator(".tracking-number").inner_text().strip()
    assert TRACKING_NUMBER.match(tracking_number)
    assert_accessible(page)

    # following it: the number is already typed in, the contact proves who asks
    page.get_by_role("link", name=t("Follow this request")).click()
    assert page.get_by_role("textbox", name=t("Tracking number")).input_value() == tracking_number
    page.get_by_role("textbox", name=t("E-mail address or mobile phone")).fill("0612345678")
    page.get_by_role("button", name=t("Show the status")).click()
    assert page.url.endswith(f"/track/{tracking_number}")
    assert page.get_by_role("heading", level=1).inner_text() == t("Request %(number)s") % {"number": tracking_number}
    assert_accessible(page)

    # the same page in French
    page.get_by_role("link", name="Français").click()
    assert language_of(page) == ("fr", "ltr")
    assert page.url.split("?")[0].endswith(f"/track/{tracking_number}")
    french = translated("fr")
    assert page.get_by_role("heading", level=1).inner_text() == french("Request %(number)s") % {"number": tracking_number}
    assert page.locator(".status").inner_text() in {
        french(label) for label in ("Filed, waiting to be routed", "Sent to the administration concerned",
                                    "Received by the administration")}
    assert_accessible(page)


def test_every_main_page_passes_axe_and_fits_a_phone_in_both_languages(platform, page_in):
    for language, direction, other in (("ar", "rtl", "fr"), ("fr", "ltr", "ar")):
        page = page_in(language, width=PHONE_WIDTH)
        for path in MAIN_PAGES:
            page.goto(f"{platform.base}{path}?lang={language}")
            assert language_of(page) == (language, direction), path
            assert blocking_violations(page) == [], f"{path} in {language}"
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} in {language} is {overflow}px wider than a phone's screen"
            # the language switch leads to this same page
            switch = page.locator(".language-switch [lang]")  # a link, or a button that re-sends a form
            assert (switch.get_attribute("href") or switch.get_attribute("formaction")) == f"{path}?lang={other}", path


def test_the_pages_work_with_the_keyboard_alone(platform, page_in):
    page = page_in("fr")
    page.goto(platform.base + "/?lang=fr")
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    assert skip.get_attribute("class") == "skip-link"
    box = skip.bounding_box()
    assert box and box["x"] >= 0 and box["y"] >= 0 and box["width"] > 0  # shown once focused
    page.keyboard.press("Enter")
    # the jump to the anchor may land after press() returns (CI once read the URL before it)
    page.wait_for_url(lambda url: url.endswith("#main"), timeout=5000)

    page.goto(platform.base + "/complaints/new?lang=fr")
    stops = page.evaluate("""() => {
        const all = [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea')]
            .filter(element => element.tabIndex >= 0 && element.getClientRects().length > 0);
        const names = new Set();
        for (const element of all) {
            if (element.type === 'radio') names.add('radio:' + element.name);
            else names.add(element.tagName + ':' + (element.id || element.getAttribute('href') || element.textContent.trim()));
        }
        return [...names];
    }""")
    reached, no_indicator = [], []
    for _press in range(len(stops) + 3):
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => {
            const element = document.activeElement;
            if (element === document.body) return null;
            const style = getComputedStyle(element);
            const key = element.type === 'radio' ? 'radio:' + element.name
                : element.tagName + ':' + (element.id || element.getAttribute('href') || element.textContent.trim());
            return {key, shadow: style.boxShadow, background: style.backgroundColor};
        }""")
        if focused is None or (reached and focused["key"] == reached[0]):
            break  # past the last stop: focus leaves the page or starts over, so nothing traps it
        reached.append(focused["key"])
        if focused["shadow"] == "none" and focused["background"] != FOCUS_YELLOW:
            no_indicator.append(focused["key"])
    assert set(reached) == set(stops)
    assert no_indicator == []

    # Enter in a field sends the form (the language switch, an earlier submit button of the
    # same form, must not be what it presses)
    french = translated("fr")
    subject = page.get_by_role("textbox", name=french("Subject"))
    subject.fill("Retard")
    subject.press("Enter")
    assert page.title().startswith(french("Error:"))
    assert language_of(page) == ("fr", "ltr")
    assert subject.input_value() == "Retard"


def test_the_accessibility_check_finds_what_it_must(page_in):
    """axe-core runs in the page and reports serious problems, so an empty list means something."""
    page = page_in("fr")
    page.set_content('<html lang="fr"><body><main><h1>Formulaire</h1>'
                     '<p style="color:#bbb;background:#fff">Texte pâle</p>'
                     '<form><input type="text" name="nom"></form></main></body></html>')
    found = {line.split(" ")[0] for line in blocking_violations(page)}
    assert {"color-contrast", "label"} <= found


def test_a_template_downloads_in_the_page_language(platform, page_in):
    t = translated("ar")
    page = page_in("ar")
    page.goto(platform.base + "/templates")
    assert language_of(page) == ("ar", "rtl")
    title = next(line.removeprefix("title:").strip() for line in
                 (ROOT / "gateway/content/letters/privacy.ar.md").read_text("utf-8").splitlines()
                 if line.startswith("title:"))
    page.get_by_role("link", name=title, exact=True).click()
    with page.expect_download() as download:
        page.get_by_role("link", name=t("Download it (Word document)")).click()
    assert download.value.suggested_filename == "chikaya-privacy-ar.docx"
    document = Document(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert document.paragraphs[0].text == title
    assert all(paragraph._p.pPr.find(qn("w:bidi")) is not None for paragraph in document.paragraphs)
