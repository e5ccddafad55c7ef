"""Every case of Confluent's json-schema-provider test data (transcribed, with its source
commit, in confluent_cases.json): our differ must find the same changes, at the same JSON
pointers, with the same verdict. Where we deliberately differ, DELIBERATE_DIFFERENCES says
so and why, and the test pins what we answer instead.
"""

import json
from collections import Counter
from pathlib import Path

import pytest

from metadata_mgr.compat.changes import strict_is_compatible
from metadata_mgr.compat.diff import diff

DATA = json.loads((Path(__file__).parent / "confluent_cases.json").read_text())
CASES = DATA["cases"]

# (description, source commit) -> what we answer instead, and why.
DELIBERATE_DIFFERENCES = {
    (
        "Detect required array to be changed",
        "f5233444b0c261c7678f30597c2602bba2491afd",
    ): {
        "changes": [
            "REQUIRED_ATTRIBUTE_REMOVED #/required/foo",
            "REQUIRED_ATTRIBUTE_ADDED #/required/bar",
        ],
        "compatible": False,
        "reason": (
            "The update requires 'bar', which the original never required (nor declared): "
            "no document written under the original need have it, and every one without it "
            "fails the update. Confluent only looks at names declared in both schemas' "
            "properties and calls the change compatible; we also check newly required "
            "names that are not declared."
        ),
    },
    (
        "Detect changes to validation criteria in composed schema type",
        "0e928fac7f0368e48df382a32196eb31b965a8ba",
    ): {
        "changes": ["COMBINED_TYPE_EXTENDED #/"],
        "compatible": True,
        "reason": (
            "oneOf[string] -> allOf[string]: a one-element oneOf and a one-element allOf "
            "mean the same. This earlier revision of Confluent's data called it "
            "COMBINED_TYPE_CHANGED; Confluent reversed that later (revision f5233444 'for "
            "singleton' and the combined examples at 10a588d0 expect COMBINED_TYPE_EXTENDED, "
            "compatible). We follow the later revision."
        ),
    },
}


def _reserved(metadata):
    if not metadata:
        return ()
    names = metadata["properties"].get("confluent:reserved", "")
    return [name.strip() for name in names.split(",") if name.strip()]


def _run(case):
    differences = diff(
        case["original_schema"],
        case["update_schema"],
        original_reserved=_reserved(case.get("original_metadata")),
        update_reserved=_reserved(case.get("update_metadata")),
    )
    return Counter(str(d) for d in differences), all(strict_is_compatible(d) for d in differences)


def _case_id(case):
    return f"{case['source_commit'][:8]}:{case['description'].strip()}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_confluent_case_agrees_or_differs_as_documented(case):
    changes, compatible = _run(case)
    deliberate = DELIBERATE_DIFFERENCES.get((case["description"], case["source_commit"]))
    expected = deliberate or case
    assert changes == Counter(expected["changes"])
    assert compatible is expected["compatible"]


def test_confluent_cases_agreement_count():
    agree = sum(
        _run(c) == (Counter(c["changes"]), c["compatible"])
        for c in CASES
        if (c["description"], c["source_commit"]) not in DELIBERATE_DIFFERENCES
    )
    assert len(CASES) == 135
    assert agree == len(CASES) - len(DELIBERATE_DIFFERENCES) == 133


def test_confluent_cases_deliberate_differences_really_differ():
    keys = {(c["description"], c["source_commit"]) for c in CASES}
    for key, ours in DELIBERATE_DIFFERENCES.items():
        assert key in keys
        theirs = next(c for c in CASES if (c["description"], c["source_commit"]) == key)
        assert (Counter(theirs["changes"]), theirs["compatible"]) != (
            Counter(ours["changes"]),
            ours["compatible"],
        )
        assert ours["reason"]


def test_confluent_cases_header_names_source_and_license():
    header = DATA["header"]
    assert header["source_repository"].endswith("confluentinc/schema-registry")
    assert "Confluent Community License" in header["license"]
    assert header["notice"].startswith("This software is made available by Confluent")
