"""CRUD over one Beanie document class, in plain JSON-able data with `id` strings.

The generated API's routers and the generated CLI's `models` commands both stand on this
class, so a record reads and writes the same way whichever door it comes through. It knows
nothing of HTTP or terminals: failures are exceptions (`RecordNotFound`, `RecordConflict`,
`InvalidRecord`, `QueryError`) that each caller turns into a status code or an exit code.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from types import UnionType
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin

import bson
from beanie import Document
from beanie.odm.utils.dump import get_dict
from bson import DBRef
from bson.errors import InvalidDocument
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import InitErrorDetails, PydanticCustomError, to_jsonable_python
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from .listing import DELETED_CHOICES, DELETED_PARAMETER, ListSpec, QueryError, parse_list_query
from .shortening import ERROR_BYTES, fitted

UNSTORABLE = (OverflowError, InvalidDocument, UnicodeEncodeError)
"""What BSON refuses although pydantic accepted it: integers beyond 64 bits, datetimes
outside the years 1-9999 after conversion to UTC, strings with lone surrogates."""


class RecordNotFound(LookupError):
    def __init__(self, model: str, id_value: object) -> None:
        super().__init__(f"{model} {id_value} not found")


class RecordConflict(ValueError):
    """A write would break a unique index."""


class RecordReferenced(RecordConflict):
    """A delete is refused: records of other models link to this one with `protect`."""


class InvalidRecord(ValueError):
    """The record a write would make is invalid. `errors` are pydantic's error dicts
    (`loc` relative to the record), ready to be shown per field."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(f"{_where(e['loc'])}{e['msg']}" for e in errors))
        self.errors = errors


def _where(loc: Sequence[Any]) -> str:
    return f"{'.'.join(str(part) for part in loc)}: " if loc else ""


def unstorable_error(exc: Exception) -> dict[str, Any]:
    return {
        "type": "value_error",
        "loc": [],
        "msg": f"a value cannot be stored in MongoDB: {exc}",
        "input": None,
    }


@dataclass(frozen=True)
class Pagination:
    max_page_size: int
    default_page_size: int
    max_list_bytes: int
    """About the most JSON one list answer carries (see `shortening.shortened_page`)."""


class RecordBody(BaseModel):
    """Base of the generated create, replace and patch bodies, which the API and the CLI
    validate alike. `read_only` names the fields (`ui.readonly_fields`) this body refuses,
    each with an error of its own: the schema leaves them out, and a generic "extra
    input" would not say why."""

    read_only: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _refuse_read_only(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data  # not an object: pydantic says so
        given = [name for name in cls.read_only if name in data]
        if given:
            raise ValidationError.from_exception_data(
                cls.__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError("read_only", "this field is read-only"),
                        loc=(name,),
                        input=data[name],
                    )
                    for name in given
                ],
            )
        return data


class PatchBody(RecordBody):
    """Base of the generated patch bodies, whose fields are all `T | MISSING`: a field left
    out is MISSING, which pydantic leaves out of dumps, so the record keeps its value. A
    `null` is a value, set when the field admits it and refused with an error that says
    so when it does not (pydantic's own would only say "Input should be a valid string")."""

    @model_validator(mode="before")
    @classmethod
    def _refuse_nulls(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data  # not an object: pydantic says so
        refused = [key for key in _not_nullable(cls) if key in data and data[key] is None]
        if refused:
            raise ValidationError.from_exception_data(
                cls.__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "null_not_allowed",
                            "this field cannot be null; leave it out to keep its value",
                        ),
                        loc=(key,),
                        input=None,
                    )
                    for key in refused
                ],
            )
        return data


@cache
def _not_nullable(body: type[BaseModel]) -> tuple[str, ...]:
    """The keys (aliases where given, and names too when the body takes fields by name)
    of the fields of `body` that `null` is not valid for."""
    by_name = bool(body.model_config.get("populate_by_name"))
    keys: list[str] = []
    for name, info in body.model_fields.items():
        if not _admits_null(info.annotation):
            flat = _flat_keys(info) or [name]
            keys.extend(flat)
            if by_name and name not in flat:
                keys.append(name)
    return tuple(keys)


def _flat_keys(info: FieldInfo) -> list[str]:
    """The top-level keys validation reads the field from: its validation alias (each
    plain key of an AliasChoices), else its alias."""
    alias = info.validation_alias
    if isinstance(alias, str):
        return [alias]
    if alias is not None:
        return [str(path[0]) for path in alias.convert_to_aliases() if len(path) == 1]
    return [info.alias] if info.alias else []


def _admits_null(annotation: Any) -> bool:
    if annotation in (Any, None, type(None)):
        return True
    origin = get_origin(annotation)
    if origin is Annotated:
        return _admits_null(get_args(annotation)[0])
    if origin in (Union, UnionType):
        return any(_admits_null(arg) for arg in get_args(annotation))
    return origin is Literal and None in get_args(annotation)


@dataclass(frozen=True)
class LinkField:
    """A `Link[...]` field (or a list of them) as clients see it: ids in, ids out. A
    `Link[Document]` (`target` is Beanie's `Document`) may point at a record of any model:
    clients see it as Beanie dumps it, a `DocumentRef`."""

    target: type[Document]
    many: bool = False

    @property
    def any_document(self) -> bool:
        return self.target is Document


class DocumentRef(BaseModel):
    """A link to a record of any model: its id and the collection it is stored in."""

    model_config = ConfigDict(extra="forbid")

    id: str
    collection: str


OnDelete = Literal["protect", "cascade", "set_null"]

RELEASE_ROUNDS = 3
"""How many times a delete releases the links to a record that keeps gaining new ones
before it gives up (`RecordConflict`)."""


@dataclass(frozen=True)
class Referrer:
    """A link field of another model (or of this one) that points at this model's records,
    and what deleting a record it points at does to the records holding it: refuse
    (`protect`), delete them too (`cascade`, soft-deleting the ones that can be), or clear
    the link (`set_null`: a single link becomes null, a list loses the id).

    `records` names the module whose `RESOURCE` holds the referring model's records: it is
    imported on first use, as referring modules may import this one."""

    model: str
    field: str
    """The link's key as stored."""
    rule: OnDelete
    records: str
    many: bool = False

    @property
    def resource(self) -> ModelRecords:
        return importlib.import_module(self.records).RESOURCE  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Reference:
    """How many records of `model` link to a record through `field`, and the rule."""

    model: str
    field: str
    rule: OnDelete
    count: int


@dataclass(frozen=True)
class Page:
    total: int
    """How many records match the filters, on all pages."""
    records: list[dict[str, Any]]


@dataclass
class ModelRecords:
    """CRUD over one Beanie document class.

    `links` maps JSON field names to link targets, `hidden` lists attributes never sent
    (back-links, which Beanie computes), `defaulted` lists fields whose `null` in a create
    means "use the model's default" (their default comes from a factory a client cannot
    call, such as `utcnow`). Other nulls are refused by the generated body schemas.
    `read_only` lists the fields no body may change: a replace keeps their stored values.
    """

    name: str
    document: type[Document]
    list_spec: ListSpec
    pagination: Pagination
    links: Mapping[str, LinkField] = field(default_factory=dict)
    hidden: Collection[str] = ()
    defaulted: Collection[str] = ()
    read_only: Collection[str] = ()
    default_sort: list[tuple[str, int]] | None = None
    """Order when the query names none (the list parser falls back to `_id`)."""
    referrers: Sequence[Referrer] = ()
    """The links of every model to this one, which a delete honours."""

    def __post_init__(self) -> None:
        self._excluded = {"id", "revision_id", *self.hidden}
        self._id_adapter: TypeAdapter[Any] = TypeAdapter(
            self.document.model_fields["id"].annotation
        )

    def parse_id(self, text: str) -> Any:
        """The stored id for `text` (an ObjectId, or the type the model declares)."""
        try:
            value = self._id_adapter.validate_python(text)
        except ValidationError:
            value = None
        if value is None:
            raise InvalidRecord([{"type": "id", "loc": ["id"], "msg": f"not a valid id: {text}"}])
        return value

    # -- reading

    def to_json(self, document: Document) -> dict[str, Any]:
        data = document.model_dump(mode="json", by_alias=True, exclude=self._excluded)
        for name, link in self.links.items():
            value = data.get(name)
            if value is not None and not link.any_document:
                data[name] = [_link_id(v) for v in value] if link.many else _link_id(value)
        return {"id": str(document.id), **data}

    async def find_records(
        self,
        params: Sequence[tuple[str, str]],
        *,
        max_page_size: int | None = None,
        within: Mapping[str, Any] | None = None,
    ) -> Page:
        """One page of records for Refine simple-rest list parameters (`_start`, `_end`,
        `_sort`, `_order`, `q`, `field[_op]=value`), among those matching `within` (a
        MongoDB filter) if given; raises `QueryError`."""
        params, deleted = self._deleted_filter(params)
        query = parse_list_query(
            params,
            self.list_spec,
            max_page_size=max_page_size or self.pagination.max_page_size,
            default_page_size=self.pagination.default_page_size,
        )
        sort = query.sort
        if self.default_sort and not any(key == "_sort" for key, _ in params):
            sort = self.default_sort
        collection = self.document.get_pymongo_collection()
        within_filter = dict(within) if within else None
        mongo_filter = _both(
            _both(_both(query.filter, within_filter), deleted), self._kind_filter()
        )
        # Beanie's own find on a soft-delete document would hide deleted records again.
        find = self.document.find_many_in_all if self.soft_delete else self.document.find
        total, documents = await asyncio.gather(
            collection.count_documents(mongo_filter),
            find(mongo_filter).sort(sort).skip(query.skip).limit(query.limit).to_list(),
        )
        return Page(total, [self.to_json(d) for d in documents])

    @property
    def soft_delete(self) -> bool:
        """A `DocumentWithSoftDelete`: a delete sets `deleted_at`, which `restore_record`
        clears; lists leave such records out unless `_deleted` asks for them."""
        return self.list_spec.soft_delete

    def _deleted_filter(
        self, params: Sequence[tuple[str, str]]
    ) -> tuple[list[tuple[str, str]], dict[str, Any] | None]:
        """The list parameters without `_deleted`, and the condition it (or its default,
        `exclude`) puts on `deleted_at`; None for a model without soft delete."""
        chosen = [value for key, value in params if key == DELETED_PARAMETER]
        rest = [(key, value) for key, value in params if key != DELETED_PARAMETER]
        if not self.soft_delete:
            if chosen:
                raise QueryError(DELETED_PARAMETER, f"{self.name} records are never soft-deleted")
            return rest, None
        choice = chosen[-1] if chosen else "exclude"
        if choice not in DELETED_CHOICES:
            raise QueryError(
                DELETED_PARAMETER,
                f"{DELETED_PARAMETER} must be one of {', '.join(DELETED_CHOICES)}, not {choice!r}",
            )
        # `$in`/`$nin` of null rather than `null`/`$ne`: the same to MongoDB, and nx-27017
        # counts `null` (against a missing field, or beside an `_id`) unlike it finds it.
        key = self._deleted_key
        condition = {
            "exclude": {key: {"$in": [None]}},
            "include": None,
            "only": {key: {"$nin": [None]}},
        }[choice]
        return rest, condition

    @property
    def _deleted_key(self) -> str:
        info = self.document.model_fields["deleted_at"]
        return info.alias or "deleted_at"

    async def read_record(self, id_value: Any) -> dict[str, Any]:
        return self.to_json(await self._existing(id_value))

    # -- writing

    async def create_record(self, body: BaseModel) -> dict[str, Any]:
        changes = self._changes(body)
        document = await self._validated(changes, changes)
        await self._write(document.insert())
        return self.to_json(self._as_stored(document))

    async def replace_record(self, id_value: Any, body: BaseModel) -> dict[str, Any]:
        projection = {"_id": 1, **{name: 1 for name in self.read_only}}
        kept = await self.document.get_pymongo_collection().find_one(
            self._live(id_value), projection
        )
        if kept is None:
            raise RecordNotFound(self.name, id_value)
        changes = self._changes(body)
        document = await self._validated({**kept, **changes}, changes)
        await self._write(document.replace())
        return self.to_json(self._as_stored(document))

    async def patch_record(self, id_value: Any, body: BaseModel) -> dict[str, Any]:
        stored = await self.document.get_pymongo_collection().find_one(self._live(id_value))
        if stored is None:
            raise RecordNotFound(self.name, id_value)
        changes = self._changes(body)
        document = await self._validated({**stored, **changes}, changes)
        await self._write(document.replace())
        return self.to_json(self._as_stored(document))

    async def delete_record(self, id_value: Any) -> dict[str, Any]:
        """Delete the record, after the records linking to it as their rules say (see
        `Referrer`); refused with `RecordReferenced` while a `protect` link points at it or
        at a record the delete would cascade to. A soft delete honours the rules alike.
        Soft-deleted records that link count as well: restoring one would otherwise bring
        back a link to nothing.

        Not atomic: MongoDB has transactions only on a replica set, and the servers this
        runs on (a standalone `mongod`, the embedded one) may not be one. What holds
        instead, without other writers, is that no record but a deleted one is ever left
        linking to a deleted record: each record (this one and every one a cascade
        reaches) is deleted only after the links to it were cleared or their records
        deleted, so a delete interrupted at any write leaves every link whole, and the
        same delete run again finishes the job (each step is idempotent; this record goes
        last). The exception is a cycle of cascades in the data (A links to B links to A):
        one of them goes first, so an interruption right then leaves the other linking to
        it until the delete is run again.

        With other writers: a record that starts linking to one being deleted after the
        first check is found by a last check just before that record is deleted. A new
        `protect` link refuses the delete there (`RecordReferenced`), which leaves the
        links cleared and records cascaded up to then as they are; a new `set_null` or
        `cascade` link is released like the others. A link written after that last check
        (a window of one round trip) can still be left dangling; it reads as missing."""
        document = await self._existing(id_value)
        blocked = await self._protected(id_value, set(), direct=True)
        if blocked:
            raise RecordReferenced(
                f"{self.name} {id_value} cannot be deleted: {'; '.join(blocked)}"
            )
        await self._remove(id_value, document, set())
        return self.to_json(self._as_stored(document) if self.soft_delete else document)

    async def references(self, id_value: Any) -> list[Reference]:
        """Per link to this model, how many records link to record `id_value` (which must
        exist) and what deleting it does to them."""
        await self._existing(id_value)
        found = await asyncio.gather(
            *(self._linking(referrer, id_value) for referrer in self.referrers)
        )
        return [
            Reference(referrer.model, referrer.field, referrer.rule, len(ids))
            for referrer, ids in zip(self.referrers, found, strict=True)
        ]

    def _linking_filter(self, referrer: Referrer, id_value: Any) -> dict[str, Any]:
        """The records whose `referrer` link points at record `id_value`: the path into
        the stored DBRef matches a single link and a list's item alike. `$in` of one
        value: nx-27017 compares neither whole DBRefs nor, by plain equality, the
        ObjectIds inside them."""
        return {f"{referrer.field}.$id": {"$in": [id_value]}, **referrer.resource._kind_filter()}

    async def _linking(self, referrer: Referrer, id_value: Any, *, live: bool = False) -> list[Any]:
        """The ids of the records (soft-deleted ones too, unless `live`) whose `referrer`
        link points at record `id_value`."""
        resource = referrer.resource
        condition = self._linking_filter(referrer, id_value)
        if live and resource.soft_delete:
            condition[resource._deleted_key] = {"$in": [None]}
        collection = resource.document.get_pymongo_collection()
        found = collection.find(condition, {"_id": 1})
        return [stored["_id"] async for stored in found]

    async def _protected(
        self, id_value: Any, seen: set[tuple[str, Any]], *, direct: bool
    ) -> list[str]:
        """Why deleting record `id_value` would be refused: the `protect` links holding it
        or a record the delete would cascade to, one sentence each."""
        if (self.name, id_value) in seen:
            return []
        seen.add((self.name, id_value))
        blocked: list[str] = []
        for referrer in self.referrers:
            if referrer.rule == "set_null":
                continue
            ids = await self._linking(referrer, id_value)
            if referrer.rule == "cascade":
                for child in ids:
                    blocked += await referrer.resource._protected(child, seen, direct=False)
            elif ids:
                what = "it" if direct else f"a {self.name} it would delete"
                blocked.append(_refusal(referrer, len(ids), what))
        return blocked

    async def _remove(self, id_value: Any, document: Document, seen: set[tuple[str, Any]]) -> None:
        """Release the links to record `id_value` (`document`), then delete it once a last
        look finds nothing linking to it that the rules leave in place. `seen` holds the
        records this delete is already removing (a cycle of cascades reaches one again)."""
        seen.add((self.name, id_value))
        for _ in range(RELEASE_ROUNDS):
            await self._release(id_value, seen)
            blocked, pending = await self._still_linked(id_value, seen)
            if blocked:
                raise RecordReferenced(
                    f"{self.name} {id_value} cannot be deleted: {'; '.join(blocked)} "
                    "(linked while it was being deleted)"
                )
            if not pending:
                await document.delete()
                return
        raise RecordConflict(
            f"{self.name} {id_value} was not deleted: records kept linking to it while it was "
            "being deleted; try again"
        )

    async def _release(self, id_value: Any, seen: set[tuple[str, Any]]) -> None:
        """Apply the `cascade` and `set_null` links to record `id_value`, which is about
        to be deleted: every write here may be done twice without harm."""
        for referrer in self.referrers:
            resource = referrer.resource
            collection = resource.document.get_pymongo_collection()
            if referrer.rule == "set_null":
                condition = self._linking_filter(referrer, id_value)
                if not referrer.many:
                    await collection.update_many(condition, {"$set": {referrer.field: None}})
                    continue
                # Each list rewritten without the id: nx-27017 has no `$pull` by `$id`.
                async for stored in collection.find(condition, {referrer.field: 1}):
                    kept = [ref for ref in stored[referrer.field] if ref.id != id_value]
                    await collection.update_one(
                        {"_id": stored["_id"]}, {"$set": {referrer.field: kept}}
                    )
            elif referrer.rule == "cascade":
                for child in await self._linking(referrer, id_value, live=True):
                    if (resource.name, child) in seen:
                        continue  # a cycle: removed further up, once released
                    stored = await collection.find_one(resource._live(child))
                    if stored is not None:  # else deleted meanwhile
                        child_document = resource.document.model_validate(stored)
                        await resource._remove(child, child_document, seen)

    async def _still_linked(
        self, id_value: Any, seen: set[tuple[str, Any]]
    ) -> tuple[list[str], bool]:
        """After a release of record `id_value`: the `protect` links that hold it (one
        sentence each), and whether a `set_null` or `cascade` link still does (written
        since), other than from records this delete is removing."""
        blocked: list[str] = []
        pending = False
        for referrer in self.referrers:
            ids = await self._linking(referrer, id_value, live=referrer.rule == "cascade")
            if referrer.rule == "protect":
                if ids:
                    blocked.append(_refusal(referrer, len(ids), "it"))
            elif any((referrer.resource.name, child) not in seen for child in ids):
                pending = True
        return blocked, pending

    async def restore_record(self, id_value: Any) -> dict[str, Any]:
        """Clear `deleted_at`: the record is listed again. Restoring a record that is not
        deleted changes nothing."""
        collection = self.document.get_pymongo_collection()
        stored = await collection.find_one_and_update(
            {"_id": id_value, **self._kind_filter()},
            {"$set": {self._deleted_key: None}},
            return_document=ReturnDocument.AFTER,
        )
        if stored is None:
            raise RecordNotFound(self.name, id_value)
        return self.to_json(self.document.model_validate(stored))

    # -- helpers

    async def _existing(self, id_value: Any) -> Document:
        if self.soft_delete or self._kind_filter():
            # Not Beanie's own `get`: nx-27017 matches its `$and` of the id and
            # `deleted_at: null` (or `_class_id`) against nothing.
            collection = self.document.get_pymongo_collection()
            stored = await collection.find_one(self._live(id_value))
            document = None if stored is None else self.document.model_validate(stored)
        else:
            document = await self.document.get(id_value)
        if document is None:
            raise RecordNotFound(self.name, id_value)
        return document

    def _live(self, id_value: Any) -> dict[str, Any]:
        """The filter for this model's record `id_value`, unless it is soft-deleted."""
        live = {"_id": id_value, **self._kind_filter()}
        if self.soft_delete:
            live[self._deleted_key] = {"$in": [None]}
        return live

    def _kind_filter(self) -> dict[str, Any]:
        """Beanie's `_class_id` condition, when the model shares its collection (an
        `is_root` hierarchy, a UnionDoc): which of the collection's records are its own."""
        merged: dict[str, Any] = {}
        for condition in self.document._add_class_id_filter(()):
            merged.update(condition)
        return merged

    def _changes(self, body: BaseModel) -> dict[str, Any]:
        """The fields the client sent, keyed as stored, links as DBRefs."""
        changes = body.model_dump(by_alias=True, exclude_unset=True)
        for name in self.defaulted:
            if name in changes and changes[name] is None:
                del changes[name]
        for name, link in self.links.items():
            value = changes.get(name)
            if value is not None and link.any_document:
                refs = [_document_ref(name, v) for v in (value if link.many else [value])]
                changes[name] = refs if link.many else refs[0]
            elif value is not None:
                collection = link.target.get_collection_name()
                changes[name] = (
                    [DBRef(collection, v) for v in value] if link.many else DBRef(collection, value)
                )
        return changes

    async def _validated(self, data: dict[str, Any], changes: Mapping[str, Any]) -> Document:
        """The document `data` makes, checked by the user's own model (validators
        included), with every changed link pointing at an existing record."""
        try:
            document = self.document.model_validate(data)
        except ValidationError as exc:
            raise InvalidRecord(_errors(exc)) from None
        missing = await self._missing_links(changes)
        if missing:
            raise InvalidRecord(missing)
        return document

    def _as_stored(self, document: Document) -> Document:
        """`document` as reading it back would give it: through BSON with the collection's
        codec options, as the driver writes and reads it. MongoDB keeps date-times in UTC
        to the millisecond, so an answer built from the document as validated (say
        `utcnow()` to the microsecond) would differ from the next GET."""
        codec = self.document.get_pymongo_collection().codec_options
        written = get_dict(document, to_db=True, keep_nulls=document.get_settings().keep_nulls)
        stored = bson.decode(bson.encode(written, codec_options=codec), codec_options=codec)
        return self.document.model_validate(stored)

    async def _missing_links(self, data: Mapping[str, Any]) -> list[dict[str, Any]]:
        errors = []
        for name, link in self.links.items():
            value = data.get(name)
            if value is None:
                continue
            refs = [ref for ref in (value if link.many else [value]) if isinstance(ref, DBRef)]
            if link.any_document:
                errors.extend(await self._missing_documents(name, refs))
                continue
            ids = list({ref.id for ref in refs})
            collection = link.target.get_pymongo_collection()
            found = await collection.count_documents({"_id": {"$in": ids}}) if ids else 0
            if found < len(ids):
                target = link.target.__name__
                errors.append(
                    {
                        "type": "link_not_found",
                        "loc": [name],
                        "msg": f"no {target} with the given id",
                        "input": [str(i) for i in ids] if link.many else str(ids[0]),
                    }
                )
        return errors

    async def _missing_documents(self, name: str, refs: list[DBRef]) -> list[dict[str, Any]]:
        """The links of a `Link[Document]` field to no stored record, one error each."""
        database = self.document.get_pymongo_collection().database
        errors = []
        for ref in refs:
            if await database[ref.collection].count_documents({"_id": ref.id}, limit=1):
                continue
            errors.append(
                {
                    "type": "link_not_found",
                    "loc": [name],
                    "msg": f"no record with the given id in collection {ref.collection}",
                    "input": {"id": str(ref.id), "collection": ref.collection},
                }
            )
        return errors

    async def _write(self, write: Awaitable[Any]) -> None:
        try:
            await write
        except DuplicateKeyError as exc:
            keys = ", ".join(sorted((exc.details or {}).get("keyValue", {}) or {})) or "a key"
            raise RecordConflict(f"another {self.name} already has this {keys}") from None
        except UNSTORABLE as exc:
            raise InvalidRecord([unstorable_error(exc)]) from None


def _both(mongo_filter: dict[str, Any], condition: dict[str, Any] | None) -> dict[str, Any]:
    """`mongo_filter` and `condition`, side by side when their keys differ: nx-27017
    matches an `_id` inside `$and` against nothing."""
    if condition is None:
        return mongo_filter
    if condition.keys() & mongo_filter.keys():
        return {"$and": [mongo_filter, condition]}
    return {**mongo_filter, **condition}


def _refusal(referrer: Referrer, count: int, what: str) -> str:
    """Why a `protect` link refuses a delete: `count` records link to `what`."""
    records, verb = ("record", "links") if count == 1 else ("records", "link")
    return (
        f"{count} {referrer.model} {records} {verb} to {what} ({referrer.model}.{referrer.field})"
    )


def _link_id(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


_DOCUMENT_ID: TypeAdapter[Any] = TypeAdapter(Document.model_fields["id"].annotation)
"""How Beanie reads the id of a `Link[Document]`: an ObjectId, whatever the target's id."""


def _document_ref(name: str, value: Mapping[str, Any]) -> DBRef:
    """The DBRef Beanie stores for a `DocumentRef`; a refused id or collection name is an
    `InvalidRecord` naming the field."""
    collection = value["collection"]
    try:
        id_value = _DOCUMENT_ID.validate_python(value["id"])
    except ValidationError:
        id_value = None
    problem = (
        f"not a valid id: {value['id']}" if id_value is None else _collection_problem(collection)
    )
    if problem:
        raise InvalidRecord([{"type": "link", "loc": [name], "msg": problem, "input": value}])
    return DBRef(collection, id_value)


def _collection_problem(name: str) -> str:
    """Why MongoDB would refuse `name` as a collection an app's record lives in, or ""."""
    if not name or "$" in name or "\0" in name or name.startswith("system."):
        return f"not a collection of records: {name!r}"
    return ""


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    """pydantic's errors as JSON-able dicts, each cut to about ERROR_BYTES: an error names
    its input, which may be as large as a record."""
    return [
        fitted(
            {
                **error,
                "loc": list(error["loc"]),
                "input": to_jsonable_python(error.get("input"), fallback=str),
            },
            ERROR_BYTES,
        )
        for error in exc.errors(include_url=False, include_context=False)
    ]
