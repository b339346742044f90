"""What a question offers to search with: whether it is in a language the assistant reads, and has words to look for."""

from __future__ import annotations

import re
import unicodedata

from .evidence import QUESTION_WORDS
from .language import STOPWORDS, language_scores, raw_tokens

# Function words of other languages a civil servant may type in; none is a common Danish, Swedish or English word.
_FOREIGN_MARKERS: dict[str, frozenset[str]] = {
    "German": frozenset("und die das ist nicht wie viel viele wer ich für ein eine einen auf zu im wann "
                        "welche welcher warum wurde wurden haben hat auch oder über bei nach aus werden muss "
                        "gibt kostet".split()),
    "French": frozenset("le la les est des une un que qui quel quelle quels combien pourquoi quand comment "
                        "dans sur avec pas sont ont été au aux cette il elle nous vous à où coûte".split()),
    "Spanish": frozenset("los las es y qué cuánto cuánta cuándo cómo por para con una está fue muy "
                         "dónde cuesta".split()),
    "Dutch": frozenset("het een niet wat hoe veel wie waarom wanneer zijn werd worden voor aan deze".split()),
    "Finnish": frozenset("ei mitä kuinka paljon milloin miksi kuka mikä onko ovat oli tai että missä".split()),
    "Italian": frozenset("il della che di è sono quanto quando perché gli costa".split()),
    "Portuguese": frozenset("dos não como quanto quando porque são é onde custa".split()),
    "Polish": frozenset("jest nie jak ile kiedy dlaczego czy się gdzie kosztuje".split()),
}
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_ALPHA_TOKEN = re.compile(r"^[^\W\d_]{2,}$", re.UNICODE)


def _script_share(text: str) -> float:
    """The share of the text's letters that are Latin letters."""
    letters = _LETTER.findall(text)
    if not letters:
        return 1.0
    return sum(1 for ch in letters if unicodedata.name(ch, "").startswith("LATIN")) / len(letters)


def other_language(question: str) -> str | None:
    """The language a question is written in when that is not Danish, Swedish or English, else None."""
    if _script_share(question) < 0.5:
        return "a script other than the Latin alphabet"
    words = re.findall(r"[^\W\d_]+", question.lower())
    foreign = {name: sum(1 for w in words if w in markers) for name, markers in _FOREIGN_MARKERS.items()}
    name, score = max(foreign.items(), key=lambda kv: kv[1])
    ours = max(language_scores(question).values())
    return name if score >= 2 and score > ours + 1 else None


def content_words(question: str) -> list[str]:
    """The question's words that say what it is about: no numbers, question words or stop words of da/sv/en."""
    stop = QUESTION_WORDS.union(*STOPWORDS.values())
    return [t for t in raw_tokens(question) if _ALPHA_TOKEN.match(t) and t not in stop]


def unanswerable_question(question: str) -> str | None:
    """Why a question cannot be answered from any document whatever the index holds, or None."""
    lang = other_language(question)
    if lang:
        return f"the question is in {lang}, not in Danish, Swedish or English"
    if not content_words(question):
        return "the question has no words to look for (only numbers, signs or question words)"
    return None
