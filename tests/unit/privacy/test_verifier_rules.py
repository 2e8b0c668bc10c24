"""The residual verifier's own rules for what vanilla Presidio misses (``verifier_rules``).

Every value here is made up.
"""

from pipeline.privacy.spans import Hit
from pipeline.privacy.verifier import ResidualVerifier
from pipeline.privacy.verifier_rules import (
    common_word,
    phone_runs,
    rare_words,
    short_phones,
    speaker_labels,
    spread,
    street_shapes,
    tag_neighbours,
    titled_names,
    truecase,
)
from pipeline.settings import DEFAULT_VERIFIER_MODEL


def spans(text: str, hits) -> list[str]:
    return [text[h.start : h.end] for h in hits]


def flagged(text: str, entities: list[str]) -> list[str]:
    return spans(text, ResidualVerifier(DEFAULT_VERIFIER_MODEL).flag([text], entities)[0])


def test_common_words_come_from_english_word_frequencies():
    assert common_word("refund") and common_word("The") and common_word("parcel")
    assert not common_word("quackenbush") and not common_word("polani")


# --------------------------------------------------------------------------------------------
# Truecasing lines typed without case
# --------------------------------------------------------------------------------------------


def test_a_shouted_name_in_a_lower_case_line_reads_capitalized():
    note = "2025-07-22\nMARGARET wants the card <CREDIT_CARD> blocked"
    assert truecase(note) == "2025-07-22\nMargaret wants the card <CREDIT_CARD> blocked"
    assert flagged(note, ["PERSON"]) == ["MARGARET"]


def test_a_lower_case_name_in_a_multi_line_note_is_flagged_on_its_own_line():
    note = "2025-07-22\nbruno wants the card <CREDIT_CARD> blocked\nlogin attempts flagged"
    assert flagged(note, ["PERSON"]) == ["bruno"]


def test_log_lines_and_ordinary_sentences_are_not_recased():
    log = "2025-03-20 19:34 ERROR sepa mandate rejected iban=<IBAN_CODE>"
    assert truecase(log) == log
    assert truecase("<PERSON> asked about repayment.") == "<PERSON> asked about repayment."
    assert flagged("I'm so jealous! said <PERSON> to <PERSON>", ["PERSON"]) == []


# --------------------------------------------------------------------------------------------
# The rest of a name beside a <PERSON> tag
# --------------------------------------------------------------------------------------------


def test_a_surname_right_after_a_person_tag_is_flagged():
    note = "called <PERSON> quackenbush about the refund"
    assert spans(note, tag_neighbours(note)) == ["quackenbush"]
    assert flagged(note, ["PERSON"]) == ["quackenbush"]


def test_a_lower_case_surname_after_a_tag_and_an_initial_is_flagged_a_new_sentence_is_not():
    log = 'profile updated name="<PERSON>. dippel" phone=<PHONE_NUMBER>'
    note = "Discussed plan with <PERSON>. NSTEMI, troponin peaked at 2.1"
    assert spans(log, tag_neighbours(log)) == ["dippel"]
    assert tag_neighbours(note) == []


def test_common_words_and_lower_case_words_before_a_tag_are_left_alone():
    note = "approved by <PERSON> today; regular commenter <PERSON> says hello <PERSON> here"
    assert tag_neighbours(note) == []


def test_a_lower_case_word_rare_in_english_before_a_tag_is_flagged_a_foreign_one_is_not():
    chat = "hi, this is vörösmarty <PERSON>, I can't log in"
    letter = "Mit freundlichen <PERSON>"
    assert spans(chat, tag_neighbours(chat)) == ["vörösmarty"]
    assert tag_neighbours(letter) == []


def test_letters_glued_to_a_person_tag_are_the_rest_of_a_cut_name():
    signature = "Best regards,\n<PERSON>t vliet\nSales"
    possessive = "<PERSON>'s parcel"
    assert "t" in spans(signature, tag_neighbours(signature))
    assert tag_neighbours(possessive) == []


def test_a_name_found_against_a_tag_is_flagged_without_the_tags_bracket():
    # NER on redacted text can run a name into the next tag's "<": the flagged span stops
    # before it, so replacing it leaves the tag whole
    note = "Thanks,\n<PERSON>\nSprávce umění\nPolák k.s.\n<STREET_ADDRESS>\nMobile <PHONE_NUMBER>"
    found = flagged(note, ["PERSON"])
    assert all("<" not in span and not span.endswith("\n") for span in found), found


# --------------------------------------------------------------------------------------------
# Phone numbers in national formats
# --------------------------------------------------------------------------------------------


def test_phone_numbers_in_national_formats_are_flagged():
    note = "call 24-60-49-17 or phone=(0088)-677724 after six"
    assert spans(note, phone_runs(note)) == ["24-60-49-17", "(0088)-677724"]
    assert set(flagged(note, ["PHONE_NUMBER"])) >= {"24-60-49-17", "(0088)-677724"}


def test_dates_times_amounts_and_order_numbers_are_not_phone_numbers():
    note = "29.09.2025 14:23 INFO order #4412345678 paid 1.234.567,89 on 2025-07-22 (ref 123456)"
    assert phone_runs(note) == []
    assert flagged(note, ["PHONE_NUMBER"]) == []


# --------------------------------------------------------------------------------------------
# Street addresses in any case
# --------------------------------------------------------------------------------------------


def test_a_lower_case_street_address_is_flagged():
    note = "the parcel went to 12 quackmore road instead"
    assert spans(note, street_shapes(note)) == ["12 quackmore road"]
    # (with a name entity: Presidio has no recognizer of its own for STREET_ADDRESS)
    assert flagged(note, ["PERSON", "STREET_ADDRESS"]) == ["12 quackmore road"]


def test_numbers_before_ordinary_words_are_not_addresses():
    note = "I paid 40 dollars on the way home and waited 2 hours in the lane"
    assert street_shapes(note) == []


def test_street_types_beyond_the_common_ones_and_compound_names_before_the_number():
    note = "parcel went to 995 kent prairie instead\nKind regards\nMatthiashof 3\n9502 Kleve"
    assert spans(note, street_shapes(note)) == ["995 kent prairie", "Matthiashof 3"]


def test_a_us_military_address_is_flagged_above_its_apo_line():
    card = "<PERSON>\nPSC 0969, Box 7121\nAPO AA 35892\nUSNS Pratt\nFPO AE 22222\nPSC 12, Box 3"
    assert spans(card, street_shapes(card)) == ["PSC 0969, Box 7121", "USNS Pratt"]


def test_the_street_line_under_a_replaced_address_line_is_flagged():
    card = "<STREET_ADDRESS>\nPatel Course\nWN1E 9QP\nmoved to <STREET_ADDRESS>\nLowe Isle in Leeds"
    assert spans(card, street_shapes(card)) == ["Patel Course", "Lowe Isle"]
    assert street_shapes("<STREET_ADDRESS>\nThe Pines Hotel is nearby") == []


# --------------------------------------------------------------------------------------------
# Every occurrence of a flagged name
# --------------------------------------------------------------------------------------------


def test_a_name_flagged_once_is_flagged_wherever_it_appears_in_the_cell():
    note = "zebulon called again\nspoke to Zebulon Quackenbush\nnote: zebulon prefers e-mail"
    found = flagged(note, ["PERSON"])
    assert [w.lower() for w in " ".join(found).split()].count("zebulon") == 3


def test_only_uncommon_words_of_a_flagged_name_spread():
    note = "Called Zebulon about it. Then he called again."
    start = note.index("Called")
    from pipeline.privacy.spans import Hit

    hits = [Hit(start, note.index(" about"), "PERSON", 0.85)]
    assert spread(note, hits) == [Hit(7, 14, "PERSON", 0.5)]


# --------------------------------------------------------------------------------------------
# Short phones, speaker labels and rare words
# --------------------------------------------------------------------------------------------


def test_a_six_digit_phone_is_flagged_where_the_line_says_phone():
    note = "You can call 11 05 93 after six\nbox 11 05 93 arrived on 12.05.24"
    assert spans(note, short_phones(note)) == ["11 05 93"]


def test_three_pairs_of_digits_that_cannot_be_a_date_are_a_phone_without_a_phone_word():
    note = "no message on my registered 94 50 72 yet\nbox 12 05 24 arrived on 12.05.24"
    assert spans(note, short_phones(note)) == ["94 50 72"]


def test_the_word_after_a_title_is_a_name_in_any_case():
    note = "please join accounts with ms. ryder\nDr Okafor says hi; I miss the old app; Mr <PERSON>"
    assert spans(note, titled_names(note)) == ["ryder", "Okafor"]


def test_a_speaker_label_beside_person_tags_is_flagged():
    chat = "<PERSON>: where were you?\nBrenna: out, as I said.\n<PERSON>: nobody believes it."
    assert spans(chat, speaker_labels(chat)) == ["Brenna"]


def test_role_labels_and_form_keys_are_not_flagged():
    chat = "<PERSON>: where is my parcel\nAgent: let me check that\nUser: thanks a lot"
    form = "Name: <PERSON>\nPhone: <PHONE_NUMBER>\nQorvalik: <IBAN_CODE>"
    assert speaker_labels(chat) == [] and speaker_labels(form) == []


def test_a_word_rare_in_english_is_flagged_as_a_name():
    note = "Why is Qelvintra so impulsive?\n25/03/2026\nzelphorra called again, still waiting"
    assert spans(note, rare_words(note)) == ["Qelvintra", "zelphorra"]


def test_everyday_words_other_languages_keys_and_places_are_not_rare_names():
    # a capitalized everyday word, a lower-case rare word on a line with case, a German
    # closing, a field key, and a rare word NER called a place (given as ``not_people``)
    note = (
        "Refund approved.\nThe quokkazine shipped.\nMit freundlichen Grüßen\nfoo: bar\nIn Zembrova"
    )
    place = note.index("Zembrova")
    hits = rare_words(note, [Hit(place, place + len("Zembrova"), "LOCATION", 0.85)])
    assert spans(note, hits) == []


def test_a_name_common_in_another_language_is_a_name_among_english_words():
    # "amada" and "júlia" are common words of Spanish and Portuguese text; "freundlichen" and
    # "Cordialement" are other languages' words, in a phrase of that language or on their own
    note = "amada wants the card <CREDIT_CARD> blocked\nplease change it to júlia r pereira"
    closing = "mit freundlichen grüßen\nCordialement,\n<PERSON>"
    assert spans(note, rare_words(note)) == ["amada", "júlia"]
    assert rare_words(closing) == []


def test_a_rare_name_shouted_on_a_line_otherwise_in_lower_case_is_flagged():
    note = "03.01.2025\nMATTHIJS called again, still waiting\nCOPD exacerbation on nebs"
    assert spans(note, rare_words(note)) == ["MATTHIJS"]
    # a line written with case is shorthand, not a shouted name
    assert rare_words("Seen by Dr. <PERSON>. NSTEMI ruled out, trop negative.") == []


def test_rare_terms_opening_a_sentence_and_acronyms_are_not_names():
    # clinical shorthand: a rare term opens each sentence, an acronym in mixed case, and a
    # lower-case line with a shouted acronym in it
    note = "Hyperzelmia to 480 on arrival. Noncomplorant with meds. New-onset QFib today.\n"
    note += "COPD exacerbation, treated with zembutrol"
    assert spans(note, rare_words(note)) == []


# --------------------------------------------------------------------------------------------
# Names by the model's word vectors
# --------------------------------------------------------------------------------------------


def test_the_medium_models_vectors_place_given_names_among_names_and_everyday_words_not():
    from pipeline.privacy.presidio import build_lean_analyzer
    from pipeline.privacy.verifier_rules import NameVectors

    vectors = NameVectors(build_lean_analyzer(DEFAULT_VERIFIER_MODEL).nlp_engine.nlp["en"].vocab)
    assert all(vectors.name_like(w) for w in ("joshua", "lucas", "Adrian", "morgan"))
    everyday = ("refund", "parcel", "login", "called", "customer", "agent", "june", "monday")
    assert not any(vectors.name_like(w) for w in everyday)


def test_a_given_name_that_is_common_english_is_flagged_on_a_line_without_case():
    # "joshua" and "lucas" are too common in English for the rare-word rule; truecasing
    # leaves them lower case; the vectors place them among names
    assert flagged("she named him joshua", ["PERSON"]) == ["joshua"]
    assert flagged("why is lucas so impulsive?", ["PERSON"]) == ["lucas"]
    assert flagged("refund approved, parcel sent on monday", ["PERSON"]) == []


def test_a_speaker_label_of_an_everyday_word_that_is_a_name_is_flagged_beside_person_tags():
    chat = "<PERSON>: What a wife.\nMark: Remember me, <PERSON>?\n<PERSON>: You saved my life!"
    roles = "<PERSON>: where is my parcel\nAgent: let me check that\nUser: thanks a lot"
    assert flagged(chat, ["PERSON"]) == ["Mark"]
    assert flagged(roles, ["PERSON"]) == []
