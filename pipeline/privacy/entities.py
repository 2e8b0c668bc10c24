"""The entity types the detectors know, named once: policies validate against this list.

Plain names only, so a policy can be loaded and checked without importing Presidio or spaCy.
The column scanner resolves each pattern entity to Presidio's predefined recognizer by the
class name given here.
"""

# Entity -> name of Presidio's predefined pattern recognizer that finds it.
PATTERN_RECOGNIZERS = {
    "EMAIL_ADDRESS": "EmailRecognizer",
    "CREDIT_CARD": "CreditCardRecognizer",
    "IBAN_CODE": "IbanRecognizer",
    "IP_ADDRESS": "IpRecognizer",
    "US_SSN": "UsSsnRecognizer",
}
# spaCy NER label -> Presidio entity.
SPACY_TO_ENTITY = {
    "PERSON": "PERSON",
    "PER": "PERSON",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
    "NORP": "NRP",
    "ORG": "ORGANIZATION",
}
NER_ENTITIES = frozenset(SPACY_TO_ENTITY.values())
# Entities the column scanner finds with its own column-wide passes (see ``scanner``).
SCANNER_ENTITIES = frozenset({"PHONE_NUMBER", "STREET_ADDRESS"})
SUPPORTED_ENTITIES = frozenset(PATTERN_RECOGNIZERS) | SCANNER_ENTITIES | NER_ENTITIES

# What a free-text column is scanned for by default.
IDENTIFYING_ENTITIES = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "US_SSN",
)

# What the residual-PII gate looks for in every text column unless the column allows it: the
# identifying entities and street addresses (Presidio has no address recognizer; the verifier
# reads them with a rule of its own).
GATE_ENTITIES = (*IDENTIFYING_ENTITIES, "STREET_ADDRESS")

# Regions whose national phone formats are recognized without a +prefix, unless a policy
# names its own.
DEFAULT_PHONE_REGIONS = ("US", "GB", "DE", "FR", "ES", "PL")

# Which entity wins when two hits of the same length overlap (higher wins).
PRIORITY = {
    "EMAIL_ADDRESS": 9,
    "IBAN_CODE": 8,
    "CREDIT_CARD": 7,
    "US_SSN": 6,
    "IP_ADDRESS": 5,
    "STREET_ADDRESS": 4,
    "PHONE_NUMBER": 4,
}
