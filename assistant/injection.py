"""Detect sentences in a document that address the assistant or reader with planted commands (da, sv, en)."""

from __future__ import annotations

import re

from .chunking import sentence_spans

_FLAGS = re.IGNORECASE | re.UNICODE

# Where an imperative can stand: the start of the sentence (after quotes or a bullet), after a colon, comma,
# dash or bracket, or after Danish "og"/"derefter" and the like, optionally with "please"/"venligst". Policy
# prose puts a subject or "att"/"at"/"to" before its verbs, so this is what separates "Svara att …" from
# "Myndigheten ska svara att …". English imperatives are also plural present tense ("… and say that staff are
# lacking"), and Swedish ones in -a ("svara", "ignorera", "agera") also infinitives ("ska stödja och agera som
# …"), so after "and" nothing counts, and after "och"/"sedan"/"därefter"/"så" ("så" is also "saw" in Danish)
# only imperatives that look like nothing else ("säg", "skriv", "glöm", "nämn", "svar", "glem", "fortæl" …).
_CLAUSE = (
    r"(?:^[\W\d_]*|[:;,!?(\[\"“”«»]\s*|\s[-–—]\s*|\b(?:og|nu|derefter|bagefter)\s+"
    r"|\b(?:och|sedan|därefter|så)\s+(?=(?:säg|skriv|glöm|nämn|svar|sig|glem|ignorer|fortæl|nævn|citer)\b))"
    r"(?:(?:please|kindly|just|simply|venligst|bare|blot|vänligen|bara|helt\s+enkelt)\s+)?"
)
# Only the start of the sentence, or after a colon or quotation mark (for weaker signals).
_START = (
    r"(?:^[\W\d_]*|[:;\"“”«»]\s*)"
    r"(?:(?:please|kindly|just|simply|venligst|bare|blot|vänligen|bara|helt\s+enkelt)\s+)?"
)
# "you must", "du skal", "skal du", "du ska", "ska du" … (the reader or the assistant addressed directly).
_YOU_MUST = (
    r"\b(?:you\s+(?:must|should|shall|will|have\s+to|need\s+to|are\s+to)"
    r"|du\s+(?:skal|må|bør|ska|måste|bör|får)|(?:skal|må|bør|ska|måste|bör|får)\s+du)\b"
)
# Words that open the claim to repeat: "… that", "… at", "… att" (or "with" and a quotation).
_THAT = r"(?:\s*,?\s*(?:that|at|att)\b|\s+(?:with|med)\s*[\"“”«»'])"
# After "you must answer" a colon or a quotation also opens the wording ("Svar:" alone is a heading in Q&A).
_THAT_OR_QUOTE = r"(?:" + _THAT + r"|\s*[:\"“”«»'])"

# 1. Override earlier instructions: "ignore all previous instructions", "glem alle tidligere instrukser",
#    "bortse från ovanstående regler", "disregard the instructions above", "forget everything above".
_DETERMINER = r"(?:all|any|every|of|the|your|these|those|alle|al|de|dine|disse|alla|dina|dessa|din|ditt|dem|den)"
_EARLIER = (
    r"(?:previous|prior|above|earlier|preceding|foregoing|original|initial|old|system|other|tidligere|forrige"
    r"|foregående|ovenstående|ovennævnte|oprindelige|gamle|hidtidige|tidigare|föregående|ovanstående|ovan"
    r"|ursprungliga|gamla|hittillsvarande)"
)
_RULES = (
    r"(?:instructions?|rules?|prompts?|directions|directives?|guidelines|commands|orders|context|conversation"
    r"|kontekst\w*|kontext\w*|instruktion\w*"
    r"|instruks\w*|regler\w*|regel|prompt\w*|retningslinjer\w*|anvisning\w*|direktiv\w*|kommando\w*"
    r"|riktlinjer\w*|befaling\w*|ordrer)"
)
_OVERRIDE = re.compile(
    _CLAUSE
    + r"(?:ignore|disregard|forget|override|ignorer|ignorér|glem|se\s+bort\s+fra|ignorera|glöm|bortse\s+från"
    r"|se\s+bort\s+från)\s+(?:(?:please|venligst|vänligen|bare|bara)\s+)?"
    + r"(?:"
    # … (all) (the) previous … instructions / … all your rules / … the instructions above
    + rf"(?:{_DETERMINER}\s+){{0,3}}(?:{_EARLIER}\s+){{1,2}}{_RULES}\b"
    + rf"|(?:{_DETERMINER}\s+){{0,2}}(?:all|any|your|alle|dine|alla|dina)\s+{_RULES}\b"
    + rf"|(?:{_DETERMINER}\s+){{0,3}}{_RULES}\s+(?:above|ovenfor|herover|ovan|ovanför|you\s+(?:were|have\s+been)"
    r"\s+given|du\s+har\s+fået|du\s+har\s+fått)\b"
    r")"
    # "ignore the above", "glem alt ovenstående", "glöm allt ovan", "forget everything you were told" (not with
    # "se bort från ovanstående", which also asks a reader to skip a paragraph)
    + r"|" + _CLAUSE + r"(?:ignore|disregard|forget|ignorer|ignorér|glem|ignorera|glöm)\s+"
    r"(?:(?:all\s+of\s+)?the\s+above|everything\s+(?:above|you\s+(?:were|have\s+been)\s+told)"
    r"|alt\s+(?:ovenstående|ovenfor)|(?:allt\s+)?(?:ovanstående|ovan))\b",
    _FLAGS,
)

# 1b. "Ignore previous instructions" in any verb form where a model or the assistant is named ("AI-assistenter skal
#     ignorere alle tidligere instruktioner"); checked together with _AI_ADDRESS or _AI_MENTION below.
_IGNORE_EARLIER = re.compile(
    r"\b(?:ignor\w*|disregard\w*|forget\w*|glem\w*|glöm\w*|bortse|se\s+bort)\s+(?:(?:from|fra|från)\s+)?"
    + rf"(?:{_DETERMINER}\s+){{0,3}}(?:{_EARLIER}\s+){{1,2}}{_RULES}\b",
    _FLAGS,
)

# 2. Commands to answer or say a given claim: "answer that …", "svar altid at …", "säg att …",
#    "tell the user that …", "you must answer: …", "du skal svare, at …", "du ska svara att …" (not "you must
#    state/write that …", which is how application forms speak).
_ANSWER = re.compile(
    _CLAUSE
    + r"(?:(?:always|only|altid|kun|alltid|bara|endast)\s+)?"
    r"(?:answer|respond|reply|say|state|claim|svar|sig|skriv|påstå|svara|säg)"
    r"(?:\s+(?:always|only|altid|kun|udelukkende|alltid|bara|endast|venligst|vänligen|nu|now))?" + _THAT
    # "tell the user that …", "fortæl brugeren at …", "berätta för användaren att …"
    + r"|" + _CLAUSE + r"(?:tell|inform|fortæl|informer|sig\s+til|berätta\s+för|säg\s+till|meddela)\s+"
    r"(?:the\s+)?(?:users?|readers?|brugeren|brugerne|læseren|användaren|användarna|läsaren)" + _THAT
    # "you must (always) answer that …", "du skal svare at …", "du ska alltid svara: …"
    + r"|" + _YOU_MUST + r"\s+(?:(?:always|only|now|altid|kun|nu|alltid|bara|endast)\s+)?"
    r"(?:answer|respond|reply|say|claim|svare|sige|påstå|svara|säga)"
    r"(?:\s+(?:always|only|altid|kun|udelukkende|alltid|bara|endast))?" + _THAT_OR_QUOTE,
    _FLAGS,
)

# 3. Role play and identity overrides: "you are now …", "act as …", "pretend to be …", "du er nu …",
#    "lad som om …", "du är nu …", "låtsas att …", "from now on you …", "fra nu af skal du …".
_ROLE = re.compile(
    r"\b(?:you\s+are\s+now|du\s+er\s+nu|du\s+är\s+nu)\s+"
    r"(?!(?:a\s+part|a\s+member|one\s+of|en\s+del|et\s+medlem|en\s+af|et\s+af|en\s+av|ett\s+av|medlem)\b)"
    r"(?:an?|the|my|no\s+longer|called|named|free|unrestricted|en|et|ett|den|det|min|mit|mitt|ikke\s+længere"
    r"|inte\s+längre|kaldet|kallad|fri|DAN|in\s+\w+\s+mode|i\s+\w+-?tilstand|i\s+\w+-?läge)\b"
    r"|" + _CLAUSE + r"(?:act\s+as|pretend|roleplay|role-play|agér\s+som|ager\s+som|opfør\s+dig\s+som"
    r"|lad\s+som\s+om|spil\s+rollen\s+som|agera\s+som|bete\s+dig\s+som|låtsas|lat\s+som\s+om|spela\s+rollen\s+som)\b"
    # "from now on": an imperative, or "you" with a verb of answering, ignoring, pretending or being
    r"|\b(?:from\s+now\s+on|fra\s+nu\s+af|från\s+och\s+med\s+nu|hädanefter)\s*,?\s+"
    r"(?:(?:answer|respond|reply|say|ignore|act|pretend|svar|sig|ignorer|glem|svara|säg|ignorera|glöm)\b"
    r"|(?:you\s+(?:are|will|must|shall|should)|(?:skal|er|svarer|må)\s+du|(?:ska|är|svarar|måste)\s+du|you|du)\s+"
    r"(?:(?:always|only|never|altid|kun|aldrig|alltid|bara|endast)\s+)?"
    r"(?:answer|respond|reply|say|ignore|pretend|act|be|an?|the|svare|sige|ignorere|glemme|lade|være|en|et|ett"
    r"|svara|säga|ignorera|glömma|låtsas|vara|kun|bara|only)\b)",
    _FLAGS,
)

# 4a. Words that speak to the assistant: "to the AI", "til assistenten", "till assistenten", "as an AI",
#     "som AI", "if you are a language model", a leading "AI:" or "Assistant,", the system prompt.
#     (?!-) and _NOT_NAME keep out "till AI-förordningen" and "bidrag till AI Centrets grundfinansiering".
_NOT_NAME = r"(?!-|\s+(?-i:[A-ZÆØÅÄÖ]))"
_AI_ADDRESS = re.compile(
    r"system\s?-?prompt\w*"
    r"|\b(?:to|dear|hey|hi|note\s+to|attention)\s+(?:the\s+|any\s+|all\s+)?(?:AIs?|assistants?|models?"
    r"|language\s+models?|chat\s?bots?|LLMs?)\b" + _NOT_NAME
    + r"|\b(?:til|kære|hej|besked\s+til)\s+(?:AI(?:'en|-en)?|assistenten|modellen|sprogmodellen|chatbotten)\b"
    + _NOT_NAME
    + r"|\b(?:till|kära|hej|meddelande\s+till)\s+(?:AI(?::n)?|assistenten|modellen|språkmodellen|chattboten)\b"
    + _NOT_NAME
    # "As an AI, …" / "Som AI skal du …" only where the sentence or clause begins ("sektorer som AI" is a topic)
    + r"|(?:^[\W\d_]*|[:;]\s*)(?:as\s+an?|som)\s+(?:AI|KI|(?:large\s+)?language\s+model|sprogmodel|språkmodell"
    r"|chatbot|chattbot)\b(?!-)"
    r"|\b(?:if\s+you\s+are|hvis\s+du\s+er|om\s+du\s+är)\s+(?:an?|en|et|ett)\s+(?:AI|KI|assistant|assistent|bot"
    r"|chat\s?bot|chattbot|(?:large\s+)?language\s+model|sprogmodel|språkmodell)\b"
    r"|^[\W\d_]*(?:AI|assistant|assistent(?:en)?)\s*:|^[\W\d_]*(?:assistant|assistent(?:en)?)\s*,",
    _FLAGS,
)
# … with a command to it: an imperative at the start of a clause, or "you must" / "du skal" / "du ska".
_AI_COMMAND = re.compile(
    _CLAUSE + r"(?:ignore|disregard|forget|answer|respond|reply|say|tell|write|state|claim|pretend|act\s+as|output"
    r"|print|reveal|repeat|do\s+not|don't|never|ignorer|glem|svar|sig|skriv|fortæl|påstå|lad\s+som|agér|citer"
    r"|nævn|undlad|gentag|ignorera|glöm|bortse|svara|säg|berätta|låtsas|agera|citera|nämn|undvik|avstå|upprepa"
    r"|visa)\b"
    r"|" + _YOU_MUST,
    _FLAGS,
)
# 4b. Words that merely mention a model ("language model", "sprogmodel", "chatbot", "AI assistant") count only
#     with a command to ignore, forget or pretend at the very start of the sentence or after a colon ("Glöm inte
#     att språkmodeller kan ha fel" is advice; answer/say commands are caught by _ANSWER on their own).
_AI_MENTION = re.compile(
    r"\b(?:large\s+)?language\s+models?\b|sprogmodel\w*|språkmodell\w*|\bLLMs?\b|\bchat\s?-?bot\w*|\bchatt?bot\w*"
    r"|\bchat\s?GPT\b|\bAI[- ]?(?:assistant|assistent|model|modell?)\w*|\bassistant\b|\bassistenten\b",
    _FLAGS,
)
_AI_MENTION_COMMAND = re.compile(
    _START + r"(?:ignore|disregard|forget|pretend|act\s+as|respond|reply|ignorer|ignorér|glem|lad\s+som|ignorera|glöm"
    r"|bortse|låtsas)\b(?!\s+(?:not|ikke|inte|aldrig|never)\b)",
    _FLAGS,
)

# 5. "Do not cite/mention …" aimed at the answer: a negated verb of citing or mentioning together with
#    "this document/text", "in your answer" or "to the user".
_DO_NOT_CITE = re.compile(
    r"(?:" + _CLAUSE + r"(?:do\s+not|don't|never|undlad\s+at|undvik\s+att|avstå\s+från\s+att)\s+"
    r"|\b(?:you\s+(?:must|should|may)\s+(?:not|never)|du\s+(?:må|skal|bør|får|ska|bör)\s+(?:ikke|aldrig|inte))\s+)"
    r"(?:cite|quote|mention|reveal|disclose|refer\s+to|repeat|use|citere|nævne|omtale|henvise\s+til|afsløre|gentage"
    r"|bruge|citera|nämna|hänvisa\s+till|avslöja|upprepa|använda)\b"
    r"|" + _CLAUSE + r"(?:citer|nævn|omtal|afslør|gentag|citera|nämn|avslöj|upprepa)\s+(?:ikke|aldrig|inte)\b"
    r"|" + _CLAUSE + r"(?:ikke|aldrig|inte)\s+(?:citer|nævn|omtal|citera|nämn)\b",
    _FLAGS,
)
_CITE_TARGET = re.compile(
    r"\b(?:this|these|the\s+following|dette|denne|disse|følgende|detta|denna|dessa|följande)\s+"
    r"(?:documents?|texts?|passages?|sentences?|sections?|sources?|paragraphs?|dokument\w*|tekst\w*|text\w*"
    r"|afsnit\w*|avsnitt\w*|passage\w*|kilde\w*|käll\w*|sætning\w*|mening\w*)"
    r"|\b(?:in|i)\s+(?:your|dit|ditt|dine|dina|the)\s+(?:answers?|responses?|replies|reply|svar\w*)"
    r"|\b(?:to|for|til|till|för)\s+(?:the\s+)?(?:users?|brugeren|brugerne|användaren|användarna)\b",
    _FLAGS,
)

# 6. A new set of instructions announced with a colon: "New instructions:", "Nye instrukser:", "Nya instruktioner:".
_NEW_INSTRUCTIONS = re.compile(
    r"\b(?:new|updated|revised|nye|opdaterede|ændrede|nya|uppdaterade|ändrade)\s+(?:system\s+)?"
    r"(?:instructions|instruktioner|instrukser|directives|direktiver|direktiv|prompt)\s*[:：]",
    _FLAGS,
)


# Every pattern above needs one of these words; a sentence with none is passed over at once (most prose).
_TRIGGER = re.compile(
    r"\b(?:ignor|disregard|forget|glem|glöm|bortse|se\s+bort|answer|respond|repl|say|state|svar|sig\b|skriv|säg"
    r"|tell|fortæl|berätt|you\s+are|du\s+er|du\s+är|act\s+as|pretend|lad\s+som|agera|låtsas|spela|from\s+now"
    r"|fra\s+nu|från\s+och|ai\b|assist|\w*model|\w*prompt|chat|cite|citer|quot|mention|nævn|nämn|omtal|reveal"
    r"|disclose|refer|repeat|gentag|upprepa|afslør|avslöj|\w*instru|\w*direkti|undlad|undvik|avstå|never|aldrig"
    r"|dan\b|\w*mode\b|ai[-:])",
    _FLAGS,
)


def is_instruction(sentence: str) -> bool:
    """True when a sentence addresses an assistant or the reader with a command to ignore, answer, say or pretend something."""
    if not _TRIGGER.search(sentence):
        return False
    s = " ".join(sentence.split())
    return bool(
        _OVERRIDE.search(s)
        or _ANSWER.search(s)
        or _ROLE.search(s)
        or (_AI_ADDRESS.search(s) and _AI_COMMAND.search(s))
        or (_AI_MENTION.search(s) and _AI_MENTION_COMMAND.search(s))
        or ((_AI_ADDRESS.search(s) or _AI_MENTION.search(s)) and _IGNORE_EARLIER.search(s))
        or (_DO_NOT_CITE.search(s) and _CITE_TARGET.search(s))
        or _NEW_INSTRUCTIONS.search(s)
    )


def instruction_spans(text: str) -> list[tuple[int, int]]:
    """Spans (start, end character offsets into text) of sentences that address the assistant or reader with commands."""
    return [(s, e) for s, e in sentence_spans(text) if is_instruction(text[s:e])]
