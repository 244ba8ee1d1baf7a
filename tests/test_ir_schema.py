"""metadata.json must validate against the metadata.schema.json shipped beside it: that
schema is the promise CI tools rely on, so it is checked with an independent validator."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from conftest import compile_copy, oracle_projects


@pytest.mark.parametrize("source", oracle_projects(), ids=lambda p: p.name)
def test_metadata_validates_against_its_shipped_schema(source: Path, tmp_path: Path) -> None:
    project, result = compile_copy(source, tmp_path)
    assert result.ok, result.diagnostics
    docs = project / ".run_cache" / "core_docs"
    schema = json.loads((docs / "metadata.schema.json").read_text())
    metadata = json.loads((docs / "metadata.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(metadata)


def test_the_schema_rejects_what_it_should(tmp_path: Path) -> None:
    """The schema is not vacuous: a model without fields or a bad type kind fails."""
    project, result = compile_copy(oracle_projects()[0], tmp_path)
    assert result.ok
    docs = project / ".run_cache" / "core_docs"
    validator = jsonschema.Draft202012Validator(
        json.loads((docs / "metadata.schema.json").read_text())
    )
    metadata = json.loads((docs / "metadata.json").read_text())
    broken_kind = json.loads(json.dumps(metadata))
    broken_kind["models"][0]["fields"][0]["type_info"]["kind"] = "no-such-kind"
    missing_fields = json.loads(json.dumps(metadata))
    del missing_fields["models"][0]["fields"]
    for broken in (broken_kind, missing_fields):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(broken)
