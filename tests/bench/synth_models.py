"""Synthetic `@datamodel` documents: what each model contains, and its source text.

Model `i` depends only on `i` (its own seeded RNG), never on the project size, so the
first five models of a 1,000-model project are the models of a 5-model project. Links only
point at earlier models in the same or an earlier domain: that keeps the package import
graph acyclic even though every domain package re-exports its models.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

# fmt: off
# domain, antd icon, eight nouns; nouns are unique across domains.
DOMAINS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("hiring", "SolutionOutlined", ("Job", "Candidate", "Application", "Interview", "Offer",
                                    "Referral", "Recruiter", "Assessment")),
    ("billing", "DollarOutlined", ("Invoice", "Payment", "Subscription", "Refund", "Coupon",
                                   "TaxRate", "CreditNote", "PriceList")),
    ("crm", "TeamOutlined", ("Account", "Contact", "Lead", "Opportunity", "Meeting", "CallLog",
                             "Pipeline", "Territory")),
    ("catalog", "ShoppingOutlined", ("Product", "Category", "Variant", "Brand", "Review",
                                     "Bundle", "Feature", "Showcase")),
    ("logistics", "CarOutlined", ("Shipment", "Carrier", "Parcel", "Warehouse", "Route",
                                  "Delivery", "Manifest", "Dock")),
    ("support", "CustomerServiceOutlined", ("Ticket", "Agent", "Macro", "Escalation",
                                            "Feedback", "KnowledgeArticle", "Queue",
                                            "SlaPolicy")),
    ("marketing", "NotificationOutlined", ("Campaign", "Audience", "Newsletter", "Promotion",
                                           "LandingPage", "AdGroup", "Segment", "Webinar")),
    ("analytics", "BarChartOutlined", ("Dashboard", "Metric", "Report", "Dataset", "Experiment",
                                       "Funnel", "Cohort", "Alert")),
    ("content", "ReadOutlined", ("Article", "Author", "Topic", "Comment", "MediaAsset", "Page",
                                 "Series", "Glossary")),
    ("identity", "IdcardOutlined", ("User", "Team", "Role", "Permission", "ApiKey", "Session",
                                    "Invitation", "Organization")),
    ("scheduling", "CalendarOutlined", ("Shift", "Calendar", "Booking", "Resource",
                                        "Availability", "Holiday", "Slot", "Reminder")),
    ("inventory", "InboxOutlined", ("StockItem", "Supplier", "PurchaseOrder", "StockMove",
                                    "Bin", "Batch", "Reorder", "StockCount")),
)
QUALIFIERS = ("", "Archive", "Snapshot", "Draft", "Template", "Request", "Revision", "Export",
              "Audit", "Digest")
KIND_MEMBERS = ("standard", "express", "internal", "external", "manual", "automatic",
                "primary", "secondary")
# (name, shape): the pool every model samples its ordinary fields from, in this order.
FIELD_POOL: tuple[tuple[str, str], ...] = (
    ("reference", "indexed_str"), ("slug", "str"), ("summary", "opt_str"), ("notes", "opt_str"),
    ("source_url", "opt_str"), ("contact_email", "opt_str"), ("owner_name", "str"),
    ("quantity", "int"), ("attempts", "int"), ("rank", "int"), ("amount", "float"),
    ("score", "float"), ("weight", "float"), ("is_active", "bool"), ("is_public", "bool"),
    ("needs_review", "bool"), ("published_at", "datetime"), ("due_at", "datetime"),
    ("starts_at", "datetime_req"), ("tags", "list_str"), ("keywords", "list_str"),
    ("attributes", "dict"), ("status", "enum:Status"), ("priority", "enum:Priority"),
    ("visibility", "enum:Visibility"), ("currency", "enum:Currency"), ("region", "enum:Region"),
    ("channel", "literal"), ("source", "literal"), ("size_band", "literal"),
)
# fmt: on
SHARED_ENUMS: dict[str, tuple[str, ...]] = {
    "Status": ("draft", "active", "archived"),
    "Priority": ("medium", "low", "high", "urgent"),
    "Visibility": ("team", "private", "public"),
    "Currency": ("eur", "usd", "gbp", "chf"),
    "Region": ("emea", "amer", "apac"),
}
LITERALS: dict[str, tuple[str, ...]] = {
    "channel": ("email", "phone", "web", "api"),
    "source": ("manual", "import", "sync"),
    "size_band": ("small", "medium", "large"),
}
BASES: dict[str, tuple[str, ...]] = {
    "Document": (),
    "TimestampedDocument": ("created_at", "updated_at"),
    "OwnedDocument": ("created_at", "updated_at", "owner_id", "is_archived"),
}


@dataclass(frozen=True)
class FieldSpec:
    """One annotated class attribute; `needs` names the imports its annotation uses."""

    name: str
    annotation: str
    default: str | None
    shape: str
    needs: frozenset[str] = frozenset()

    @property
    def required(self) -> bool:
        return self.default is None or self.default.startswith("Field(...")

    @property
    def plain_annotation(self) -> str:
        """The annotation as an operation's input would declare it (no `Indexed`)."""
        return re.sub(r"Indexed\((\w+)(?:, unique=True)?\)", r"\1", self.annotation)

    @property
    def nullable_annotation(self) -> str:
        """`plain_annotation`, made to accept None unless it already does."""
        plain = self.plain_annotation
        return (
            plain
            if plain.startswith("Optional[") or plain.endswith("| None")
            else f"{plain} | None"
        )


@dataclass(frozen=True)
class LinkSpec:
    target: ModelRef
    field: FieldSpec
    many: bool


@dataclass(frozen=True)
class ModelRef:
    class_name: str
    domain: str
    module: str

    @property
    def snake(self) -> str:
        return snake(self.class_name)


@dataclass(frozen=True)
class Extras:
    """Optional parts of a model's source, each present in some models only."""

    settings: bool
    settings_name: bool
    classvar: bool
    private: bool
    tags_constant: bool
    literal_alias: bool
    absolute_imports: bool


@dataclass(frozen=True)
class ModelSpec:
    index: int
    ref: ModelRef
    base: str
    fields: list[FieldSpec]
    links: list[LinkSpec]
    kind_members: tuple[str, ...]
    extras: Extras

    @property
    def class_name(self) -> str:
        return self.ref.class_name

    @property
    def path(self) -> str:
        return self.ref.module.replace(".", "/") + ".py"

    @property
    def primary(self) -> FieldSpec:
        return self.fields[0]

    @property
    def inherited(self) -> tuple[str, ...]:
        return BASES[self.base]


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def plural(word: str) -> str:
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


def human(name: str) -> str:
    return snake(name).replace("_", " ")


def a(noun: str) -> str:
    """`noun` with its indefinite article."""
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def model_ref(i: int) -> ModelRef:
    """Name model `i`: domains round-robin, nouns per domain, then qualified nouns."""
    domain, _, nouns = DOMAINS[i % len(DOMAINS)]
    j = i // len(DOMAINS)
    rounds, noun = divmod(j, len(nouns))
    qualifier = QUALIFIERS[rounds % len(QUALIFIERS)]
    suffix = str(rounds // len(QUALIFIERS) + 1) if rounds >= len(QUALIFIERS) else ""
    class_name = f"{nouns[noun]}{qualifier}{suffix}"
    return ModelRef(class_name, domain, f"models.{domain}.{snake(class_name)}")


def domain_index(domain: str) -> int:
    return next(k for k, (name, _, _) in enumerate(DOMAINS) if name == domain)


def build_model(i: int) -> ModelSpec:
    rng = random.Random(f"jobhunter-synth-model-{i}")
    ref = model_ref(i)
    base = rng.choices(list(BASES), weights=(5, 3, 2))[0]
    used = set(BASES[base])
    fields = [_primary_field(rng, ref)]
    used.add(fields[0].name)
    kind_members: tuple[str, ...] = ()
    if rng.random() < 0.5:
        kind_members = tuple(rng.sample(KIND_MEMBERS, rng.randint(2, 4)))
        kind = f"{ref.class_name}Kind"
        fields.append(FieldSpec("kind", kind, f"{kind}.{kind_members[0].upper()}", "local_enum"))
        used.add("kind")
    links = _links(rng, i, used)
    budget = rng.randint(6, 15) - len(fields) - len(links)
    pool = [entry for entry in FIELD_POOL if entry[0] not in used]
    picked = sorted(rng.sample(range(len(pool)), max(budget, 0)))
    fields += [_pool_field(rng, *pool[k], ref) for k in picked]
    extras = Extras(
        settings=rng.random() < 0.9,
        settings_name=rng.random() < 0.85,
        classvar=rng.random() < 0.2,
        private=rng.random() < 0.1,
        tags_constant=rng.random() < 0.3,
        literal_alias=rng.random() < 0.4,
        absolute_imports=rng.random() < 0.5,
    )
    return ModelSpec(i, ref, base, fields, links, kind_members, extras)


def _primary_field(rng: random.Random, ref: ModelRef) -> FieldSpec:
    name = rng.choice(("title", "name", "label", "code"))
    if rng.random() < 0.4:
        unique = ", unique=True" if name == "code" else ""
        return FieldSpec(name, f"Indexed(str{unique})", None, "indexed_str", frozenset({"Indexed"}))
    if rng.random() < 0.5:
        return FieldSpec(name, "str", None, "str")
    desc = f"{name.capitalize()} shown for each {human(ref.class_name)}"
    return FieldSpec(
        name,
        "str",
        f'Field(..., description="{desc}", max_length=200)',
        "str",
        frozenset({"Field"}),
    )


def _links(rng: random.Random, i: int, used: set[str]) -> list[LinkSpec]:
    home = domain_index(model_ref(i).domain)
    candidates = [j for j in range(i) if domain_index(model_ref(j).domain) <= home]
    count = 0 if not candidates else rng.choices((0, 1, 2), weights=(45, 40, 15))[0]
    links: list[LinkSpec] = []
    for j in sorted(rng.sample(candidates, min(count, len(candidates)))):
        target = model_ref(j)
        many = rng.random() < 0.3
        name = plural(target.snake) if many else target.snake
        if name in used:
            name += "_ref"
        used.add(name)
        if many:
            spec = FieldSpec(
                name,
                f"list[Link[{target.class_name}]]",
                "Field(default_factory=list)",
                "link_list",
                frozenset({"Link", "Field"}),
            )
        elif rng.random() < 0.6:
            spec = FieldSpec(
                name,
                f"Optional[Link[{target.class_name}]]",
                "None",
                "link",
                frozenset({"Link", "Optional"}),
            )
        else:
            spec = FieldSpec(
                name, f"Link[{target.class_name}] | None", "None", "link", frozenset({"Link"})
            )
        links.append(LinkSpec(target, spec, many))
    return links


def _pool_field(rng: random.Random, name: str, shape: str, ref: ModelRef) -> FieldSpec:
    """Pick one of the spellings real projects use for a field of this shape."""
    desc = f"{human(name).capitalize()} of the {human(ref.class_name)}"
    opt = rng.choice(("Optional[{}]", "{} | None"))
    needs_opt = frozenset({"Optional"}) if opt.startswith("Optional") else frozenset()
    if shape == "indexed_str":
        return FieldSpec(name, "Indexed(str)", None, shape, frozenset({"Indexed"}))
    if shape == "str":
        if rng.random() < 0.5:
            return FieldSpec(
                name,
                "str",
                f'Field(..., description="{desc}", max_length=120)',
                shape,
                frozenset({"Field"}),
            )
        return FieldSpec(name, "str", None, shape)
    if shape == "opt_str":
        if rng.random() < 0.5:
            return FieldSpec(name, opt.format("str"), "None", shape, needs_opt)
        return FieldSpec(
            name,
            opt.format("str"),
            f'Field(None, description="{desc}", max_length=2000)',
            shape,
            needs_opt | {"Field"},
        )
    if shape in ("int", "float"):
        zero = "0" if shape == "int" else "0.0"
        roll = rng.random()
        if roll < 0.3:
            return FieldSpec(name, shape, zero, shape)
        if roll < 0.6:
            return FieldSpec(
                name,
                shape,
                f'Field({zero}, ge=0, description="{desc}")',
                shape,
                frozenset({"Field"}),
            )
        if roll < 0.8:
            return FieldSpec(
                name,
                f'Annotated[{shape}, Field(ge=0, description="{desc}")]',
                zero,
                shape,
                frozenset({"Annotated", "Field"}),
            )
        return FieldSpec(name, opt.format(shape), "None", shape, needs_opt)
    if shape == "bool":
        return FieldSpec(name, "bool", rng.choice(("True", "False")), shape)
    if shape == "datetime":
        return FieldSpec(name, opt.format("datetime"), "None", shape, needs_opt | {"datetime"})
    if shape == "datetime_req":
        return FieldSpec(name, "datetime", None, "datetime", frozenset({"datetime"}))
    if shape == "list_str":
        if rng.random() < 0.5:
            return FieldSpec(name, "list[str]", "[]", shape)
        return FieldSpec(
            name,
            "list[str]",
            f'Field(default_factory=list, description="{desc}")',
            shape,
            frozenset({"Field"}),
        )
    if shape == "dict":
        return FieldSpec(
            name, "dict[str, str]", "Field(default_factory=dict)", shape, frozenset({"Field"})
        )
    if shape.startswith("enum:"):
        enum = shape.removeprefix("enum:")
        if rng.random() < 0.25:
            return FieldSpec(name, opt.format(enum), "None", "enum", needs_opt | {shape})
        first = SHARED_ENUMS[enum][0].upper()
        return FieldSpec(name, enum, f"{enum}.{first}", "enum", frozenset({shape}))
    values = ", ".join(f'"{v}"' for v in LITERALS[name])
    return FieldSpec(
        name, f"Literal[{values}]", f'"{LITERALS[name][0]}"', "literal", frozenset({"Literal"})
    )


def render_model(spec: ModelSpec) -> str:
    ref = spec.ref
    fields = [*spec.fields, *(link.field for link in spec.links)]
    needs = set().union(*(f.needs for f in fields))
    aliases = _literal_aliases(spec, fields)
    if spec.extras.classvar:
        needs.add("ClassVar")
    lines = [f'"""{human(ref.class_name).capitalize()} records of the {ref.domain} domain."""', ""]
    lines += _model_imports(spec, needs)
    if spec.extras.tags_constant:
        lines += ["", f'TAGS = ["{ref.domain}", "{snake(ref.class_name).split("_")[0]}"]']
    for alias, annotation in aliases.items():
        lines += ["", f"{alias} = {annotation}"]
    if spec.kind_members:
        lines += [
            "",
            "",
            f"class {ref.class_name}Kind(str, Enum):",
            f'    """How {a(human(ref.class_name))} came to be."""',
            "",
        ]
        lines += [f'    {m.upper()} = "{m}"' for m in spec.kind_members]
    lines += [
        "",
        "",
        _decorator(spec),
        f"class {ref.class_name}({spec.base}):",
        f'    """{a(human(ref.class_name)).capitalize()} tracked by the {ref.domain} team."""',
        "",
    ]
    if spec.extras.classvar:
        lines += ["    MAX_PAGE_SIZE: ClassVar[int] = 100"]
    if spec.extras.private:
        lines += ["    _dirty: bool = False"]
    for f in fields:
        annotation = next((a for a, text in aliases.items() if text == f.annotation), f.annotation)
        value = "" if f.default is None else f" = {f.default}"
        lines.append(f"    {f.name}: {annotation}{value}")
    lines += _settings(spec, fields)
    return "\n".join(lines) + "\n"


def _literal_aliases(spec: ModelSpec, fields: list[FieldSpec]) -> dict[str, str]:
    """Module-level `Channel = Literal[...]` aliases, used instead of inline literals."""
    if not spec.extras.literal_alias:
        return {}
    return {
        "".join(part.capitalize() for part in f.name.split("_")): f.annotation
        for f in fields
        if f.shape == "literal"
    }


def _model_imports(spec: ModelSpec, needs: set[str]) -> list[str]:
    out: list[str] = []
    if "datetime" in needs:
        out.append("from datetime import datetime")
    if spec.kind_members:
        out.append("from enum import Enum")
    typing_names = sorted(needs & {"Annotated", "ClassVar", "Literal", "Optional"})
    if typing_names:
        out.append(f"from typing import {', '.join(typing_names)}")
    out.append("")
    beanie = ["Document"] if spec.base == "Document" else []
    beanie += sorted(needs & {"Indexed", "Link"})
    if beanie:
        out.append(f"from beanie import {', '.join(beanie)}")
    out.append("from jobhunter_compiler import datamodel")
    if "Field" in needs:
        out.append("from pydantic import Field")
    out.append("")
    if spec.base != "Document":
        out.append(f"from models.base import {spec.base}")
    enums = sorted(n.removeprefix("enum:") for n in needs if n.startswith("enum:"))
    if enums:
        out.append(f"from models.enums import {', '.join(enums)}")
    for link in sorted(spec.links, key=lambda link: link.target.module):
        target = link.target
        if target.domain == spec.ref.domain:
            out.append(f"from .{snake(target.class_name)} import {target.class_name}")
        elif spec.extras.absolute_imports:
            out.append(f"from {target.module} import {target.class_name}")
        else:
            out.append(f"from models.{target.domain} import {target.class_name}")
    return out[:-1] if out[-1] == "" else out


def _decorator(spec: ModelSpec) -> str:
    ref = spec.ref
    names = [f.name for f in spec.fields] + list(spec.inherited)
    strings = [f.name for f in spec.fields if f.shape in ("str", "indexed_str", "opt_str")]
    sortable = [f.name for f in spec.fields if f.shape in ("int", "float", "datetime")]
    ui: list[str] = [
        f'"icon": "{DOMAINS[domain_index(ref.domain)][1]}"',
        f'"primary_field": "{spec.primary.name}"',
        f'"list_fields": {_strs(names[:4])}',
        f'"searchable_fields": {_strs(strings[:3])}',
    ]
    if "created_at" in names:
        sortable.append("created_at")
        ui.append('"readonly_fields": ["created_at", "updated_at"]')
    if sortable:
        ui.append(f'"sortable_fields": {_strs(sortable[:3])}')
    widgets = {f.name: "textarea" for f in spec.fields if f.name in ("notes", "summary")}
    widgets |= {f.name: "json" for f in spec.fields if f.shape == "dict"}
    if widgets:
        ui.append('"widgets": {' + ", ".join(f'"{k}": "{v}"' for k, v in widgets.items()) + "}")
    tags = "TAGS" if spec.extras.tags_constant else f'["{ref.domain}"]'
    body = ",\n        ".join(ui)
    return (
        "@datamodel(\n"
        f'    name="{ref.class_name}",\n'
        f'    description="{human(ref.class_name).capitalize()} records of {ref.domain}.",\n'
        f"    tags={tags},\n"
        f"    ui={{\n        {body},\n    }},\n"
        ")"
    )


def _strs(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def _settings(spec: ModelSpec, fields: list[FieldSpec]) -> list[str]:
    if not spec.extras.settings:
        return []
    lines = ["", "    class Settings:"]
    if spec.extras.settings_name:
        lines.append(f'        name = "{plural(spec.ref.snake)}"')
    indexed = [f.name for f in fields if f.shape in ("enum", "literal", "datetime")][:2]
    if indexed or not spec.extras.settings_name:
        entries = [f'"{name}"' for name in indexed]
        if "created_at" in spec.inherited:
            entries.append(f'[("{spec.primary.name}", 1), ("created_at", -1)]')
        lines.append(f"        indexes = [{', '.join(entries)}]")
    return lines


BASE_MODULE = '''"""Undecorated base documents shared by many models; not models themselves."""

from datetime import datetime, timezone

from beanie import Document, Indexed
from pydantic import Field


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class TimestampedDocument(Document):
    """Adds creation and update times to every document that extends it."""

    created_at: datetime = Field(default_factory=utcnow, description="When it was created")
    updated_at: datetime | None = None


class OwnedDocument(TimestampedDocument):
    """A document that belongs to one user and can be archived instead of deleted."""

    owner_id: Indexed(str)
    is_archived: bool = False
'''


def render_enums() -> str:
    lines = ['"""Enums shared by models across domains."""', "", "from enum import Enum"]
    for name, members in SHARED_ENUMS.items():
        lines += ["", "", f"class {name}(str, Enum):"]
        lines += [f'    {m.upper()} = "{m}"' for m in members]
    return "\n".join(lines) + "\n"


def render_domain_init(domain: str, specs: list[ModelSpec]) -> str:
    """A package `__init__` re-exporting its models, as many projects do."""
    mine = [s for s in specs if s.ref.domain == domain]
    lines = [f'"""Models of the {domain} domain."""', ""]
    lines += [f"from .{s.ref.snake} import {s.class_name}" for s in mine]
    lines += ["", "__all__ = ["] + [f'    "{s.class_name}",' for s in mine] + ["]"]
    return "\n".join(lines) + "\n"
