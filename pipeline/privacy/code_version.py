"""The redaction code version: part of every redacted asset's Dagster code version.

Kept apart from the redactor so the code location can name it without importing Presidio and
spaCy (the definitions load in every Dagster process; the redactor is needed only where a step
redacts).
"""

# Bumped when the redaction logic changes, so Dagster marks redacted tables stale: the
# redactor's or the residual verifier's (whose fixes are part of what a redacted table holds).
# 3: tags no longer swallow a line break; the verifier's tag-neighbour rules.
REDACTION_CODE_VERSION = "3"
