"""Record the audio captcha's voices: one short WAV per character and language, in
gateway/data/captcha_voices/<language>/, which the gateway mixes into each audio captcha.

The recordings are committed, so the platform and CI need nothing but Python; this script is
for whoever changes the alphabet or the wording.  It needs espeak-ng and sox (Debian:
`apt-get install espeak-ng sox`) and writes what the `captcha` package mixes: 8 kHz, 8-bit
unsigned, mono.

    python scripts/make_captcha_voices.py

French says each character with its case ("bé majuscule"); Arabic says digits in Arabic and,
since the letters are Latin, each letter's French name (as taught in Moroccan schools)
followed by كبير or صغير.
"""
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.captcha import ALPHABET, VOICES_DIR, voice_name  # noqa: E402

LETTER_NAMES_FR = {"a": "a", "d": "dé", "e": "eu", "f": "èf", "g": "gé", "h": "ache", "j": "ji", "l": "èl",
                   "m": "èm", "n": "ène", "q": "ku", "r": "ère", "t": "té", "y": "i grec"}
DIGITS = {
    "fr": {"2": "deux", "3": "trois", "4": "quatre", "5": "cinq", "6": "six", "7": "sept", "8": "huit", "9": "neuf"},
    "ar": {"2": "اِثْنَانْ", "3": "ثَلَاثَةْ", "4": "أَرْبَعَةْ", "5": "خَمْسَةْ", "6": "سِتَّةْ", "7": "سَبْعَةْ",
           "8": "ثَمَانِيَةْ", "9": "تِسْعَةْ"},
}
CASE_WORDS = {"fr": ("majuscule", "minuscule"), "ar": ("كَبِيرْ", "صَغِيرْ")}


def speak(voice: str, text: str, target: Path) -> None:
    subprocess.run(["espeak-ng", "-v", voice, "-s", "135", "-w", str(target), text], check=True)


def recording(language: str, char: str, scratch: Path) -> list[Path]:
    """The pieces that say `char`, in order."""
    if char.isdigit():
        piece = scratch / "digit.wav"
        speak(language, DIGITS[language][char], piece)
        return [piece]
    upper, lower = CASE_WORDS[language]
    case_word = upper if char.isupper() else lower
    if language == "fr":
        piece = scratch / "letter.wav"
        speak("fr", f"{LETTER_NAMES_FR[char.lower()]} {case_word}", piece)
        return [piece]
    name, case = scratch / "name.wav", scratch / "case.wav"
    speak("fr", LETTER_NAMES_FR[char.lower()], name)
    speak("ar", case_word, case)
    return [name, case]


def main() -> int:
    for language in ("ar", "fr"):
        folder = VOICES_DIR / language
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.wav"):  # characters dropped from the alphabet go too
            old.unlink()
        for char in ALPHABET:
            with tempfile.TemporaryDirectory() as scratch:
                pieces = recording(language, char, Path(scratch))
                target = folder / f"{voice_name(char)}.wav"
                # joined, trimmed of silence at both ends, then in the captcha package's format
                subprocess.run(["sox", *map(str, pieces), "-r", "8000", "-b", "8", "-e", "unsigned-integer",
                                "-c", "1", str(target), "silence", "1", "0.02", "1%", "reverse",
                                "silence", "1", "0.02", "1%", "reverse"], check=True)
        print(f"{language}: {len(ALPHABET)} voices in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
