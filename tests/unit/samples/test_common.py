"""The seeded helpers the sample generators share: deterministic, and correct on known values."""

import random
from datetime import date
from pathlib import Path

import pytest

from pipeline.samples.common import (
    ascii_fold,
    blank_cells,
    card_renderings,
    date_renderings,
    dirt_count,
    duplicate_rows,
    format_date,
    insert_malformed,
    luhn_check_digit,
    pad_cells,
    pick,
    poisson,
    random_ordinal,
    stream_rng,
    to_csv,
    weighted,
    write_csv_files,
)


class FixedRandom(random.Random):
    """A Random whose random() returns the given values in turn (for exact boundary checks)."""

    def __init__(self, *values: float) -> None:
        super().__init__(0)
        self._values = list(values)

    def random(self) -> float:
        return self._values.pop(0)


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def grid(rows: int, columns: int) -> list[list[str]]:
    return [[f"r{r}c{c}" for c in range(columns)] for r in range(rows)]


# --------------------------------------------------------------------------------------------
# Random draws
# --------------------------------------------------------------------------------------------


def test_stream_rng_is_deterministic_per_seed_and_stream():
    # given / when the same and different (seed, stream) pairs
    first = [stream_rng(1, "customers").random() for _ in range(2)]
    other_stream = stream_rng(1, "transactions").random()
    other_seed = stream_rng(2, "customers").random()
    # then
    assert first[0] == first[1], "the same seed and stream must give the same draws"
    assert other_stream != first[0], "another stream name must give an independent sequence"
    assert other_seed != first[0], "another seed must give another sequence"
    # the derivation is pinned: changing it would silently change every committed sample
    assert stream_rng(20261121, "customers").random() == 0.610048847987247, (
        "stream_rng's seed derivation changed; the committed samples would no longer reproduce"
    )


def test_weighted_follows_table_order_and_boundaries():
    # given a table whose cumulative bounds are 1, 3 and 4 (total 4)
    table = (("a", 1), ("b", 2), ("c", 1))
    # when random() lands at the start, on a bound and just below the end
    picks = [weighted(FixedRandom(value), table) for value in (0.0, 0.25, 0.74, 0.75, 0.999)]
    # then a draw on a bound belongs to the next value
    assert picks == ["a", "b", "b", "c", "c"], picks


def test_weighted_frequencies_match_the_weights():
    # given a 3:1 table and a seeded rng
    rng = random.Random(7)
    # when drawing many times
    draws = [weighted(rng, (("x", 3), ("y", 1))) for _ in range(20000)]
    # then the share is close to 3/4
    share = draws.count("x") / len(draws)
    assert 0.73 < share < 0.77, f"expected ~0.75 of 'x', got {share:.3f}"


def test_pick_uses_one_random_draw():
    # given a rng whose next random() values are known
    rng = FixedRandom(0.0, 0.5, 0.99)
    # when picking three times from four options
    picks = [pick(rng, "abcd") for _ in range(3)]
    # then each pick is options[int(random() * len)]
    assert picks == ["a", "c", "d"], picks


def test_poisson_mean_and_zero_rate():
    # given a seeded rng
    rng = random.Random(3)
    # when sampling a mean of 2 many times, and a mean of 0
    draws = [poisson(rng, 2.0) for _ in range(20000)]
    # then
    mean = sum(draws) / len(draws)
    assert 1.95 < mean < 2.05, f"expected a mean near 2, got {mean:.3f}"
    assert poisson(rng, 0.0) == 0, "a zero rate never gives an event"


def test_random_ordinal_stays_within_bounds_inclusive():
    # given a three-day window
    first, last = date(2024, 2, 28), date(2024, 3, 1)
    rng = random.Random(11)
    # when drawing many days
    days = {date.fromordinal(random_ordinal(rng, first, last)) for _ in range(200)}
    # then every day of the window, and only those, is drawn (2024 is a leap year)
    assert days == {first, date(2024, 2, 29), last}, sorted(days)


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "digit"),
    [
        ("411111111111111", "1"),  # Visa test card 4111 1111 1111 1111
        ("555555555555444", "4"),  # Mastercard test card 5555 5555 5555 4444
        ("37828224631000", "5"),  # Amex test card 3782 822463 10005
        ("7992739871", "3"),  # the textbook Luhn example
    ],
)
def test_luhn_check_digit_of_known_numbers(body: str, digit: str):
    # given / when / then
    assert luhn_check_digit(body) == digit, f"check digit of {body}"


def test_luhn_check_digit_always_makes_a_valid_number():
    # given random bodies of card-like lengths
    rng = random.Random(5)
    bodies = [
        "".join(str(rng.randrange(10)) for _ in range(rng.choice((14, 15)))) for _ in range(500)
    ]
    # when / then
    for body in bodies:
        assert luhn_valid(body + luhn_check_digit(body)), f"{body} + check digit fails Luhn"


@pytest.mark.parametrize(
    ("name", "folded"),
    [
        ("Łukasz", "lukasz"),
        ("Đặng", "dang"),
        ("Nguyễn", "nguyen"),
        ("Zoë", "zoe"),
        ("Müller", "muller"),
        ("O'Neill", "oneill"),
        ("Al-Sayed", "alsayed"),
        ("Małgorzata", "malgorzata"),
    ],
)
def test_ascii_fold_gives_lowercase_ascii_letters(name: str, folded: str):
    # given / when / then
    assert ascii_fold(name) == folded, f"ascii_fold({name!r})"


def test_card_renderings_group_amex_4_6_5_and_others_4_4_4_4():
    # given / when
    visa = card_renderings("4111111111111111")
    amex = card_renderings("378282246310005")
    # then
    assert visa == {
        "plain": "4111111111111111",
        "spaced": "4111 1111 1111 1111",
        "dashed": "4111-1111-1111-1111",
    }, visa
    assert amex["spaced"] == "3782 822463 10005", amex
    assert amex["dashed"] == "3782-822463-10005", amex


def test_date_renderings_are_locale_free_and_zero_padded():
    # given / when
    renderings = date_renderings(date(2024, 2, 5).toordinal())
    # then
    assert renderings == {
        "iso": "2024-02-05",
        "dotted": "05.02.2024",
        "slashed": "2024/02/05",
        "text": "05 Feb 2024",
        "us": "02/05/2024",
        "long": "5 February 2024",
        "long_us": "February 5, 2024",
    }, renderings


def test_format_date_only_uses_the_given_styles():
    # given a table with two styles and a seeded rng
    day = date(2026, 6, 30).toordinal()
    rng = random.Random(13)
    # when rendering the same day many times
    seen = {format_date(rng, day, (("iso", 9), ("dotted", 1))) for _ in range(300)}
    # then both styles appear, and nothing else
    assert seen == {"2026-06-30", "30.06.2026"}, seen


# --------------------------------------------------------------------------------------------
# Dirt
# --------------------------------------------------------------------------------------------


def test_dirt_count_is_proportional_with_an_optional_floor_of_one():
    # given / when / then
    assert dirt_count(0.01, 1000, guaranteed=False) == 10, "1% of 1000"
    assert dirt_count(0.01, 10, guaranteed=False) == 0, "proportional counts may round to zero"
    assert dirt_count(0.01, 10, guaranteed=True) == 1, "the guarantee lifts zero to one"
    assert dirt_count(0.5, 0, guaranteed=True) == 0, "nothing eligible, nothing to dirty"
    assert dirt_count(2.0, 3, guaranteed=False) == 3, "never more than the population"


def test_blank_cells_never_touches_protected_columns():
    # given 100 rows of 4 columns, the first protected
    rows = grid(100, 4)
    # when blanking 10% of the other cells
    blank_cells(random.Random(1), rows, ("id", "a", "b", "c"), frozenset({"id"}), 0.1, False)
    # then exactly 30 cells are empty, none in the protected column
    assert all(row[0] for row in rows), "a protected cell was blanked"
    assert sum(cell == "" for row in rows for cell in row) == 30, "expected 10% of 300 cells"


@pytest.mark.parametrize("filled_only", [True, False])
def test_pad_cells_pads_only_text_cells_and_leaves_blanks_empty(filled_only: bool):
    # given 100 rows, column "n" numeric, and every row's "b" cell empty
    rows = [[str(r), f"a{r}", ""] for r in range(100)]
    columns = ("n", "a", "b")
    # when padding 10% of the text cells
    pad_cells(
        random.Random(2), rows, columns, frozenset({"n"}), 0.1, False, filled_only=filled_only
    )
    # then numbers and blanks are untouched; only filled cells drawn count when filled_only
    padded = [row[1] for row in rows if row[1] != row[1].strip()]
    assert all(row[0] == row[0].strip() for row in rows), "a numeric cell was padded"
    assert all(row[2] == "" for row in rows), "an empty cell was padded"
    if filled_only:
        assert len(padded) == 10, f"filled_only: 10% of the 100 filled cells, got {len(padded)}"
    else:
        assert 0 < len(padded) < 20, f"about half of 10% of 200 cells, got {len(padded)}"


def test_duplicate_rows_keeps_order_and_adds_exact_copies():
    # given 200 distinct rows
    rows = grid(200, 2)
    # when duplicating 5%
    out = duplicate_rows(random.Random(3), [list(row) for row in rows], 0.05, False)
    # then the originals keep their order and 10 exact copies are added
    assert len(out) == 210, f"expected 200 + 10 rows, got {len(out)}"
    firsts = [row for index, row in enumerate(out) if row not in out[:index]]
    assert firsts == rows, "original rows must keep their order"


def test_insert_malformed_uses_every_kind_with_fresh_ids():
    # given 10 clean rows and two kinds of breakage
    rows = [[str(100 + i), "x"] for i in range(10)]

    def mangle(rng: random.Random, template: list[str], kind: str, new_id: int) -> list[str]:
        return [str(new_id), kind]

    # when inserting under the guarantee (the rate alone rounds to zero)
    out = insert_malformed(random.Random(4), rows, 10, ("a", "b"), 900, 0.003, True, mangle)
    # then each kind appears once, with ids from 900 on
    broken = sorted(row for row in out if row not in rows)
    assert broken == [["900", "a"], ["901", "b"]], broken
    assert len(out) == 12, f"expected 10 + 2 rows, got {len(out)}"
    assert insert_malformed(random.Random(4), [], 0, ("a",), 1, 0.5, True, mangle) == [], (
        "nothing to copy from, nothing inserted"
    )


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def test_to_csv_quotes_minimally_with_lf_line_endings():
    # given / when
    text = to_csv(("a", "b"), [["1", "x, y"], ["2", 'say "hi"']])
    # then
    assert text == 'a,b\n1,"x, y"\n2,"say ""hi"""\n', repr(text)


def test_write_csv_files_writes_utf8_without_translating_newlines(tmp_path: Path):
    # given
    texts = {"people": "name\nŁukasz\n"}
    # when
    paths = write_csv_files(tmp_path / "out", texts)
    # then
    assert paths == {"people": tmp_path / "out" / "people.csv"}, paths
    assert paths["people"].read_bytes() == "name\nŁukasz\n".encode(), "bytes must be as given"
