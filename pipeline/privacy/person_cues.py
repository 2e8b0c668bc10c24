"""The words that introduce a person in free text, and the words that are never a name.

Support and clinical notes introduce people in a few set ways ("spoke with ...", "... called",
"Dear ...", "his wife ..."). Each list is written once here; the cue patterns and the set of
words a name never contains are built from them.
"""

import re

# Words or phrases right before a name ("spoke with Thảo Lê", "holder is Ana Silva").
# Nouns for a person's role or relation: what stands before a name ("his wife Ana") and what a
# form's key says its value is ("Customer: Ana Silva").
_ROLES = (
    "customer", "client", "agent", "colleague", "caller", "patient",
)  # fmt: skip
_RELATIVES = (
    "wife", "husband", "spouse", "partner", "mother", "father", "daughter", "son", "sister",
    "brother", "niece", "nephew", "aunt", "uncle", "grandson", "granddaughter", "cousin",
    "friend", "neighbor", "neighbour", "caregiver", "guardian",
)  # fmt: skip
PERSON_NOUNS = frozenset(_ROLES + _RELATIVES)
CUES_BEFORE = (
    # prepositions and greetings
    "with", "to", "for", "from", "by", "per", "cc", "dear", "hi", "hello", "thanks",
    # titles and roles
    *_ROLES, "mr", "ms", "mrs", "miss", "dr", "pt",
    # verbs of contact
    "spoke", "told", "asked", "emailed", "called", "named", "verified", "holder is",
    "escalated to",
    # relatives and carers
    *_RELATIVES,
)  # fmt: skip
# Words or phrases right after a name ("Ana Silva requested", "Mr Obi can be reached").
CUES_AFTER = (
    "requested", "asked", "called", "phoned", "rang", "said", "says", "confirmed", "wants",
    "wanted", "reported", "complained", "mentioned", "emailed", "wrote", "replied", "agreed",
    "explained", "insisted", "disputes", "disputed", "moved", "seen", "can be reached",
    "checks", "visits", "will", "would", "has", "had", "is", "was", "cannot", "can't", "could",
    "needs", "prefers", "added",
)  # fmt: skip
# Role nouns that open notes ("Customer asked", "Courier called") and field labels in front of
# an identifier ("Tel: +1 ...", "Email: ..."): capitalized, yet never a name.
NOT_NAMES = frozenset({
    "customer", "client", "courier", "caller", "agent", "user", "account", "team", "support",
    "manager", "driver", "bank", "order", "card", "admin", "system", "store", "shop", "company",
    "refund", "delivery", "supervisor", "merchant", "seller", "buyer", "tech", "engineer",
    "tel", "phone", "mobile", "cell", "fax", "email", "mail", "ssn", "dob", "mrn", "iban",
    "ip", "address", "ref", "reference", "id", "acct", "member", "policy", "note",
    "notes", "session", "login", "called", "contact",
})  # fmt: skip
# Words that introduce a person but are never part of the name ("Per Hao", "Customer Kenji",
# "Pt seen by ..."): every word of the cues before a name, and "seen".
CUE_WORDS = frozenset(word for cue in CUES_BEFORE for word in cue.split()) | {"seen"}

CUE_BEFORE = re.compile(
    r"(?:\b(?:" + "|".join(map(re.escape, CUES_BEFORE)) + r")\.?,?\s+)$", re.IGNORECASE
)
CUE_AFTER = re.compile(
    r"^\s*(?:'s\b|" + "|".join(map(re.escape, CUES_AFTER)) + r")\b", re.IGNORECASE
)


def never_a_name(word: str) -> bool:
    """A cue or role word: it may stand next to a name but is not part of one."""
    lowered = word.lower()
    return lowered in CUE_WORDS or lowered in NOT_NAMES


def cued(text: str, start: int, end: int) -> bool:
    """Whether a person cue stands right before ``text[start:end]`` or right after it."""
    return bool(
        CUE_BEFORE.search(text[max(0, start - 24) : start]) or CUE_AFTER.match(text[end : end + 24])
    )
