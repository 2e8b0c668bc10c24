"""The bulk helpers for structured columns."""

import pandas as pd

from pipeline.privacy.transforms import as_text, as_texts, map_unique


def test_as_texts_is_as_text_of_each_value_in_bulk():
    strings = pd.Series([" a ", None, "b", "  "])
    mixed = pd.Series([1001.0, " x", None, 7], dtype=object)
    for series in (strings, mixed):
        assert as_texts(series).tolist() == [as_text(v) for v in series.dropna()]
        assert as_texts(series).index.tolist() == series.dropna().index.tolist()


def test_map_unique_transforms_each_distinct_value_once_and_keeps_nulls_and_index():
    # given a column with repeated values and nulls of both kinds, on its own index
    series = pd.Series(["a", None, "b", float("nan"), "a"], index=[5, 6, 7, 8, 9], dtype=object)
    seen = []
    # when it is mapped through a transform
    mapped = map_unique(series, lambda v: seen.append(v) or v.upper())
    # then each distinct value was transformed once, nulls stayed None, rows kept their labels
    assert sorted(seen) == ["a", "b"], seen
    assert mapped.tolist() == ["A", None, "B", None, "A"]
    assert mapped.index.tolist() == [5, 6, 7, 8, 9] and mapped.dtype == object
