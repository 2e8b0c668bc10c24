"""spaCy named-entity recognition over many sentences, on both cores when it pays.

Only the components NER needs are loaded, and results come back as plain tuples: both matter
more for speed than the model itself.
"""

import functools
import multiprocessing

# Components NER does not need: excluding them leaves a third of the full pipeline's time.
_NER_EXCLUDE = ["parser", "lemmatizer", "attribute_ruler", "tagger", "senter", "morphologizer"]
# Below this many sentences a second process costs more than it saves.
_PARALLEL_FROM = 2000

Entities = list[tuple[int, int, str]]


@functools.lru_cache(maxsize=4)
def load_ner(model: str):
    """spaCy with only the components NER needs (an installed package, never a download)."""
    import spacy

    return spacy.load(model, exclude=_NER_EXCLUDE)


def _entities_of(model: str, sentences: list[str]) -> list[Entities]:
    """(start, end, label) of every entity: plain tuples, cheap to send between processes."""
    nlp = load_ner(model)
    return [
        [(e.start_char, e.end_char, e.label_) for e in doc.ents]
        for doc in nlp.pipe(sentences, batch_size=256)
    ]


def named_entities(model: str, sentences: list[str]) -> list[Entities]:
    """spaCy NER over ``sentences``, split over both cores when there are many.

    spaCy's own ``n_process`` ships whole Docs back and the parent spends longer decoding them
    than the children spent on NER; a forked worker that returns tuples halves the time. The
    model is loaded before the fork, so the worker shares it instead of loading it again.
    """
    load_ner(model)
    if len(sentences) < _PARALLEL_FROM or multiprocessing.cpu_count() < 2:
        return _entities_of(model, sentences)
    half = len(sentences) // 2
    with multiprocessing.get_context("fork").Pool(1) as pool:
        second = pool.apply_async(_entities_of, (model, sentences[half:]))
        first = _entities_of(model, sentences[:half])
        return first + second.get()
