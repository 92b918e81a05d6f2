"""What old-release codes mean in the canonical frame, on tiny hand-written files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from ctdc_risk.data.load import load_dataset
from ctdc_risk.data.releases import GLOBAL_2017_2021
from ctdc_risk.errors import CtdcRiskError, DataValueError

Writer = Callable[..., Path]

MEANS_COLUMNS = [raw for raw, name in GLOBAL_2017_2021.flags.items() if name.startswith("moc_")]
RELATION_COLUMNS = [
    "recruiterRelationIntimatePartner",
    "recruiterRelationFriend",
    "recruiterRelationFamily",
    "recruiterRelationOther",
]
RELATION_FLAGS = ["recruiter_intimate_partner", "recruiter_friend", "recruiter_family"]
RELATION_FLAGS.append("recruiter_other")


def _state(value: object) -> bool | None:
    """Three-state flag value as True / False / None (unknown)."""
    return None if pd.isna(value) else bool(value)


def _states(series: pd.Series) -> list[bool | None]:
    return [_state(v) for v in series]


def _relations(**values: str) -> dict[str, str]:
    """All four relation flags set to ``default`` unless named (raw column -> text)."""
    default = values.pop("default", "-99")
    row = dict.fromkeys(RELATION_COLUMNS, default)
    row.update(values)
    return row


def test_minus_99_is_unknown_never_false(write_old_release: Writer) -> None:
    raw = (
        "isAbduction",
        "isForcedMarriage",
        "meansOfControlThreats",
        "meansOfControlFalsePromises",
    )
    rows = [dict.fromkeys(raw, code) for code in ("-99", "0", "1")]
    frame = load_dataset(write_old_release(rows)).frame
    for column in (
        "is_abduction",
        "exploit_forced_marriage",
        "moc_threats",
        "moc_false_promises",
        "means_false_promises",
    ):
        assert _states(frame[column]) == [None, False, True], column
    assert str(frame["is_abduction"].dtype) == "boolean"


def test_missing_text_codes_are_unknown(write_old_release: Writer) -> None:
    rows = [{"gender": "-99", "ageBroad": "-99", "majorityStatus": "Unknown", "Datasource": ""}]
    frame = load_dataset(write_old_release(rows)).frame
    for column in ("gender", "age_band", "majority_status", "datasource", "is_child"):
        assert pd.isna(frame[column].iloc[0]), column


def test_means_not_specified_turns_recorded_zeros_into_unknown(write_old_release: Writer) -> None:
    zeros = dict.fromkeys(MEANS_COLUMNS, "0")
    rows = [
        {**zeros, "meansOfControlNotSpecified": "1", "meansOfControlThreats": "1"},
        {**zeros, "meansOfControlNotSpecified": "0"},
        {**zeros, "meansOfControlNotSpecified": "-99"},
    ]
    frame = load_dataset(write_old_release(rows)).frame
    assert _states(frame["moc_debt_bondage"]) == [None, False, False]
    assert _states(frame["moc_false_promises"]) == [None, False, False]
    assert _states(frame["moc_threats"]) == [True, False, False]  # a recorded yes stays yes
    assert _states(frame["means_debt_bondage_earnings"]) == [None, False, False]
    assert _states(frame["means_threats"]) == [True, False, False]


def test_recruiter_unknown_makes_relation_flags_unknown(write_old_release: Writer) -> None:
    rows = [
        {**_relations(default="0"), "recruiterRelationUnknown": "1"},
        {**_relations(default="0"), "recruiterRelationUnknown": "0"},
    ]
    frame = load_dataset(write_old_release(rows)).frame
    for column in RELATION_FLAGS:
        assert _states(frame[column]) == [None, False], column
    assert _states(frame["recruiter_known"]) == [False, False]


def test_recruiter_text_used_only_when_all_relation_flags_are_missing(
    write_old_release: Writer,
) -> None:
    family_friend = "Family/Relative;Friend/Acquaintance"
    rows = [
        # 0: all flags -99 -> the text decides.
        {**_relations(), "RecruiterRelationship": family_friend},
        # 1: flags recorded -> the text is ignored, even where it disagrees.
        {**_relations(default="0", recruiterRelationOther="1"), "RecruiterRelationship": "Family"},
        # 2: one flag recorded (a no), the rest -99 -> flags are not all missing: no fallback.
        {**_relations(recruiterRelationFriend="0"), "RecruiterRelationship": "Family/Relative"},
        # 3: all -99 and the text says not specified -> still unknown.
        {**_relations(), "RecruiterRelationship": "Not Specified"},
    ]
    dataset = load_dataset(write_old_release(rows))
    frame = dataset.frame
    assert dataset.report.recruiter_from_text == 1
    assert _states(frame["recruiter_family"]) == [True, False, None, None]
    assert _states(frame["recruiter_friend"]) == [True, False, False, None]
    assert _states(frame["recruiter_intimate_partner"]) == [False, False, None, None]
    assert _states(frame["recruiter_other"]) == [False, True, None, None]
    assert _states(frame["recruiter_known"]) == [True, True, False, False]


def test_recruiter_text_not_used_when_flags_were_recorded_zero(write_old_release: Writer) -> None:
    rows = [
        {
            **_relations(default="0"),
            "recruiterRelationUnknown": "1",
            "RecruiterRelationship": "Family/Relative",
        }
    ]
    dataset = load_dataset(write_old_release(rows))
    assert dataset.report.recruiter_from_text == 0
    assert _states(dataset.frame["recruiter_family"]) == [None]


def test_sex_and_labour_sets_both_exploitation_types(write_old_release: Writer) -> None:
    rows = [
        {"isSexAndLabour": "1", "isSexualExploit": "0", "isForcedLabour": "0"},
        {"isSexAndLabour": "0", "isSexualExploit": "1", "isForcedLabour": "0"},
        {"isSexAndLabour": "0", "isSexualExploit": "0", "isForcedLabour": "0"},
    ]
    frame = load_dataset(write_old_release(rows)).frame
    assert _states(frame["exploit_sexual"]) == [True, True, False]
    assert _states(frame["exploit_forced_labour"]) == [True, False, False]


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        pytest.param(("1", "-99", "0"), True, id="any_yes_is_yes"),
        pytest.param(("0", "0", "0"), False, id="all_no_is_no"),
        pytest.param(("0", "-99", "0"), None, id="no_and_unknown_is_unknown"),
        pytest.param(("-99", "-99", "-99"), None, id="all_unknown_is_unknown"),
    ],
)
def test_merged_means_group(
    write_old_release: Writer, members: tuple[str, str, str], expected: bool | None
) -> None:
    raw = (
        "meansOfControlDebtBondage",
        "meansOfControlTakesEarnings",
        "meansOfControlRestrictsFinancialAccess",
    )
    frame = load_dataset(write_old_release([dict(zip(raw, members, strict=True))])).frame
    assert _state(frame["means_debt_bondage_earnings"].iloc[0]) is expected


def test_merged_sector_group(write_old_release: Writer) -> None:
    rows = [
        {"typeOfLabourAgriculture": "0", "typeOfLabourAquafarming": "1"},
        {"typeOfLabourAgriculture": "0", "typeOfLabourAquafarming": "0"},
        {"typeOfLabourAgriculture": "0", "typeOfLabourAquafarming": "-99"},
    ]
    frame = load_dataset(write_old_release(rows)).frame
    assert _states(frame["sector_agriculture"]) == [True, False, None]


def test_child_status_sources_in_order(write_old_release: Writer) -> None:
    rows = [
        {"ageBroad": "9--17", "majorityStatus": "-99", "majorityStatusAtExploit": "Adult"},
        {"ageBroad": "-99", "majorityStatus": "Minor", "majorityStatusAtExploit": "Adult"},
        {"ageBroad": "-99", "majorityStatus": "Adult", "majorityStatusAtExploit": "Minor"},
        {"ageBroad": "-99", "majorityStatus": "-99", "majorityStatusAtExploit": "Minor"},
        {"ageBroad": "-99", "majorityStatus": "-99", "majorityStatusAtExploit": "-99"},
        {"ageBroad": "24--26", "majorityStatus": "-99", "majorityStatusAtExploit": "Minor"},
    ]
    dataset = load_dataset(write_old_release(rows))
    frame = dataset.frame
    assert _states(frame["is_child"]) == [True, True, False, True, None, False]
    sources = [None if pd.isna(v) else v for v in frame["child_status_source"]]
    assert sources == [
        "age_band",
        "majority_status",
        "majority_status",
        "majority_status_at_exploit",
        None,
        "age_band",
    ]
    assert dataset.report.child_status_rule == {
        "age_band": 2,
        "majority_status": 2,
        "majority_status_at_exploit": 1,
        "undetermined": 1,
    }


def test_minor_aged_30_to_38_is_an_inconsistency(write_old_release: Writer) -> None:
    rows = [
        {"ageBroad": "30--38", "majorityStatus": "Minor"},
        {"ageBroad": "30--38", "majorityStatus": "Adult"},
        {"ageBroad": "9--17", "majorityStatus": "Minor"},
    ]
    dataset = load_dataset(write_old_release(rows))
    assert dataset.report.inconsistencies == {"majority_status contradicts age_band": 1}
    # The age band decides.
    assert _states(dataset.frame["is_child"]) == [False, False, True]


def test_cross_border_unknown_when_either_country_is(write_old_release: Writer) -> None:
    rows = [
        {"citizenship": "UA", "CountryOfExploitation": "RU"},
        {"citizenship": "UA", "CountryOfExploitation": "UA"},
        {"citizenship": "00", "CountryOfExploitation": "RU"},
        {"citizenship": "UA", "CountryOfExploitation": "-99"},
        {"citizenship": "Atlantis", "CountryOfExploitation": "RU"},
        {"citizenship": "NA", "CountryOfExploitation": "ZA"},
    ]
    frame = load_dataset(write_old_release(rows)).frame
    assert _states(frame["cross_border"]) == [True, False, None, None, None, True]


def test_latest_year_is_honoured(write_old_release: Writer) -> None:
    path = write_old_release([{"yearOfRegistration": "2018"}])
    with pytest.raises(DataValueError, match="yearOfRegistration"):
        load_dataset(path, latest_year=2016)


def test_line_numbers_count_line_breaks_inside_quoted_cells(write_old_release: Writer) -> None:
    path = write_old_release(
        [{"RecruiterRelationship": "Family/Relative;\nFriend/Acquaintance"}, {"ageBroad": "old"}]
    )
    bad_line = next(
        i for i, line in enumerate(path.read_text().splitlines(), start=1) if ",old," in line
    )
    assert bad_line == 4
    with pytest.raises(DataValueError, match=r"\(lines 4\)"):
        load_dataset(path)


def test_file_with_only_blank_rows_is_refused(write_old_release: Writer) -> None:
    path = write_old_release([])
    header = path.read_text(encoding="utf-8")
    path.write_text(header + "," * header.count(",") + "\n", encoding="utf-8")
    with pytest.raises(CtdcRiskError, match=r"no data rows|blank"):
        load_dataset(path)
