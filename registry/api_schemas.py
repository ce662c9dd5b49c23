"""The registry API's request and response shapes (django-ninja schemas, in the OpenAPI at /api/docs)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ninja import Field, Schema
from pydantic import model_validator

from registry.models import HouseholdRole, IndividualStatus, Sex

MAX_LIMIT = 200
DEFAULT_LIMIT = 50


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(item) for item in value)
    return False


class InputSchema(Schema):
    """Input refusing NUL characters anywhere (PostgreSQL cannot store or compare them): a 422, not a 500."""

    @model_validator(mode="after")
    def no_nul_characters(self) -> Any:
        if _has_nul(self.model_dump()):
            raise ValueError("Text must not contain NUL (\\u0000) characters.")
        return self


class FieldError(Schema):
    pointer: str = Field(..., description="JSON pointer to the field at fault, e.g. /documents/0/value")
    detail: str


class ErrorsOut(Schema):
    detail: str
    errors: list[FieldError] = []


class DocumentOut(Schema):
    type: str
    value: str


class HouseholdRef(Schema):
    id: int
    code: str


class IndividualOut(Schema):
    id: int
    given_name: str
    family_name: str
    other_names: str
    sex: str
    birth_date: date | None
    birth_date_estimated: bool
    phone: str
    location: str = Field(..., description="The code of the person's location")
    status: str
    registration_date: date
    data: dict[str, Any] = Field(..., description="Custom fields (the registry's schema)")
    updated_at: datetime
    household: HouseholdRef | None
    role: str | None = Field(None, description="Role in the current household")
    is_primary_recipient: bool
    documents: list[DocumentOut]


class MemberOut(Schema):
    individual: int
    given_name: str
    family_name: str
    role: str
    is_primary_recipient: bool


class HouseholdOut(Schema):
    id: int
    code: str
    location: str
    address: str
    latitude: Decimal | None
    longitude: Decimal | None
    size: int
    registration_date: date
    data: dict[str, Any]
    updated_at: datetime
    members: list[MemberOut]


class IndividualPage(Schema):
    items: list[IndividualOut]
    next_cursor: str | None = Field(None, description="Give it as `cursor` for the next page; null: no more")


class HouseholdPage(Schema):
    items: list[HouseholdOut]
    next_cursor: str | None = None


class TaskOut(Schema):
    detail: str
    task: int = Field(..., description="The approval task holding the change")
    state: str = Field(..., description="pending until approved; then executed (or rejected, failed)")


class SearchQuery(InputSchema):
    location: str | None = Field(None, description="A location code: records there and below")
    modified_since: datetime | None = Field(
        None, description="Only records changed at or after this time; pages then follow the change time"
    )
    field: list[str] = Field(
        [],
        description="Custom field equals a value: key=value (value read as JSON when it parses, else text)",
    )
    cursor: str | None = Field(None, description="The next_cursor of the previous page")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class IndividualQuery(SearchQuery):
    identity_number: str | None = Field(None, description="An identity document number, exactly")
    identity_number_prefix: str | None = Field(None, description="Identity document numbers starting with")
    name_prefix: str | None = Field(None, description="Family or given name starting with (any case)")


class HouseholdQuery(SearchQuery):
    code_prefix: str | None = Field(None, description="Household codes starting with")
    member_identity_number: str | None = Field(None, description="A current member's identity number")


class DocumentIn(InputSchema):
    type: str = Field(..., description="national_id, voter_card, birth_certificate, passport, ...")
    value: str


class IndividualIn(InputSchema):
    given_name: str
    family_name: str
    sex: str = Field(..., description=", ".join(Sex.values))
    location: str = Field(..., description="A location code inside the client's locations")
    other_names: str = ""
    birth_date: date | None = None
    birth_date_estimated: bool = False
    phone: str = ""
    data: dict[str, Any] = {}
    documents: list[DocumentIn] = []


class IndividualPatch(InputSchema):
    """Only the fields given change; `data` keys given replace theirs (null removes one); `documents`, when
    given, is the whole new list."""

    given_name: str | None = None
    family_name: str | None = None
    other_names: str | None = None
    sex: str | None = None
    birth_date: date | None = None
    birth_date_estimated: bool | None = None
    phone: str | None = None
    location: str | None = None
    status: str | None = Field(None, description=", ".join(IndividualStatus.values))
    data: dict[str, Any] | None = None
    documents: list[DocumentIn] | None = None


class MemberIn(InputSchema):
    individual: int = Field(..., description="The id of a person in no household yet")
    role: str = Field(..., description=", ".join(HouseholdRole.values))
    primary_recipient: bool | None = None


class HouseholdIn(InputSchema):
    code: str
    location: str
    address: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    data: dict[str, Any] = {}
    members: list[MemberIn] = []


class HouseholdPatch(InputSchema):
    code: str | None = None
    location: str | None = None
    address: str | None = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    data: dict[str, Any] | None = None
