"""Records behave as the dataclasses they replace, for everything tfguard declares with them."""

from __future__ import annotations

import copy
import pickle
import typing
from typing import Optional

import pytest

from tfguard import records
from tfguard.records import FrozenInstanceError, field, record


@record(frozen=True)
class Point:
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    note: Optional[str] = field(default=None, repr=False)


@record
class Bag:
    name: str
    items: list[int] = field(default_factory=list)
    kind: typing.ClassVar[str] = "bag"


@record
class LabelledBag(Bag):
    label: str = ""
    name: str = "unnamed"  # overriding a field keeps its place


def test_fields_take_positional_and_keyword_arguments_with_their_defaults():
    assert Point(1) == Point(x=1, y=0, tags=(), note=None)
    assert Point(1, 2).y == 2
    with pytest.raises(TypeError):
        Point()


def test_a_default_factory_gives_each_record_its_own_value():
    a, b = Bag("a"), Bag("b")
    a.items.append(1)
    assert b.items == [] and a.items == [1]


def test_class_variables_are_not_fields():
    assert [f.name for f in records.fields(Bag)] == ["name", "items"]
    assert Bag("a").kind == "bag"


def test_a_subclass_adds_its_fields_after_its_bases_and_overrides_in_place():
    assert [f.name for f in records.fields(LabelledBag)] == ["name", "items", "label"]
    assert LabelledBag().name == "unnamed"


def test_frozen_records_refuse_assignment_and_hash_by_value():
    p = Point(1, 2)
    with pytest.raises(FrozenInstanceError):
        p.x = 3
    with pytest.raises(AttributeError):
        del p.y
    assert hash(p) == hash(Point(1, 2)) and len({p, Point(1, 2), Point(2, 1)}) == 2


def test_mutable_records_compare_by_value_and_are_not_hashable():
    assert Bag("a", [1]) == Bag("a", [1]) and Bag("a") != Bag("b")
    assert Bag("a") != LabelledBag("a")  # another class is never equal
    with pytest.raises(TypeError):
        hash(Bag("a"))


def test_repr_names_the_fields_shown():
    assert repr(Point(1, note="hidden")) == "Point(x=1, y=0, tags=())"


def test_replace_copies_with_changes_and_asdict_goes_deep():
    p = Point(1, 2, ("a",))
    assert records.replace(p, y=5) == Point(1, 5, ("a",)) and p.y == 2
    nested = Bag("outer", [1])
    assert records.asdict(LabelledBag("x", [2], "l")) == {"name": "x", "items": [2], "label": "l"}
    as_dict = records.asdict(Bag("b", [nested]))  # type: ignore[list-item]
    assert as_dict == {"name": "b", "items": [{"name": "outer", "items": [1]}]}
    as_dict["items"][0]["items"].append(2)
    assert nested.items == [1]


def test_records_pickle_and_copy():
    p = Point(1, 2, ("a",), note="n")
    assert pickle.loads(pickle.dumps(p)) == p and copy.deepcopy(p) == p
    assert records.is_record(p) and records.is_record(Point) and not records.is_record(object())


def test_a_required_field_after_a_defaulted_one_is_refused_at_definition():
    with pytest.raises(TypeError, match="follows a default"):
        @record
        class Wrong:
            a: int = 0
            b: int
