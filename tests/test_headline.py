import json

import numpy as np
import pandas as pd
import pytest

from ctdc_risk.data.schema import FlagSemantics
from ctdc_risk.data.synthetic import generate_synthetic
from ctdc_risk.headline import build_headline
from ctdc_risk.report.headline_tables import headline_json, headline_markdown, headline_rows


def _tiny(n_child_known: int, n_child_family: int, n_adult_known: int, n_adult_family: int):
    """A canonical-shaped frame with exactly the given recruiter counts."""
    base = generate_synthetic(1000, seed=0).iloc[:0]
    rows = []
    for is_child, n_known, n_family in (
        (True, n_child_known, n_child_family),
        (False, n_adult_known, n_adult_family),
    ):
        for i in range(n_known):
            rows.append({"is_child": is_child, "family": i < n_family})
    n = len(rows)
    frame = pd.DataFrame({c: base[c].reindex(range(n)) for c in base.columns})
    frame["is_child"] = pd.array([r["is_child"] for r in rows], dtype="boolean")
    frame["gender"] = pd.Categorical(["male"] * n, categories=base["gender"].cat.categories)
    family = np.array([r["family"] for r in rows])
    frame["recruiter_family"] = pd.array(family, dtype="boolean")
    frame["recruiter_other"] = pd.array(~family, dtype="boolean")
    frame["recruiter_known"] = pd.array(np.ones(n, dtype=bool), dtype="boolean")
    return frame


def test_family_shares_match_counts():
    h = build_headline(
        _tiny(100, 41, 200, 18), cohort="all", k=10, flag_semantics=FlagSemantics.THREE_STATE
    )
    assert h.family["children"].n == 100
    assert h.family["children"].n_yes == 41
    assert h.family["children"].share == pytest.approx(0.41)
    assert h.family["adults"].share == pytest.approx(0.09)
    assert h.child_adult_ratio.ratio == pytest.approx(0.41 / 0.09)
    lo, hi = h.child_adult_ratio.ci95
    assert lo < 0.41 / 0.09 < hi


def test_small_cells_are_suppressed_with_secondary_suppression():
    # 7 adults recruited by family (< k): share and count hidden, denominator kept.
    # Children: 95 of 100 -> complement 5 < k: hidden too, or 5 could be recovered.
    h = build_headline(
        _tiny(100, 95, 200, 7), cohort="all", k=10, flag_semantics=FlagSemantics.THREE_STATE
    )
    for group in ("children", "adults"):
        s = h.family[group]
        assert s.n is not None and s.n_yes is None and s.share is None and s.ci95 is None
    assert h.child_adult_ratio.ratio is None
    assert "suppressed" in h.child_adult_ratio.note
    doc = headline_json(h)
    assert doc["adults"] == {
        "n_known_recruiter": 200,
        "n_family": None,
        "share": None,
        "ci95": None,
    }
    assert doc["child_adult_ratio"]["ratio"] is None
    _, rows = headline_rows(h)
    family_rows = [r for r in rows if r[0] == "family recruitment" and r[1] == "adults"]
    assert family_rows[0][4] == "<10"
    md = headline_markdown(h, source="tiny")
    assert "<10" in md and "| 7 |" not in md


def test_json_has_required_keys_and_is_serialisable():
    h = build_headline(
        generate_synthetic(5000, seed=3), cohort="all", k=10,
        flag_semantics=FlagSemantics.THREE_STATE,
    )  # fmt: skip
    doc = headline_json(h)
    for group in ("children", "adults", "boys", "girls"):
        assert set(doc[group]) == {"n_known_recruiter", "n_family", "share", "ci95"}
    assert "child_adult_ratio" in doc
    json.dumps(doc, allow_nan=False)


def test_synthetic_children_recruited_by_family_several_times_adults():
    h = build_headline(
        generate_synthetic(20000, seed=5), cohort="all", k=10,
        flag_semantics=FlagSemantics.THREE_STATE,
    )  # fmt: skip
    assert h.child_adult_ratio.ratio is not None and h.child_adult_ratio.ratio > 4
    assert h.family["boys"].share > h.family["girls"].share
    labels = [r.column for r in h.tables["exploitation type"]]
    assert labels[0] == "exploit_sexual"  # children mostly sexually exploited


def test_positive_only_tables_say_recorded():
    h = build_headline(
        generate_synthetic(2000, seed=1), cohort="all", k=10,
        flag_semantics=FlagSemantics.POSITIVE_ONLY,
    )  # fmt: skip
    assert "not recorded" in headline_markdown(h, source="x")


def test_positive_only_shares_are_of_cases_with_the_item_recorded_each_group_in_its_own_order():
    frame = _tiny(40, 10, 40, 10)
    n = len(frame)
    child = frame["is_child"].to_numpy(dtype=bool)
    blank = pd.array([None] * n, dtype="boolean")
    for column in ("exploit_sexual", "exploit_forced_labour", "exploit_other"):
        frame[column] = blank
    # Children: 30 sexual, 10 forced labour, 0 recorded for nothing else; adults: 12 sexual and
    # 28 forced labour. Half of each group has no exploitation type recorded at all.
    sexual = np.zeros(n, dtype=bool)
    labour = np.zeros(n, dtype=bool)
    child_rows, adult_rows = np.flatnonzero(child), np.flatnonzero(~child)
    sexual[child_rows[:15]] = True
    labour[child_rows[15:20]] = True
    sexual[adult_rows[:6]] = True
    labour[adult_rows[6:20]] = True
    frame["exploit_sexual"] = pd.array(np.where(sexual, True, None), dtype="boolean")
    frame["exploit_forced_labour"] = pd.array(np.where(labour, True, None), dtype="boolean")
    h = build_headline(frame, cohort="all", k=5, flag_semantics=FlagSemantics.POSITIVE_ONLY)
    rows = {r.column: r for r in h.tables["exploitation type"]}
    # 15 of the 20 children with a type recorded, not 15 of all 40 children.
    assert rows["exploit_sexual"].children.n == 20
    assert rows["exploit_sexual"].children.share == pytest.approx(0.75)
    assert rows["exploit_forced_labour"].adults.share == pytest.approx(0.7)
    assert h.top("exploitation type", "children")[0].column == "exploit_sexual"
    assert h.top("exploitation type", "adults")[0].column == "exploit_forced_labour"
    markdown = headline_markdown(h, source="test")
    assert "children (of 20 with it recorded)" in markdown
