"""The declarative config validator: keys, types, ranges, options, nesting, null and ???."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ctdc_risk.errors import ConfigError
from ctdc_risk.validate import (
    AnyOf,
    Constraints,
    Interval,
    Is,
    ListOf,
    MappingOf,
    Nested,
    Options,
    OrNone,
    Satisfies,
    Text,
    check_fields,
    check_mapping,
    closest,
    constraints_of,
    from_mapping,
)


@dataclass(frozen=True)
class Leaf:
    _constraints: ClassVar[Constraints] = {"depth": Interval(int, 1, 6, why="Keep it short.")}
    depth: int = 3
    weight: float = 1.0
    on: bool = True


@dataclass(frozen=True)
class Tree:
    _constraints: ClassVar[Constraints] = {
        "method": Options(("holm", "bh")),
        "leaves": ListOf(Nested(Leaf)),
        "alpha": Interval(float, 0, 0.5, closed="neither"),
    }
    name: str
    method: str = "holm"
    leaf: Leaf = field(default_factory=Leaf)
    leaves: tuple[Leaf, ...] = ()
    tags: tuple[str, ...] = ()
    levels: dict[str, str] = field(default_factory=dict)
    path: str | None = None
    sheet: str | int | None = None
    alpha: float = 0.05

    def __post_init__(self) -> None:
        check_fields(self, "tree")


def _error(data: object, key: str = "study.tree") -> str:
    with pytest.raises(ConfigError) as info:
        from_mapping(Tree, data, key)
    return str(info.value)


def test_builds_the_spec_with_defaults_and_converted_lists():
    tree = from_mapping(Tree, {"name": "t", "tags": ["a", "b"], "leaf": {"depth": 2}}, "tree")
    assert tree == Tree("t", tags=("a", "b"), leaf=Leaf(depth=2))
    assert from_mapping(Tree, {"name": "t"}, "tree", defaults={"method": "bh"}).method == "bh"
    assert from_mapping(Tree, {}, "tree", defaults={"name": "x"}).name == "x"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"name": "t", "methd": "bh"},
            "study.tree: unknown key 'methd'; did you mean study.tree.method? (allowed keys: ",
        ),
        ({"name": "t", "zzz": 1}, "study.tree: unknown key 'zzz'; allowed keys are alpha, leaf,"),
        (
            {"name": "t", "leaf": {"dept": 2}},
            "study.tree.leaf: unknown key 'dept'; did you mean study.tree.leaf.depth?",
        ),
        (
            {"name": "t", "leaves": [{"depth": 2}, {"depht": 2}]},
            "study.tree.leaves[1]: unknown key 'depht'; did you mean study.tree.leaves[1].depth?",
        ),
    ],
)
def test_unknown_keys_name_the_full_key_and_the_nearest_one(data, message):
    assert _error(data).startswith(message)


def test_the_top_level_and_other_words_for_keys():
    with pytest.raises(ConfigError, match=r"^unknown top-level key 'sed'; did you mean seed\?"):
        check_mapping({"sed": 1}, {"seed": Is(int)}, "", word="top-level key")
    with pytest.raises(ConfigError, match=r"^model: unknown setting 'x'; allowed settings are C\."):
        check_mapping({"x": 1}, {"C": Is(float)}, "model", word="setting")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "t", "leaf": {"depth": True}}, "study.tree.leaf.depth must be an integer from 1"),
        ({"name": "t", "leaf": {"depth": 2.0}}, "study.tree.leaf.depth must be an integer from 1"),
        (
            {"name": "t", "leaf": {"weight": False}},
            "study.tree.leaf.weight must be a number; got F",
        ),
        ({"name": "t", "leaf": {"on": 1}}, "study.tree.leaf.on must be true or false; got 1."),
        ({"name": "t", "leaf": {"on": "yes"}}, "study.tree.leaf.on must be true or false; got 'y"),
        ({"name": True}, "study.tree.name must be a text; got True."),
        (
            {"name": "t", "sheet": 1.5},
            "study.tree.sheet must be a text or an integer or null; got 1.5.",
        ),
        ({"name": "t", "levels": {"a": 1}}, "study.tree.levels.a must be a text; got 1."),
        ({"name": "t", "levels": ["a"]}, "study.tree.levels must be a mapping; got ['a']."),
        ({"name": "t", "leaf": 3}, "study.tree.leaf must be a mapping of settings; got 3."),
        ({"name": "t", "tags": "a"}, "study.tree.tags must be a list; got 'a'."),
        ({"name": "t", "tags": ["a", 2]}, "study.tree.tags[1] must be a text; got 2."),
    ],
)
def test_types_follow_the_annotations_and_bool_is_not_a_number(data, message):
    assert _error(data).startswith(message)


def test_a_whole_number_is_a_fine_float():
    assert from_mapping(Tree, {"name": "t", "leaf": {"weight": 2}}, "t").leaf.weight == 2


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "study.tree.leaf.depth must be at least 1 (an integer from 1 to 6); got 0. Keep it"),
        (7, "study.tree.leaf.depth must be at most 6 (an integer from 1 to 6); got 7. Keep it"),
    ],
)
def test_intervals_name_the_bound_crossed_and_the_range(value, message):
    assert _error({"name": "t", "leaf": {"depth": value}}).startswith(message)


@pytest.mark.parametrize(
    ("check", "inside", "outside"),
    [
        (Interval(int, 1, 6), [1, 6], [0, 7]),
        (Interval(int, 0, None), [0, 10**9], [-1]),
        (Interval(float, 0, 0.5, closed="neither"), [1e-9, 0.4999], [0, 0.5, -1, math.nan]),
        (Interval(float, 0, 0.5, closed="left"), [0, 0.25], [0.5]),
        (Interval(float, 0, 0.5, closed="right"), [0.5], [0]),
        (Interval(float, 0.5, 1), [0.5, 1, 1.0], [0.49, 1.01]),
    ],
)
def test_interval_edges(check, inside, outside):
    for value in inside:
        assert check(value, "k") == value
    for value in outside:
        with pytest.raises(ConfigError, match=r"^k must be .*; got "):
            check(value, "k")


@pytest.mark.parametrize(
    ("check", "words"),
    [
        (Interval(int, 1, None), "a positive integer"),
        (Interval(int, 0, None), "a non-negative integer"),
        (Interval(int, 2, None), "an integer of at least 2"),
        (Interval(int, 1, 6), "an integer from 1 to 6"),
        (Interval(float, 0.5, 1), "a number from 0.5 to 1"),
        (Interval(float, 0, 0.5, closed="neither"), "a number above 0 and below 0.5"),
        (Interval(float, 0, None, closed="neither"), "a positive number"),
        (Interval(float, 0, None), "a number of at least 0"),
        (ListOf(Is(str), min_len=1, example="A,B"), "a non-empty list like [A,B]"),
        (OrNone(Text(nonempty=True)), "a non-empty text or null"),
        (AnyOf((Is(str), ListOf(Is(str)))), "a text or a list"),
        (Options({"holm", "bh"}), "one of bh, holm"),
        (Options(("a", "b"), "first or second"), "one of a, b (first or second)"),
        (Options(("balanced", None)), "one of balanced, null"),
    ],
)
def test_descriptions_read_as_plain_words(check, words):
    assert check.describe() == words


@given(st.integers(min_value=-50, max_value=50), st.integers(-5, 5), st.integers(0, 10))
def test_an_integer_interval_accepts_exactly_its_range(value, low, width):
    check = Interval(int, low, low + width)
    if low <= value <= low + width:
        assert check(value, "x.y") == value
    else:
        with pytest.raises(ConfigError, match=rf"^x\.y must be .*; got {value}\."):
            check(value, "x.y")


@given(st.text(min_size=1, max_size=12).filter(lambda k: k not in {f.name for f in fields(Tree)}))
def test_any_unknown_key_is_named_with_its_place(name):
    message = _error({"name": "t", "leaf": {"depth": 2}, name: 1}, key="a.b")
    assert message.startswith(f"a.b: unknown key {name!r}; ")
    near = closest(name, [f.name for f in fields(Tree)])
    assert (f"did you mean a.b.{near}?" in message) if near else ("allowed keys are" in message)


@given(st.booleans())
def test_no_integer_or_number_check_takes_a_bool(flag):
    for check in (Is(int), Is(float), Interval(int, 0, 1), Interval(float, 0, 1)):
        with pytest.raises(ConfigError):
            check(flag, "k")
    assert Is(bool)(flag, "k") is flag


def test_options_suggest_the_nearest_and_keep_their_order():
    with pytest.raises(ConfigError) as info:
        from_mapping(Tree, {"name": "t", "method": "hlm"}, "explain")
    assert str(info.value) == "explain.method: 'hlm' is not one of holm, bh; did you mean holm?"
    with pytest.raises(ConfigError, match=r"^k: 'zzz' is not one of holm, bh\.$"):
        Options(("holm", "bh"))("zzz", "k")
    with pytest.raises(ConfigError, match=r"is not one of 0, 1"):
        Options((0, 1))(True, "k")  # True == 1, but a flag is not an option


def test_items_of_a_list_are_named_by_position_unless_the_message_quotes_them():
    with pytest.raises(ConfigError, match=r"^k: 'c' is not one of a, b\.$"):
        ListOf(Options(("a", "b")))(["a", "c"], "k")
    with pytest.raises(ConfigError, match=r"^k\[1\] must be a non-empty text; got ''\.$"):
        ListOf(Text(nonempty=True))(["a", ""], "k")


def test_lists_show_how_to_write_them_on_the_command_line_and_handle_repeats():
    with pytest.raises(ConfigError) as info:
        ListOf(Is(str), example="A,B")("A", "replicate.data")
    assert str(info.value) == (
        "replicate.data must be a list like [A,B]; got 'A'. On the command line: "
        "replicate.data=[A,B]."
    )
    assert ListOf(Is(str), duplicates="drop")(["b", "a", "b"], "k") == ("b", "a")
    with pytest.raises(ConfigError, match=r"^k lists 'b' twice: \['b', 'a', 'b'\]\.$"):
        ListOf(Is(str), duplicates="refuse")(["b", "a", "b"], "k")
    assert ListOf(into=list)((1, 2), "k") == [1, 2]
    with pytest.raises(ConfigError, match="non-empty list"):
        ListOf(min_len=1)([], "k")


def test_text_and_satisfies():
    assert Text(scalars=True)(2024, "k") == "2024"
    assert Text(strip=True)(" reason\n", "k") == "reason"
    with pytest.raises(ConfigError, match="must be a text; got True"):
        Text(scalars=True)(True, "k")
    known = ("age_band", "gender")
    check = Satisfies(known.__contains__, what="a factor", problem="is unknown", near=known)
    assert check("gender", "k") == "gender"
    with pytest.raises(ConfigError, match=r"^k: 'gendr' is unknown; did you mean gender\?$"):
        check("gendr", "k")
    with pytest.raises(ConfigError, match=r"^k must be a factor; got 3\.$"):
        check(3, "k")


def test_null_missing_and_unset():
    assert from_mapping(Tree, {"name": "t", "path": None}, "t").path is None
    assert _error({"name": "t", "path": 3}) == "study.tree.path must be a text or null; got 3."
    assert OrNone(ListOf(Is(str)))(["a"], "k") == ("a",)
    with pytest.raises(ConfigError, match=r"^k\[0\] must be a text; got 1\.$"):
        OrNone(ListOf(Is(str)))([1], "k")
    assert _error({"name": "t", "method": None}).startswith("study.tree.method: None is not one")
    assert _error({"name": "t", "leaf": {"depth": None}}).startswith(
        "study.tree.leaf.depth must be an integer from 1 to 6; got None."
    )
    assert _error({}) == "study.tree.name is missing."
    assert _error({"name": "t", "leaf": {"depth": "???"}}) == (
        "study.tree.leaf.depth is not set. Keep it short."
    )
    assert _error(["name"]) == "study.tree must be a mapping of settings; got ['name']."
    assert MappingOf()({}, "k") == {}


def test_direct_construction_checks_the_declared_constraints():
    with pytest.raises(ConfigError, match=r"^tree\.method: 'x' is not one of holm, bh\.$"):
        Tree("t", method="x")
    Tree(1)  # type: ignore[arg-type]  # annotations only bind what comes from a config


def test_a_constraint_must_name_a_field():
    @dataclass(frozen=True)
    class Wrong:
        _constraints: ClassVar[Constraints] = {"dept": Interval(int, 1, 6)}
        depth: int = 1

    with pytest.raises(TypeError, match="names no field"):
        constraints_of(Wrong)


def test_closest():
    assert closest("nrows", ["n_rows", "seed"]) == "n_rows"
    assert closest("uri", ["tracking_uri", "experiment"]) is None


@pytest.mark.parametrize(
    ("build", "data", "message"),
    [
        ("cohort", {"nme": "x"}, "cohort: unknown key 'nme'; did you mean cohort.name?"),
        ("target", {"name": "x", "outcme": "y"}, "did you mean target.outcome?"),
        ("features", {"phase": []}, "features: unknown key 'phase'; did you mean features.phases?"),
        ("targeting", {"max_dpth": 2}, "did you mean targeting.max_depth?"),
        ("stability", {"nboot": 2}, "did you mean stability.n_boot?"),
        ("features", {"include": ["age_bnd"]}, "'age_bnd' matches no factor; did you mean age_ba"),
        ("target", {"name": "x", "outcome": "recruiter_famly"}, "did you mean recruiter_family?"),
    ],
)
def test_every_converted_spec_suggests_the_nearest_key(build, data, message):
    from ctdc_risk.cohort import CohortSpec
    from ctdc_risk.factors.stability import StabilitySpec
    from ctdc_risk.features import FeatureSetSpec
    from ctdc_risk.target import TargetSpec
    from ctdc_risk.targeting.profiles import TargetingSpec

    specs = {
        "cohort": CohortSpec, "target": TargetSpec, "features": FeatureSetSpec,
        "targeting": TargetingSpec, "stability": StabilitySpec,
    }  # fmt: skip
    with pytest.raises(ConfigError, match=re.escape(message)):
        specs[build].from_mapping(data, key=build)
