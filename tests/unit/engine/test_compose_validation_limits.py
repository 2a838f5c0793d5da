"""Compose validation against hostile files: deep nesting, huge numbers, foreign YAML tags,
aliases that multiply the work. Each becomes a validation error with a line and a
message, never an exception (the timing budget itself is measured by the
``compose_validation`` benchmark, not here)."""

from __future__ import annotations

import pytest

from windflow_desktop.domain.compose import MAX_ISSUES
from windflow_desktop.engine.compose_validation import MAX_VARIABLE_USES, validate_compose


def _aliased_scalar(uses: int, aliases: int) -> str:
    """A 60 KB file: one scalar with ``uses`` times ``$A``, aliased ``aliases`` times."""
    return (f'x-a: &a "{"$A " * uses}"\n'
            "services:\n  web:\n    image: a\n"
            f"    command: [{', '.join(['*a'] * aliases)}]\n")


@pytest.mark.parametrize("text", ["[" * 10_000, "[" * 5_000, "a: " + "{b: " * 3_000])
def test_deep_nesting_is_an_error_with_a_line_not_a_recursion_error(text: str) -> None:
    report = validate_compose(text)
    assert not report.ok
    assert "nest" in report.errors[0].message
    assert report.errors[0].line == 1 and report.errors[0].column > 1


def test_nesting_through_aliases_counts_once_expanded() -> None:
    """An alias of a 40-deep anchor written 40 deep is 80 deep: over the cap of 64."""
    deep = "[" * 40 + "x" + "]" * 40
    text = (f"x-a: &a {deep}\nservices:\n  web:\n    image: a\n"
            f"    command: {'[' * 35}*a{']' * 35}\n")
    report = validate_compose(text)
    assert not report.ok and "nest" in report.errors[0].message, report.issues
    assert report.errors[0].line == 5
    assert validate_compose(f"x-a: &a {deep}\nservices:\n  web:\n    image: a\n"
                            "    command: [*a]\n").ok  # 41 + 3 levels: fine


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system", "!!python/name:os.system",
                                 "!custom", "!<tag:example.com,2000:x>"])
def test_unknown_tags_are_refused_with_their_place(tag: str) -> None:
    text = f"services:\n  web:\n    image: a\n    command: {tag} ['id']\n"
    report = validate_compose(text)
    assert not report.ok
    assert any("tag" in i.message and i.line == 4 for i in report.errors), report.issues


def test_compose_own_tags_and_plain_values_pass() -> None:
    text = ("services:\n  web:\n    image: a\n    ports: !reset []\n"
            "    environment: !override {A: '1'}\n    labels: {n: !!str 5}\n")
    assert validate_compose(text).ok


def test_a_huge_integer_is_only_text_to_the_validator() -> None:
    text = f"services:\n  web:\n    image: a\n    labels:\n      number: {'9' * 5000}\n"
    assert validate_compose(text).ok


def test_aliases_do_not_multiply_variable_uses() -> None:
    report = validate_compose(_aliased_scalar(1_000, 40))  # within the expanded budget
    assert report.errors[0].message == "the variable A is used but not declared in the " \
        "variables: declare it (with a default there if it needs one)"
    assert len(report.variables) == 1_000  # the aliased scalar was scanned once
    report = validate_compose(_aliased_scalar(20_000, 20))
    assert len(report.variables) == MAX_VARIABLE_USES
    assert [i.message for i in report.errors] == [
        f"the file uses variables more than {MAX_VARIABLE_USES} times"]


def test_issues_are_capped_with_a_count_of_the_rest() -> None:
    text = "services:\n  web:\n    image: a\n    environment:\n" + "".join(
        f"      V{i}: ${{V{i}}}\n" for i in range(1_000))
    report = validate_compose(text)
    assert len(report.issues) == MAX_ISSUES + 1
    assert report.issues[-1].message == f"… and {1_000 - MAX_ISSUES} more issues not shown"
    assert report.issues[-1].severity == "error"


def test_aliases_that_expand_past_the_budget_are_refused() -> None:
    report = validate_compose(_aliased_scalar(20_000, 40))  # 60 KB expanding to 2.4 MB
    assert not report.ok
    assert "after expanding aliases" in report.errors[0].message
    assert report.errors[0].line == 5


def test_a_recursive_alias_is_refused() -> None:
    report = validate_compose("x: &a [1, *a]\nservices: {web: {image: a}}\n")
    assert not report.ok and report.errors[0].line == 1
