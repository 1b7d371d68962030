"""The JSON Schemas of the --json documents (toolchain/uniforge/api/schemas/): each is valid JSON Schema and able to
refuse a document, each is one docs/json.md names, and `port list --json` (which needs no build) follows its own.
tests/integration/test_json.py checks the other commands' real output against theirs."""
import json
import re
from pathlib import Path

import jsonschema
import pytest

import uniforge
from uniforge.api.schema import DOCUMENTS, VERSION, schema_file
from uniforge.testing import uniforge as cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_each_schema_is_valid_and_can_refuse(name):
    schema = json.loads(schema_file(name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"schema": VERSION}, schema)        # every document has required keys
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({k: None for k in schema["required"]} | {"schema": 2}, schema)


def test_every_schema_file_is_a_document_and_docs_json_names_each():
    files = {p.stem for p in schema_file("run").parent.glob("*.json")}
    assert files == set(DOCUMENTS)
    # A row of docs/json.md's table: | `uniforge COMMAND --json` | `SCHEMA` | what it is |
    named = set(re.findall(r"^\| `uniforge [^`]+` \| `([a-z-]+)` \|", (ROOT / "docs/json.md").read_text(), re.M))
    assert named == set(DOCUMENTS)


def test_port_list_follows_its_schema():
    listed = json.loads(cli("port", "list", "--json", check=True).stdout)
    jsonschema.validate(listed, json.loads(schema_file("port-list").read_text()))
    assert listed["schema"] == VERSION
    assert listed["ports"] == [vars(p) for p in uniforge.ports()] and listed["ports"]
