"""JSON for the report's frozen dataclasses, derived from their field types.

The dataclass fields, with the constraints written in their annotations, are the one
source of the report's JSON form: pydantic derives ``to_dict``, ``from_dict`` and the
published JSON Schema from them (:func:`json_schema`), so that the three cannot drift
apart. The classes stay plain frozen dataclasses: building one validates nothing and
``dataclasses.replace`` works; only reading a report validates.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from annotated_types import Ge, Interval
from pydantic import ConfigDict, TypeAdapter, ValidationError
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

__all__ = ["Count", "JsonRecord", "OneOf", "ReportFormatError", "Share", "adapter",
           "json_schema"]

# constraints the schema publishes and reading checks
Count = Annotated[int, Ge(0)]
Share = Annotated[float, Interval(ge=0, le=1)]

_Record = TypeVar("_Record", bound="JsonRecord")

#: problems quoted from a failed validation; the rest are counted
_QUOTED_PROBLEMS = 3


class ReportFormatError(ValueError):
    """A run report file cannot be read: wrong version, missing or mistyped field."""


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def adapter(cls: type[Any]) -> TypeAdapter[Any]:
    """The (cached) pydantic adapter of a report class: building one costs milliseconds."""
    found = _ADAPTERS.get(cls)
    if found is None:
        # two threads may both build it: the same adapter either way
        found = _ADAPTERS[cls] = TypeAdapter(cls)
    return found


def _problems(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False)
    quoted = [f"{'.'.join(str(p) for p in e['loc']) or '(top)'}: {e['msg']}"
              for e in errors[:_QUOTED_PROBLEMS]]
    more = len(errors) - len(quoted)
    return "; ".join(quoted) + (f" (and {more} more)" if more else "")


class JsonRecord:
    """Mixin of the report's dataclasses: JSON in and out through their field types."""

    #: a field's docstring is its description in the schema; "constants": a NaN or an
    #: infinity reaches ``json.dumps(allow_nan=False)`` and is refused there, as before,
    #: instead of turning silently into null
    __pydantic_config__ = ConfigDict(use_attribute_docstrings=True,
                                     ser_json_inf_nan="constants")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = adapter(type(self)).dump_python(self, mode="json")
        return data

    @classmethod
    def from_dict(cls: type[_Record], data: Any) -> _Record:
        """Read the JSON form; :class:`ReportFormatError` names each wrong field's path."""
        try:
            record: _Record = adapter(cls).validate_python(data)
        except ValidationError as exc:
            raise ReportFormatError(f"malformed {cls.__name__}: {_problems(exc)}") from None
        return record


class _ReportSchema(GenerateJsonSchema):
    """The published form: no per-field titles (the names say it); the report's own
    records refuse unknown fields (the records of :mod:`pytest_honesty.types` they carry
    allow them, as before); "required" names what a reader needs: the fields without a
    default, not the computed ones (written, but recomputed on reading)."""

    def field_title_should_be_set(self, schema: CoreSchema) -> bool:
        return False

    def dataclass_args_schema(self, schema: core_schema.DataclassArgsSchema) -> JsonSchemaValue:
        json_schema = super().dataclass_args_schema(schema)
        computed = {f["property_name"] for f in schema.get("computed_fields") or ()}
        required = [name for name in json_schema.get("required", ()) if name not in computed]
        if required:
            json_schema["required"] = required
        else:
            json_schema.pop("required", None)
        return json_schema

    def dataclass_schema(self, schema: core_schema.DataclassSchema) -> JsonSchemaValue:
        json_schema = super().dataclass_schema(schema)
        if issubclass(schema["cls"], JsonRecord):
            json_schema["additionalProperties"] = False
        return json_schema


def json_schema(cls: type[JsonRecord]) -> dict[str, Any]:
    """The JSON Schema of what ``cls.to_dict()`` writes (fields with a default may be
    absent: reports written before they existed lack them)."""
    return adapter(cls).json_schema(mode="serialization", schema_generator=_ReportSchema)


class OneOf:
    """``Annotated[str, OneOf("a", "b")]``: a str that must be one of the values,
    checked on reading and written as an enum in the schema."""

    def __init__(self, *values: str) -> None:
        self.values = values

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> CoreSchema:
        return core_schema.literal_schema(list(self.values))
