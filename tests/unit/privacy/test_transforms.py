"""The bulk helpers for structured columns."""

import pandas as pd

from pipeline.privacy.transforms import as_text, as_texts


def test_as_texts_is_as_text_of_each_value_in_bulk():
    strings = pd.Series([" a ", None, "b", "  "])
    mixed = pd.Series([1001.0, " x", None, 7], dtype=object)
    for series in (strings, mixed):
        assert as_texts(series).tolist() == [as_text(v) for v in series.dropna()]
        assert as_texts(series).index.tolist() == series.dropna().index.tolist()
