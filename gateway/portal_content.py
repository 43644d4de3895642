"""What an editor changes without touching code: the questions and answers and the complaint
letter models, Markdown files under gateway/content/ (see README, "The citizen portal").

- `faq.<lang>.md`: each `## ` heading is a question, what follows it is its answer.
- `letters/<slug>.<lang>.md`: a `title:` line and a `summary:` line, a line `---`, then the
  letter in Markdown.  A letter exists when both its Arabic and French files do.

Both are rendered with markdown-it's CommonMark and raw HTML turned off: whatever an editor
types is shown as text, never run as markup, and no image is fetched.  `{answer_deadline_days}`,
`{reopen_window_days}`, `{max_reopenings}` and `{auto_close_days}` are replaced by the
platform's settings, so the text stays true when those change.  Files are read at each request:
an edit shows at once, without a restart.
"""
import os
import re
from dataclasses import dataclass, fields
from pathlib import Path

from flask import current_app
from markdown_it import MarkdownIt
from markupsafe import Markup

from gateway.i18n import LANGUAGES
from services.intake.domain import Settings

CONTENT_DIR = Path(__file__).with_name("content")
LETTERS_DIR = CONTENT_DIR / "letters"
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
PLACEHOLDER = re.compile(r"\{(" + "|".join(field.name for field in fields(Settings)) + r")\}")
FRONT_MATTER_END = re.compile(r"^---[ \t]*$", re.M)

# CommonMark without raw HTML (it is escaped) and without images (nothing loaded from elsewhere)
markdown = MarkdownIt("commonmark", {"html": False}).disable("image")


class ContentError(ValueError):
    """A content file an editor broke; the message says which file and what is wrong."""


def lifecycle_settings() -> Settings:
    """The deadlines the platform applies (intake reads the same names from its environment)."""
    return Settings.read(lambda name: current_app.config.get(name, os.environ.get(name)))


def with_settings(text: str, settings: Settings) -> str:
    return PLACEHOLDER.sub(lambda found: str(getattr(settings, found.group(1))), text)


@dataclass(frozen=True)
class Faq:
    html: Markup
    questions: list[tuple[str, str]]  # (anchor, question) in order


def faq(language: str, settings: Settings) -> Faq:
    source = with_settings((CONTENT_DIR / f"faq.{language}.md").read_text("utf-8"), settings)
    tokens = markdown.parse(source)
    questions = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h2":
            anchor = f"q{len(questions) + 1}"
            token.attrSet("id", anchor)
            questions.append((anchor, plain_text(tokens[index + 1])))
    return Faq(Markup(markdown.renderer.render(tokens, markdown.options, {})), questions)


def plain_text(inline) -> str:
    """An inline token's words without their Markdown marks."""
    return "".join(child.content for child in inline.children or () if child.type in ("text", "code_inline"))


@dataclass(frozen=True)
class Letter:
    slug: str
    language: str
    title: str
    summary: str
    body: str  # Markdown, settings already filled in

    def html(self) -> Markup:
        return Markup(markdown.render(self.body))

    def tokens(self):
        return markdown.parse(self.body)


def letter(slug: str, language: str, settings: Settings) -> Letter | None:
    """The letter model in that language, or None if there is no such model."""
    if not SLUG.fullmatch(slug) or slug not in letter_slugs():
        return None
    path = LETTERS_DIR / f"{slug}.{language}.md"
    parts = FRONT_MATTER_END.split(path.read_text("utf-8"), maxsplit=1)
    if len(parts) != 2:
        raise ContentError(f"{path}: no line '---' after the title and summary")
    header, body = parts
    meta = {key.strip(): value.strip()
            for key, _colon, value in (line.partition(":") for line in header.splitlines()) if _colon}
    missing = [key for key in ("title", "summary") if not meta.get(key)]
    if missing:
        raise ContentError(f"{path}: missing {', '.join(missing)}")
    return Letter(slug, language, meta["title"], meta["summary"], with_settings(body, settings))


def letter_slugs() -> list[str]:
    """The models that exist in every language, in file-name order."""
    by_language = [{path.name.removesuffix(f".{language}.md")
                    for path in LETTERS_DIR.glob(f"*.{language}.md")} for language in LANGUAGES]
    return sorted(slug for slug in set.intersection(*by_language) if SLUG.fullmatch(slug))


def letters(language: str, settings: Settings) -> list[Letter]:
    return [letter(slug, language, settings) for slug in letter_slugs()]
