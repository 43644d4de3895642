"""The captcha in front of the prosecution channel: six characters (upper- and lower-case
letters and digits) shown as an image and read as audio, for people who cannot see it.

- A challenge lives in the gateway's database (so every gunicorn worker knows it) for
  CAPTCHA_SECONDS (300).  Any answer uses it up: a wrong one, and the complainant gets a new
  code; a right one makes it a pass for one filing within CAPTCHA_PASS_SECONDS (3600), which
  the filing spends.  The checks are single UPDATE statements, so two requests racing with the
  same code cannot both win.
- Each client address may get CAPTCHA_RATE_LIMIT new codes, audio readings and wrong answers
  together (default 30 per 10 minutes, counted where RATELIMIT_STORAGE_URI says).
- The alphabet leaves out what reads alike once distorted (0/O/o, 1/I/l, B/8, b/6, g/q/9, and
  letters whose two cases look the same, such as C/c or S/s), so the answer is exactly what is
  shown, case included.
- The image comes from the `captcha` package.  The audio mixes shipped recordings of each
  character (gateway/data/captcha_voices/<ar|fr>, made once with espeak-ng by
  scripts/make_captcha_voices.py) with the package's noise, so nothing but Python is needed.
- CAPTCHA_TEST_MODE=1 makes every code TEST_ANSWER, for demonstrations and browser tests; the
  gateway refuses to start with it outside the embedded default (gateway.demo.embedded_default).
"""
import secrets
import wave
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from captcha.audio import AudioCaptcha
from captcha.image import ImageCaptcha
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import delete, select, update

from gateway.models import CaptchaChallenge
from services.common.db import utcnow

ALPHABET = "23456789" "ADEFGHJLMNQRTY" "adefhjmnrty"
LENGTH = 6
TEST_ANSWER = "Ad3fE5"
VOICES_DIR = Path(__file__).with_name("data") / "captcha_voices"

# why an answer was not accepted (message codes: gateway.errors)
WRONG, EXPIRED, USED = "captcha_wrong", "captcha_expired", "captcha_used"


def voice_name(char: str) -> str:
    """The recording's file name: distinct on file systems that ignore case."""
    if char.isdigit():
        return f"digit-{char}"
    return f"{'upper' if char.isupper() else 'lower'}-{char}"


class ShippedVoices(AudioCaptcha):
    """The `captcha` package's mixing and noise over our recordings of ALPHABET."""

    def __init__(self, language: str):
        super().__init__(str(VOICES_DIR / language))
        self._choices = list(ALPHABET)

    def _load_data(self, name: str) -> None:
        with wave.open(str(VOICES_DIR / Path(self._voicedir).name / f"{voice_name(name)}.wav")) as recording:
            self._cache[name] = [bytearray(recording.readframes(-1))]


@lru_cache(maxsize=None)
def _voices(language: str) -> ShippedVoices:
    voices = ShippedVoices(language)
    voices.load()
    return voices


def image_png(answer: str) -> bytes:
    return ImageCaptcha(width=260, height=90).generate(answer, format="png").getvalue()


def audio_wav(answer: str, language: str) -> bytes:
    return bytes(_voices(language).generate(answer))


class TooManyCaptchas(Exception):
    """This client asked for too many codes or gave too many wrong answers lately."""


@dataclass
class CaptchaDesk:
    sessions: object  # the gateway database's sessionmaker
    lifetime: int  # seconds a code can be answered
    pass_lifetime: int  # seconds a right answer lets one filing through
    rate_limit: str
    storage_uri: str
    test_mode: bool = False

    def __post_init__(self):
        self._limiter = MovingWindowRateLimiter(storage_from_string(self.storage_uri))
        self._limit = parse(self.rate_limit)

    def _count(self, client: str) -> None:
        """One more use by this client; TooManyCaptchas past the limit."""
        if not self._limiter.hit(self._limit, "captcha", client):
            raise TooManyCaptchas()

    def blocked(self, client: str) -> bool:
        return not self._limiter.test(self._limit, "captcha", client)

    def issue(self, client: str) -> str:
        """A new challenge's id (the answer stays here); old ones are purged on the way."""
        self._count(client)
        now = utcnow()
        answer = TEST_ANSWER if self.test_mode else "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        challenge_id = secrets.token_urlsafe(24)
        with self.sessions() as session:
            oldest = now - timedelta(seconds=self.lifetime + self.pass_lifetime)
            session.execute(delete(CaptchaChallenge).where(CaptchaChallenge.created_at < oldest))
            session.add(CaptchaChallenge(id=challenge_id, answer=answer, created_at=now))
            session.commit()
        return challenge_id

    def answer_to_show(self, challenge_id: str) -> str | None:
        """The code to draw or read out, while it can still be answered; None otherwise."""
        with self.sessions() as session:
            return session.scalar(select(CaptchaChallenge.answer).where(
                CaptchaChallenge.id == str(challenge_id), CaptchaChallenge.solved_at.is_(None),
                CaptchaChallenge.created_at >= utcnow() - timedelta(seconds=self.lifetime)))

    def audio(self, challenge_id: str, language: str, client: str) -> bytes | None:
        answer = self.answer_to_show(challenge_id)
        if answer is None:
            return None
        self._count(client)  # reading it out costs far more than drawing it
        return audio_wav(answer, language)

    def solve(self, challenge_id: str, typed: str, client: str) -> str | None:
        """None if `typed` is the code (the challenge becomes a pass), else why not: WRONG,
        EXPIRED or USED.  The challenge is used up either way."""
        now = utcnow()
        with self.sessions() as session:
            solved = session.execute(update(CaptchaChallenge).where(
                CaptchaChallenge.id == str(challenge_id), CaptchaChallenge.solved_at.is_(None),
                CaptchaChallenge.answer == (typed or "").strip(),
                CaptchaChallenge.created_at >= now - timedelta(seconds=self.lifetime))
                .values(solved_at=now)).rowcount
            if solved:
                session.commit()
                return None
            challenge = session.get(CaptchaChallenge, str(challenge_id))
            if challenge is None or challenge.solved_at is not None:
                problem = USED
            else:
                session.delete(challenge)  # a wrong or late answer: that code is gone
                problem = EXPIRED if challenge.created_at < now - timedelta(seconds=self.lifetime) else WRONG
            session.commit()
        if problem == WRONG:
            self._count(client)
        return problem

    def redeem(self, challenge_id: str, typed: str, client: str) -> str | None:
        """Solve and spend at once (the API, where the code comes with the complaint): None if
        the filing may go ahead, else why not."""
        problem = self.solve(challenge_id, typed, client)
        if problem is None and not self.spend(challenge_id):
            problem = USED
        return problem

    def spend(self, pass_id: str) -> bool:
        """Use a solved challenge's pass for one filing; False if it is spent, stale or unknown."""
        now = utcnow()
        with self.sessions() as session:
            spent = session.execute(update(CaptchaChallenge).where(
                CaptchaChallenge.id == str(pass_id), CaptchaChallenge.solved_at.is_not(None),
                CaptchaChallenge.spent_at.is_(None),
                CaptchaChallenge.solved_at >= now - timedelta(seconds=self.pass_lifetime))
                .values(spent_at=now)).rowcount
            session.commit()
        return bool(spent)

    def give_back(self, pass_id: str) -> None:
        """The filing the pass was spent on did not happen (refused, or the service was away)."""
        with self.sessions() as session:
            session.execute(update(CaptchaChallenge).where(CaptchaChallenge.id == str(pass_id))
                            .values(spent_at=None))
            session.commit()

    def holds(self, pass_id: str | None) -> bool:
        """Whether a pass can still be spent (the filing form is shown only then)."""
        if not pass_id:
            return False
        with self.sessions() as session:
            return session.scalar(select(CaptchaChallenge.id).where(
                CaptchaChallenge.id == str(pass_id), CaptchaChallenge.solved_at.is_not(None),
                CaptchaChallenge.spent_at.is_(None),
                CaptchaChallenge.solved_at >= utcnow() - timedelta(seconds=self.pass_lifetime))) is not None
