"""The bulk operators for structured columns: keyed hash, mask, generalize.

Each runs once per distinct value and is mapped back over the column, so a million rows with a
few thousand distinct values cost a few thousand calls.
"""

import hashlib
import hmac
from collections.abc import Callable

import numpy as np
import pandas as pd

from pipeline.privacy.policy import GeneralizeRule


def as_text(value: object) -> str:
    """A cell as the text it was written as (1001.0 read as a float is '1001')."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def hmac_token(key: bytes, value: str, prefix: str = "") -> str:
    """A keyed, deterministic pseudonym: same key and value give the same token everywhere."""
    digest = hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{prefix}{digest[:24]}"


def key_fingerprint(key: bytes) -> str:
    """Tells two HMAC keys apart without revealing either (tokens differ across keys)."""
    return hmac.new(key, b"govern:key-fingerprint", hashlib.sha256).hexdigest()[:16]


def as_texts(series: pd.Series) -> pd.Series:
    """``as_text`` of each non-null value (nulls dropped): pandas' string methods where the
    column holds only strings, one Python call per value otherwise."""
    values = series.dropna()
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        return values.str.strip()
    return values.map(as_text)


def map_unique(series: pd.Series, transform: Callable[[object], object]) -> pd.Series:
    """Apply ``transform`` once per distinct non-null value, mapped back by position; nulls
    stay None.

    ``pd.factorize`` gives each row its distinct value's code, so the result is one ``take``:
    no dict of every distinct value and no lookup index over it (a column of five million
    distinct card numbers would hold both next to the raw and redacted columns)."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    # Code -1 (a null) takes the last entry: None.
    mapped = np.array([*(transform(value) for value in uniques), None], dtype=object)
    return pd.Series(mapped[codes], index=series.index, dtype=object)


def mask_value(value: object, keep_last: int, mask_char: str) -> str:
    """Letters and digits masked but the last ``keep_last``; separators kept."""
    text = as_text(value)
    positions = [i for i, ch in enumerate(text) if ch.isalnum()]
    keep = set(positions[-keep_last:]) if keep_last else set()
    return "".join(
        ch if (i in keep or not ch.isalnum()) else mask_char for i, ch in enumerate(text)
    )


def generalize(series: pd.Series, rule: GeneralizeRule) -> pd.Series:
    """A date to its year, or a text to its first characters (zip code to prefix)."""
    if rule.to == "year":
        return pd.to_datetime(series, errors="coerce").dt.year.astype("Int64")
    return map_unique(series, lambda v: as_text(v)[: rule.keep_chars])
