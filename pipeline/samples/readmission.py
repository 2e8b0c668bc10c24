"""Deterministic generator for the template's dirty hospital-readmission sample data.

The second dataset of the template is governed under a strict HIPAA-style policy, so it needs
input that is full of protected health information in the places real exports hide it: names,
medical record numbers, dates of birth, phone numbers and relatives inside free-text clinical
notes. The invented patients, encounters and notes carry a learnable 30-day readmission signal
and the usual mess (mixed date formats, missing cells, stray whitespace, duplicated rows and
malformed lines) so ingestion, redaction, contracts and training are exercised end to end.

Encounter timelines are internally consistent: an encounter labelled readmitted is followed by
the patient's next admission within 30 days whenever that admission falls inside the extract
(otherwise it happened at another facility or after the cut-off), and an encounter labelled not
readmitted is never followed by one within 30 days.

Everything is drawn from seeded ``random.Random`` instances and a fixed reference date, so the
same seed and size always give byte-identical CSV text on every machine and Python run.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pipeline.samples.common import (
    REFERENCE_DATE,
    Dirt,
    TableShape,
    date_renderings,
    dirty_csv,
    format_date,
    pick,
    poisson,
    stream_rng,
    weighted,
    write_csv_files,
)

DEFAULT_SEED = 20261122

# Encounters (admission and discharge) all fall inside this window.
ENCOUNTER_START = date(2023, 1, 1)
ENCOUNTER_END = date(2026, 6, 15)

FIRST_PATIENT_ID = 500001
FIRST_ENCOUNTER_ID = 7000001

PATIENT_COLUMNS = (
    "patient_id",
    "mrn",
    "full_name",
    "date_of_birth",
    "sex",
    "zip",
    "phone",
    "insurance_id",
    "primary_language",
)
ENCOUNTER_COLUMNS = (
    "encounter_id",
    "patient_id",
    "admit_date",
    "discharge_date",
    "department",
    "diagnosis_code",
    "length_of_stay",
    "num_medications",
    "num_prior_admissions",
    "attending_physician",
    "clinical_notes",
    "readmitted_30d",
)
# Identifiers and the label are never blanked, so joins and training stay usable; numeric
# columns never get stray whitespace (text columns such as zip and mrn do).
PATIENT_PROTECTED = frozenset({"patient_id", "mrn", "insurance_id"})
PATIENT_NUMERIC = frozenset({"patient_id"})
ENCOUNTER_PROTECTED = frozenset({"encounter_id", "patient_id", "readmitted_30d"})
ENCOUNTER_NUMERIC = frozenset(
    {
        "encounter_id",
        "patient_id",
        "length_of_stay",
        "num_medications",
        "num_prior_admissions",
        "readmitted_30d",
    }
)

# Whitespace targets are drawn among the non-empty text cells only, so the share is exact.
DIRT = Dirt(missing=0.015, whitespace=0.02, duplicate=0.01, malformed=0.003, pad_filled_only=True)
ALL_CAPS_RATE = 0.03
EMPTY_NOTES_RATE = 0.15
# (format name, weight) for every date cell: mostly ISO, some European dotted dates.
DATE_FORMATS = (("iso", 90), ("dotted", 10))
# Below this size dirt is purely proportional; at or above it every kind appears at least once.
DIRT_GUARANTEE_MIN_PATIENTS = 50

# (primary language, weight, share who prefer it over English, female firsts, male firsts, lasts)
CULTURES: tuple[
    tuple[str, int, float, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...
] = (
    (
        "English", 50, 1.0,
        ("Mary", "Patricia", "Linda", "Barbara", "Susan", "Dorothy", "Margaret", "Karen",
         "Sarah", "Emily", "Nancy", "Joan"),
        ("James", "John", "Robert", "Michael", "William", "David", "Richard", "Thomas",
         "Charles", "George", "Kenneth", "Gary"),
        ("Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson",
         "Anderson", "Taylor", "O'Brien", "McAllister", "Thompson", "Walker"),
    ),
    (
        "Spanish", 16, 0.6,
        ("María", "Lucía", "Carmen", "Guadalupe", "Rosa", "Inés", "Ana", "Sofía"),
        ("José", "Javier", "Alejandro", "Jesús", "Luis", "Ramón", "Andrés", "Raúl"),
        ("García", "Martínez", "Hernández", "López", "González", "Rodríguez", "Pérez",
         "Sánchez", "Ramírez", "Peña"),
    ),
    (
        "Vietnamese", 5, 0.6,
        ("Thảo", "Linh", "Trang", "Phương", "Hương", "Lan"),
        ("Minh", "Quang", "Huy", "Đức", "Tuấn", "Dũng"),
        ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Đặng", "Võ", "Bùi"),
    ),
    (
        "Polish", 4, 0.5,
        ("Agnieszka", "Katarzyna", "Małgorzata", "Jadwiga", "Anna", "Zofia"),
        ("Łukasz", "Paweł", "Wojciech", "Stanisław", "Krzysztof", "Józef"),
        ("Nowak", "Wójcik", "Woźniak", "Zając", "Król", "Mazur", "Kowalczyk", "Dudek"),
    ),
    (
        "Mandarin", 5, 0.55,
        ("Jing", "Na", "Xiu Ying", "Mei", "Hui", "Li Na"),
        ("Wei", "Ming", "Jun", "Hao", "Jian", "Qiang"),
        ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao"),
    ),
    (
        "Arabic", 3, 0.5,
        ("Fatima", "Layla", "Mariam", "Nour", "Huda", "Samira"),
        ("Ahmed", "Omar", "Youssef", "Khaled", "Tariq", "Karim"),
        ("Al-Sayed", "Haddad", "Mansour", "Khalil", "El-Amin", "Nasser"),
    ),
    (
        "Tagalog", 3, 0.35,
        ("Maricel", "Rowena", "Analyn", "Marites", "Jocelyn", "Luzviminda"),
        ("Rommel", "Jomar", "Ferdinand", "Rodel", "Arnel", "Jericho"),
        ("Dela Cruz", "Santos", "Reyes", "Bautista", "Mendoza", "Villanueva"),
    ),
    (
        "Hindi", 4, 0.3,
        ("Priya", "Ananya", "Kavya", "Lakshmi", "Sunita", "Meera"),
        ("Arjun", "Rohan", "Vikram", "Rajesh", "Sanjay", "Anil"),
        ("Sharma", "Patel", "Iyer", "Reddy", "Gupta", "Nair"),
    ),
    (
        "Yoruba", 3, 0.2,
        ("Ngozi", "Adaeze", "Folake", "Funmilayo", "Chiamaka", "Yetunde"),
        ("Chinedu", "Oluwaseun", "Emeka", "Babatunde", "Obinna", "Tunde"),
        ("Okafor", "Adeyemi", "Okonkwo", "Balogun", "Eze", "Nwosu"),
    ),
    (
        "Korean", 3, 0.5,
        ("Ji-woo", "Seo-yeon", "Eun-ji", "Min-seo", "Hye-jin", "Soo-ah"),
        ("Min-jun", "Hyun-woo", "Jae-sung", "Dong-hyun", "Sung-min", "Tae-yang"),
        ("Kim", "Lee", "Park", "Choi", "Jung", "Kang"),
    ),
    (
        "French", 2, 0.4,
        ("Amélie", "Céline", "Hélène", "Chloé", "Éloïse", "Margaux"),
        ("François", "Benoît", "Jérôme", "Théo", "Mathieu", "Rémi"),
        ("Dubois", "Lefèvre", "Moreau", "Laurent", "Girard", "Rousseau"),
    ),
)  # fmt: skip
CULTURE_WEIGHTS = tuple((name, weight) for name, weight, *_ in CULTURES)
CULTURE_DETAILS = {name: details for name, _, *details in CULTURES}

SEXES = (("F", 51), ("M", 48), ("X", 1))
# Relatives who show up in notes; the second value is the relative's sex.
RELATIONS = (
    ("daughter", "F"), ("son", "M"), ("wife", "F"), ("husband", "M"), ("sister", "F"),
    ("brother", "M"), ("niece", "F"), ("nephew", "M"), ("partner", "X"), ("mother", "F"),
)  # fmt: skip

# (area code, zip prefix): one regional health system with a few out-of-area patients.
US_AREAS = (
    (("415", "941"), 30), (("510", "946"), 20), (("650", "940"), 15), (("408", "951"), 15),
    (("916", "958"), 6), (("212", "100"), 3), (("617", "021"), 3), (("312", "606"), 3),
    (("206", "981"), 3), (("305", "331"), 2),
)  # fmt: skip
PHONE_STYLES = (("e164ish", 50), ("parens", 50))

# Payer codes inside insurance ids; Medicare ("MC") dominates past 65.
PAYERS_UNDER_65 = (("BC", 25), ("AE", 15), ("UH", 20), ("CG", 10), ("KP", 15), ("MD", 15))
PAYERS_65_PLUS = (("MC", 75), ("BC", 8), ("UH", 7), ("AE", 5), ("MD", 5))

DEPARTMENTS = (
    ("general medicine", 25), ("cardiology", 18), ("emergency", 15), ("pulmonology", 12),
    ("orthopedics", 10), ("oncology", 10), ("nephrology", 10),
)  # fmt: skip
DEPARTMENT_DIAGNOSES: dict[str, tuple[tuple[str, int], ...]] = {
    "cardiology": (("I50.9", 40), ("I21.4", 25), ("I48.91", 25), ("R07.9", 10)),
    "oncology": (("C34.90", 50), ("C50.911", 40), ("A41.9", 10)),
    "orthopedics": (("S72.001A", 50), ("M17.11", 50)),
    "general medicine": (
        ("E11.9", 25), ("A41.9", 20), ("N39.0", 25), ("J18.9", 15), ("N17.9", 15),
    ),
    "pulmonology": (("J44.1", 55), ("J18.9", 45)),
    "nephrology": (("N18.4", 60), ("N17.9", 40)),
    "emergency": (("R07.9", 35), ("R55", 25), ("J18.9", 20), ("N39.0", 20)),
}  # fmt: skip
# Typical length of stay in days per diagnosis (the median of a skewed draw).
DIAGNOSIS_STAY = {
    "I50.9": 5.0, "I21.4": 4.0, "I48.91": 3.0, "R07.9": 1.0, "C34.90": 6.0, "C50.911": 5.0,
    "S72.001A": 6.0, "M17.11": 2.0, "E11.9": 3.0, "A41.9": 7.0, "N39.0": 3.0, "J44.1": 5.0,
    "J18.9": 5.0, "N18.4": 5.0, "N17.9": 4.0, "R55": 1.0,
}  # fmt: skip
# Chronic, polypharmacy-heavy conditions come with longer medication lists.
DIAGNOSIS_MEDICATIONS = {"I50.9": 4.0, "N18.4": 4.0, "C34.90": 3.0, "C50.911": 3.0, "J44.1": 2.0}
# Where patients are told to follow up; wards without a clinic send them to their PCP.
FOLLOW_UP = {"emergency": "PCP", "general medicine": "PCP", "orthopedics": "ortho clinic"}

# Readmission model. Tuned so ~20% of encounters are readmitted and a logistic regression on the
# numeric columns plus a department one-hot reaches an AUC of roughly 0.8; latent frailty and the
# diagnosis keep the rest of the signal out of the plain columns.
READMIT_INTERCEPT = -3.7
READMIT_PER_PRIOR = 0.32
READMIT_PER_STAY_DAY = 0.09
READMIT_PER_MEDICATION = 0.04
READMIT_PER_AGE_YEAR = 0.015
READMIT_AGE_CENTRE = 65.0
READMIT_PER_FRAILTY = 0.35
READMIT_PER_RISK_FLAG = 0.7
READMIT_DEPARTMENT = {
    "general medicine": 0.0, "cardiology": 0.1, "emergency": -0.6, "pulmonology": 0.1,
    "orthopedics": -0.6, "oncology": 0.35, "nephrology": 0.2,
}  # fmt: skip
READMIT_DIAGNOSIS = {
    "I50.9": 0.7, "J44.1": 0.6, "N18.4": 0.6, "C34.90": 0.4, "A41.9": 0.3, "M17.11": -0.8,
    "R07.9": -0.5, "R55": -0.3,
}  # fmt: skip

MAX_ENCOUNTERS = 6
MAX_STAY_DAYS = 20
MAX_MEDICATIONS = 40
MAX_PRIOR_ADMISSIONS = 10
READMISSION_WINDOW_DAYS = 30
# Chance that a patient who was not readmitted still comes back later, and the mean gap (days).
RETURN_PROBABILITY = 0.9
RETURN_MEAN_GAP_DAYS = 160.0
# Each further stay makes yet another planned return a little less likely (few hit the cap).
RETURN_DECAY = 0.75
PHYSICIANS_PER_DEPARTMENT = 4
MAX_NOTE_SENTENCES = 3
# Share of stays in which a patient's known social risk is noticed and charted.
RISK_DOCUMENTED_RATE = 0.7

CLINICAL_TEMPLATES = {
    "I50.9": (
        "Pt admitted with CHF exacerbation, started on IV furosemide.",
        "Volume overloaded on arrival, BNP 1840; diuresing well on IV Lasix.",
        "Echo shows EF 30%, GDMT titrated, 2g Na diet reinforced.",
    ),
    "I21.4": (
        "NSTEMI, troponin peaked at 2.1; cath with 90% LAD stenosis, DES placed.",
        "Chest pain resolved on heparin drip, cardiology following for NSTEMI.",
    ),
    "I48.91": ("New-onset AFib with RVR, rate controlled on diltiazem, started apixaban.",),
    "R07.9": (
        "Atypical chest pain, troponins negative x2, stress test unremarkable.",
        "CP r/o ACS in obs, serial troponins negative.",
    ),
    "C34.90": (
        "Known NSCLC, admitted for pain control and dehydration after cycle 3 of chemo.",
        "Lung ca with malignant effusion, s/p thoracentesis 1.2L.",
    ),
    "C50.911": ("Breast ca on adjuvant chemo, admitted with neutropenic fever; cultures pending.",),
    "S72.001A": (
        "Mechanical fall at home, R hip fx; s/p ORIF POD 2, PT working on transfers.",
        "Found on floor by neighbor, femoral neck fx, ortho consulted.",
    ),
    "M17.11": ("Elective R TKA, uncomplicated; ambulating with walker, pain controlled.",),
    "E11.9": (
        "DM2 with poor glycemic control, A1c 10.2; insulin regimen adjusted.",
        "Hyperglycemia to 480 on arrival, no DKA, basal-bolus started.",
    ),
    "A41.9": (
        "Sepsis likely urinary source, on IV ceftriaxone, lactate trending down.",
        "Septic on arrival, 30 ml/kg fluids given, blood cx x2 pending.",
    ),
    "N39.0": ("UTI with acute confusion, improving on antibiotics.",),
    "J44.1": (
        "Hx of COPD, on 2L O2.",
        "COPD exacerbation, treated with nebs, prednisone and azithromycin.",
    ),
    "J18.9": ("CAP on CXR, started on ceftriaxone and azithromycin.",),
    "N18.4": (
        "CKD stage 4, Cr 3.4 from baseline 2.8; nephrology discussing HD access.",
        "Hyperkalemia 6.1 in setting of CKD 4, treated and dietary K restricted.",
    ),
    "N17.9": ("AKI on admission, likely prerenal; Cr improving with IV fluids.",),
    "R55": ("Syncope, telemetry unremarkable, orthostatic on exam.",),
}
# Sentences that put the patient's (and a relative's) identifiers into the note.
IDENTITY_TEMPLATES = (
    "{name} ({mrn}, DOB {dob}) seen and examined.",
    "Pt {name}, DOB {dob}.",
    "Reviewed chart for {mrn}; {name} seen on rounds.",
    "{name} seen on rounds, {relation} {relative} at bedside.",
    "Spoke with {relation} {relative} at {phone} about discharge plan.",
    "Identity confirmed with {name} using DOB {dob} and {mrn}.",
    "{name} can be reached at {phone} for follow-up call.",
    "Discussed plan with {name} and {relation} {relative}.",
)
# Social risk factors written into notes; they raise the readmission logit.
RISK_TEMPLATES = {
    "lives_alone": (
        "Lives alone, limited support at home.",
        "Pt lives alone; {relation} {relative} checks in weekly.",
    ),
    "noncompliant": (
        "Noncompliant with meds per family.",
        "Admits noncompliance with home meds.",
    ),
    "missed_follow_up": (
        "Missed follow-up with {follow_up} after last discharge.",
        "Missed follow-up appointments x2.",
    ),
}
DISPOSITION_TEMPLATES = (
    "Discharged home with home health; follow-up with {follow_up} in 2 weeks.",
    "Discharged to SNF for rehab.",
    "Discharged home in stable condition, {follow_up} follow-up in 1 week.",
    "Discussed with {physician}; discharge planned for tomorrow.",
)


@dataclass
class _Patient:
    """Clean patient facts kept around so encounters and notes stay consistent."""

    patient_id: int
    mrn: str
    first: str
    last: str
    full_name: str
    sex: str
    birth: int
    zip_code: str
    phone: str
    insurance_id: str
    language: str
    relation: str
    relative: str
    frailty: float
    history: int
    home_department: str
    risks: tuple[str, ...]


@dataclass
class _Encounter:
    """One hospital stay; the id is assigned later, in admission order."""

    patient: _Patient
    admit: int
    discharge: int
    department: str
    diagnosis: str
    medications: int
    prior: int
    physician: str
    age: float
    concerns: tuple[str, ...]  # the patient's social risks documented during this stay
    readmitted: int = 0
    notes: str = ""
    encounter_id: int = 0


# --------------------------------------------------------------------------------------------
# Patients
# --------------------------------------------------------------------------------------------


def _first_name(rng: random.Random, culture: str, sex: str) -> str:
    """A first name matching the person's sex (either list for X)."""
    _, female, male, _ = CULTURE_DETAILS[culture]
    if sex == "X":
        sex = "F" if rng.random() < 0.5 else "M"
    return pick(rng, female if sex == "F" else male)


def _phone(rng: random.Random, area: str) -> str:
    """US number in the fictional 555-01xx range, in one of two common renderings."""
    line = f"555-01{rng.randrange(100):02d}"
    if weighted(rng, PHONE_STYLES) == "parens":
        return f"({area}) {line}"
    return f"+1 {area}-{line}"


def _birth(rng: random.Random) -> int:
    """Birth day for an inpatient population, which skews old (18 to 99 at the reference)."""
    age = min(99.0, max(18.0, rng.gauss(63.0, 17.0)))
    return REFERENCE_DATE.toordinal() - int(age * 365.25) - rng.randrange(365)


def _risk_flags(rng: random.Random, age: float, frailty: float) -> tuple[str, ...]:
    """Social risk factors; living alone gets likelier with age, the rest with frailty."""
    flags = []
    if rng.random() < 0.12 + 0.004 * max(0.0, age - 50.0):
        flags.append("lives_alone")
    if rng.random() < 0.13 * math.exp(0.35 * frailty):
        flags.append("noncompliant")
    if rng.random() < 0.11 * math.exp(0.35 * frailty):
        flags.append("missed_follow_up")
    return tuple(flags)


def _make_patient(rng: random.Random, patient_id: int, mrn: int) -> _Patient:
    """Draw one patient's identity, relative, latent frailty and social risk."""
    culture = weighted(rng, CULTURE_WEIGHTS)
    native_share, _, _, lasts = CULTURE_DETAILS[culture]
    sex = weighted(rng, SEXES)
    first, last = _first_name(rng, culture, sex), pick(rng, lasts)
    full_name = f"{first} {last}"
    if rng.random() < ALL_CAPS_RATE:
        full_name = full_name.upper()
    birth = _birth(rng)
    age = (REFERENCE_DATE.toordinal() - birth) / 365.25
    area, zip_prefix = weighted(rng, US_AREAS)
    payer = weighted(rng, PAYERS_65_PLUS if age >= 65 else PAYERS_UNDER_65)
    relation, relation_sex = pick(rng, RELATIONS)
    relative_last = last if rng.random() < 0.75 else pick(rng, lasts)
    relative_first = _first_name(rng, culture, relation_sex)
    while relative_first == first:  # a relative sharing the patient's name reads as a typo
        relative_first = _first_name(rng, culture, relation_sex)
    frailty = rng.gauss(0.0, 1.0)
    return _Patient(
        patient_id=patient_id,
        mrn=f"MRN-{mrn:07d}",
        first=first,
        last=last,
        full_name=full_name,
        sex=sex,
        birth=birth,
        zip_code=f"{zip_prefix}{rng.randrange(100):02d}",
        phone=_phone(rng, area),
        insurance_id=f"INS-{payer}-{rng.randrange(100000, 1000000)}",
        language=culture if rng.random() < native_share else "English",
        relation=relation,
        relative=f"{relative_first} {relative_last}",
        frailty=frailty,
        history=poisson(rng, 0.8 * math.exp(0.6 * frailty)),
        home_department=weighted(rng, DEPARTMENTS),
        risks=_risk_flags(rng, age, frailty),
    )


def _build_patients(seed: int, count: int) -> list[_Patient]:
    """All clean patients; MRNs are unique 7-digit numbers in random order."""
    rng = stream_rng(seed, "health-patients")
    mrns = rng.sample(range(1, 10**7), count)
    return [_make_patient(rng, FIRST_PATIENT_ID + i, mrns[i]) for i in range(count)]


def _physicians(seed: int) -> dict[str, tuple[str, ...]]:
    """A small roster of attendings per department, as "Dr. First Last"."""
    rng = stream_rng(seed, "health-physicians")
    taken: set[str] = set()
    roster: dict[str, tuple[str, ...]] = {}
    for department, _ in DEPARTMENTS:
        names: list[str] = []
        while len(names) < PHYSICIANS_PER_DEPARTMENT:
            culture = weighted(rng, CULTURE_WEIGHTS)
            name = f"Dr. {_first_name(rng, culture, 'X')} {pick(rng, CULTURE_DETAILS[culture][3])}"
            if name not in taken:
                taken.add(name)
                names.append(name)
        roster[department] = tuple(names)
    return roster


# --------------------------------------------------------------------------------------------
# Encounters and readmission
# --------------------------------------------------------------------------------------------


def _readmission_probability(encounter: _Encounter) -> float:
    """Logistic model over history, stay, medications, age, ward, diagnosis and social risk."""
    patient = encounter.patient
    logit = (
        READMIT_INTERCEPT
        + READMIT_PER_PRIOR * encounter.prior
        + READMIT_PER_STAY_DAY * (encounter.discharge - encounter.admit)
        + READMIT_PER_MEDICATION * encounter.medications
        + READMIT_PER_AGE_YEAR * (encounter.age - READMIT_AGE_CENTRE)
        + READMIT_PER_FRAILTY * patient.frailty
        + READMIT_PER_RISK_FLAG * len(encounter.concerns)
        + READMIT_DEPARTMENT[encounter.department]
        + READMIT_DIAGNOSIS.get(encounter.diagnosis, 0.0)
    )
    return 1.0 / (1.0 + math.exp(-logit))


def _stay(
    rng: random.Random,
    patient: _Patient,
    admit: int,
    index: int,
    roster: dict[str, tuple[str, ...]],
) -> _Encounter:
    """One stay: ward (usually the patient's usual one), diagnosis, length and medications."""
    department = patient.home_department
    if rng.random() < 0.4:
        department = weighted(rng, DEPARTMENTS)
    diagnosis = weighted(rng, DEPARTMENT_DIAGNOSES[department])
    typical = DIAGNOSIS_STAY[diagnosis] * math.exp(0.15 * patient.frailty)
    days = int(typical * rng.lognormvariate(0.0, 0.55))
    if department == "emergency":  # ED observation stays rarely pass two midnights
        days = min(days, 2)
    days = min(MAX_STAY_DAYS, days, ENCOUNTER_END.toordinal() - admit)
    age = (admit - patient.birth) / 365.25
    medications = round(
        rng.gauss(4.0, 3.0)
        + 0.1 * max(0.0, age - 40.0)
        + 2.5 * patient.frailty
        + DIAGNOSIS_MEDICATIONS.get(diagnosis, 0.0)
    )
    return _Encounter(
        patient=patient,
        admit=admit,
        discharge=admit + days,
        department=department,
        diagnosis=diagnosis,
        medications=min(MAX_MEDICATIONS, max(0, medications)),
        prior=min(MAX_PRIOR_ADMISSIONS, patient.history + index),
        physician=pick(rng, roster[department]),
        age=age,
        concerns=tuple(flag for flag in patient.risks if rng.random() < RISK_DOCUMENTED_RATE),
    )


def _timeline(
    rng: random.Random, patient: _Patient, roster: dict[str, tuple[str, ...]]
) -> list[_Encounter]:
    """Stays in date order; a readmitted stay is followed by an admission within 30 days."""
    start, end = ENCOUNTER_START.toordinal(), ENCOUNTER_END.toordinal()
    # Skewed early (minimum of two uniforms) so most patients have room for return visits.
    span = end - READMISSION_WINDOW_DAYS - start
    admit = start + int(min(rng.random(), rng.random()) * span)
    encounters: list[_Encounter] = []
    while True:
        encounter = _stay(rng, patient, admit, len(encounters), roster)
        encounter.readmitted = int(rng.random() < _readmission_probability(encounter))
        encounters.append(encounter)
        if encounter.readmitted:
            gap = int(rng.triangular(1, READMISSION_WINDOW_DAYS + 1, 4))
        elif rng.random() < (
            RETURN_PROBABILITY * RETURN_DECAY ** len(encounters) * math.exp(0.3 * patient.frailty)
        ):
            gap = READMISSION_WINDOW_DAYS + 1 + int(rng.expovariate(1.0 / RETURN_MEAN_GAP_DAYS))
        else:
            break
        admit = encounter.discharge + gap
        # A readmission past the cut-off or the cap happened elsewhere: the label still holds.
        if admit > end or len(encounters) >= MAX_ENCOUNTERS:
            break
    return encounters


# --------------------------------------------------------------------------------------------
# Clinical notes
# --------------------------------------------------------------------------------------------


def _note_name(rng: random.Random, patient: _Patient) -> str:
    """How a clinician refers to the patient: full name, first name or title and surname."""
    full = f"{patient.first} {patient.last}"
    title = {"F": "Ms.", "M": "Mr."}.get(patient.sex)
    titled = f"{title} {patient.last}" if title else full
    return pick(rng, (full, full, titled, titled, patient.first, full.upper()))


def _note_mrn(rng: random.Random, patient: _Patient) -> str:
    """MRNs are typed in several ways, which redaction has to catch."""
    digits = patient.mrn[4:]
    return pick(rng, (patient.mrn, patient.mrn, f"MRN {digits}", f"MRN: {digits}"))


def _fill(rng: random.Random, template: str, encounter: _Encounter) -> str:
    """Fill a sentence template with this patient's own PHI and the stay's context."""
    patient = encounter.patient
    return template.format(
        name=_note_name(rng, patient),
        mrn=_note_mrn(rng, patient),
        dob=date_renderings(patient.birth)["iso"],
        phone=patient.phone,
        relation=patient.relation,
        relative=patient.relative,
        follow_up=FOLLOW_UP.get(encounter.department, encounter.department),
        physician=encounter.physician,
    )


def _notes(rng: random.Random, encounter: _Encounter) -> str:
    """1-3 sentences on one line: clinical course, identifiers, social risk and disposition."""
    if rng.random() < EMPTY_NOTES_RATE:
        return ""
    clinical = pick(rng, CLINICAL_TEMPLATES[encounter.diagnosis])
    identity = pick(rng, IDENTITY_TEMPLATES) if rng.random() < 0.75 else None
    risks = [pick(rng, RISK_TEMPLATES[flag]) for flag in encounter.concerns]
    disposition = pick(rng, DISPOSITION_TEMPLATES) if rng.random() < 0.45 else None
    # (importance, charting order, template): keep the three most important, write in order.
    candidates = [(0, 1, clinical)] + [(1 + 2 * i, 2 + i, risk) for i, risk in enumerate(risks)]
    if identity is not None:
        candidates.append((2, 0, identity))
    if disposition is not None:
        candidates.append((9, 9, disposition))
    kept = sorted(sorted(candidates)[:MAX_NOTE_SENTENCES], key=lambda item: item[1])
    return " ".join(_fill(rng, template, encounter) for _, _, template in kept)


# --------------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------------


def _patient_rows(seed: int, patients: list[_Patient]) -> list[list[str]]:
    """Render patients as CSV fields with mixed date formats."""
    rng = stream_rng(seed, "health-patient-format")
    return [
        [
            str(p.patient_id),
            p.mrn,
            p.full_name,
            format_date(rng, p.birth, DATE_FORMATS),
            p.sex,
            p.zip_code,
            p.phone,
            p.insurance_id,
            p.language,
        ]
        for p in patients
    ]


def _build_encounters(seed: int, patients: list[_Patient]) -> list[_Encounter]:
    """Every stay with label and notes; ids follow admission order like an EHR export."""
    behaviour = stream_rng(seed, "health-encounters")
    writer = stream_rng(seed, "health-notes")
    roster = _physicians(seed)
    encounters = [e for patient in patients for e in _timeline(behaviour, patient, roster)]
    for encounter in encounters:
        encounter.notes = _notes(writer, encounter)
    encounters.sort(key=lambda e: (e.admit, e.patient.patient_id, e.discharge))
    for offset, encounter in enumerate(encounters):
        encounter.encounter_id = FIRST_ENCOUNTER_ID + offset
    return encounters


def _encounter_rows(seed: int, encounters: list[_Encounter]) -> list[list[str]]:
    """Render encounters as CSV fields with mixed date formats."""
    rng = stream_rng(seed, "health-encounter-format")
    return [
        [
            str(e.encounter_id),
            str(e.patient.patient_id),
            format_date(rng, e.admit, DATE_FORMATS),
            format_date(rng, e.discharge, DATE_FORMATS),
            e.department,
            e.diagnosis,
            str(e.discharge - e.admit),
            str(e.medications),
            str(e.prior),
            e.physician,
            e.notes,
            str(e.readmitted),
        ]
        for e in encounters
    ]


# --------------------------------------------------------------------------------------------
# Dirt
# --------------------------------------------------------------------------------------------


def _ocr_typo(rng: random.Random, value: str) -> str:
    """Turn an id into an OCR-style typo: a zero read as O, a one as l, or a five as S."""
    for digit, letter in (("0", "O"), ("1", "l"), ("5", "S")):
        positions = [i for i, ch in enumerate(value) if ch == digit]
        if positions:
            i = pick(rng, positions)
            return value[:i] + letter + value[i + 1 :]
    return value + "?"


def _malformed_patient(
    rng: random.Random, template: list[str], kind: str, new_id: int
) -> list[str]:
    """A broken patient line; it gets an unused id so clean ids stay unique."""
    row = list(template)
    row[0] = str(new_id)
    if kind == "extra_field":  # "Last, First" written without quotes splits the name
        first, _, last = (row[2].strip() or "Anna Nowak").rpartition(" ")
        row[2:3] = [last, f" {first or 'Anna'}"]
    elif kind == "missing_field":  # the phone column was dropped by the exporter
        del row[6]
    else:  # bad_patient_id
        row[0] = _ocr_typo(rng, row[0])
    return row


def _malformed_encounter(
    rng: random.Random, template: list[str], kind: str, new_id: int
) -> list[str]:
    """A broken encounter line; it gets an unused id so clean ids stay unique."""
    row = list(template)
    row[0] = str(new_id)
    stay = row[6].strip() or str(rng.randrange(1, 8))
    if kind == "extra_field":  # a second diagnosis appended with an unquoted comma
        row[5:6] = [row[5] or "I10", pick(rng, ("I10", "E78.5", "Z79.4", "F17.210"))]
    elif kind == "missing_field":  # the attending physician column was dropped
        del row[9]
    elif kind == "stay_text":
        row[6] = pick(rng, (f"{stay} days", f"{stay}d", f"~{stay}"))
    elif kind == "medications_text":
        row[7] = pick(rng, ("many", "unknown", "see MAR"))
    else:  # bad_patient_id
        row[1] = _ocr_typo(rng, row[1])
    return row


PATIENT_MALFORMED_KINDS = ("extra_field", "missing_field", "bad_patient_id")
ENCOUNTER_MALFORMED_KINDS = (
    "extra_field",
    "missing_field",
    "stay_text",
    "medications_text",
    "bad_patient_id",
)


PATIENTS = TableShape(
    PATIENT_COLUMNS,
    PATIENT_PROTECTED,
    PATIENT_NUMERIC,
    PATIENT_MALFORMED_KINDS,
    FIRST_PATIENT_ID,
    _malformed_patient,
)
ENCOUNTERS = TableShape(
    ENCOUNTER_COLUMNS,
    ENCOUNTER_PROTECTED,
    ENCOUNTER_NUMERIC,
    ENCOUNTER_MALFORMED_KINDS,
    FIRST_ENCOUNTER_ID,
    _malformed_encounter,
)


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def generate(patients: int, seed: int = DEFAULT_SEED) -> dict[str, str]:
    """Return {"patients": csv_text, "encounters": csv_text}."""
    if patients < 0:
        raise ValueError(f"patients must be >= 0, got {patients}")
    clean = _build_patients(seed, patients)
    encounters = _build_encounters(seed, clean)
    patient_rows = _patient_rows(seed, clean)
    encounter_rows = _encounter_rows(seed, encounters)
    guaranteed = patients >= DIRT_GUARANTEE_MIN_PATIENTS

    return {
        "patients": dirty_csv(
            stream_rng(seed, "health-patient-dirt"), patient_rows, PATIENTS, DIRT, guaranteed
        ),
        "encounters": dirty_csv(
            stream_rng(seed, "health-encounter-dirt"), encounter_rows, ENCOUNTERS, DIRT, guaranteed
        ),
    }


def write_sample(out_dir: Path, patients: int, seed: int = DEFAULT_SEED) -> dict[str, Path]:
    """Write patients.csv and encounters.csv into out_dir (created if missing); return paths."""
    return write_csv_files(out_dir, generate(patients, seed))
