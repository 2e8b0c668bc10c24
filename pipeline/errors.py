"""Errors the pipeline raises on purpose: each says what is wrong, where, and what to do."""


class GovernError(Exception):
    """Base class: a problem in the user's data or declarations, not a bug in the pipeline."""


class DeclarationError(GovernError):
    """A dataset declaration, policy or contract file is invalid (names file, key and reason)."""


class IngestError(GovernError):
    """A source file cannot be read at all (missing, empty, wrong header, wrong encoding...)."""
