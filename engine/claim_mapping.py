"""How the claims of an OpenID Connect identity token become a OneStop user and grants.

The mapping is configuration, read from the TOML, YAML or JSON file named by the setting
``ONESTOP_OIDC_MAPPING``. A TOML example::

    provider = "keycloak"            # the [auth.keycloak] section of .streamlit/secrets.toml
    provider_label = "Keycloak"      # the button says "Sign in with Keycloak"
    issuer = "https://sso.example.go.th/realms/onestop"
    username_claims = ["preferred_username", "email", "sub"]
    allow_admin = false

    [[rules]]                        # groups like /onestop/TH.50.01/intake_officer
    claim = "groups"
    pattern = '^/onestop/(?P<unit>[^/]+)/(?P<role>[^/]+)$'

    [[rules]]                        # an explicit table: claim value -> role@unit grants
    claim = "realm_access.roles"
    values = { "onestop-auditor" = ["auditor@TH.50"] }

A claim is named as in the token; a dotted name that is not itself a claim is looked up
inside nested objects (``realm_access.roles``). Claim values that match no rule are
ignored. A matched value that names a role OneStop refuses (malformed, not in
``allowed_roles``, or ``admin`` without ``allow_admin``) is skipped with a warning, so a
stray group at the identity provider never blocks, nor widens, anyone's access; a mapping
file that grants ``admin`` explicitly without ``allow_admin`` is refused when loaded.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from engine.directory_rules import SYSTEM_ACTOR, USER_LOCALES, check_role
from engine.errors import ConfigurationError, InputRejected, SignInRefused

ADMIN = "admin"
MAX_USERNAME_LENGTH = 100
MAX_DISPLAY_NAME_LENGTH = 200
MAX_SUBJECT_LENGTH = 255
MAX_ISSUER_LENGTH = 500
MAX_CLAIM_VALUE_LENGTH = 1000
CLOCK_SKEW = timedelta(minutes=5)
GRANT = re.compile(r"(?P<role>[^@\s]+)@(?P<unit>[^@\s/]+)")


def parse_grant(text: str) -> tuple[str, str]:
    """``role@unit`` as ``(role, unit code)``.

    Raises:
        InputRejected: not of that form, or a malformed role name.
    """
    found = GRANT.fullmatch(text.strip())
    if found is None:
        raise InputRejected(f"grant '{text}' must be written role@unit, e.g. 'intake_officer@TH.50.01'")
    return check_role(found["role"]), found["unit"]


class GrantRule(BaseModel):
    """One claim whose values grant roles: by a pattern, by an explicit table, or both.

    Attributes:
        claim: the claim's name, or a dotted path into nested claims.
        pattern: a regular expression that a whole value must match, with the named
            groups ``unit`` and ``role``.
        values: claim value → grants written ``role@unit``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    claim: str = Field(min_length=1)
    pattern: str | None = None
    values: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @field_validator("pattern")
    @classmethod
    def _pattern_names_unit_and_role(cls, pattern: str | None) -> str | None:
        if pattern is None:
            return None
        try:
            groups = re.compile(pattern).groupindex
        except re.error as exc:
            raise ValueError(f"pattern {pattern!r} is not a regular expression: {exc}") from exc
        missing = {"unit", "role"} - set(groups)
        if missing:
            raise ValueError(f"pattern {pattern!r} needs the named groups (?P<unit>...) and (?P<role>...)")
        return pattern

    @field_validator("values")
    @classmethod
    def _grants_are_role_at_unit(cls, values: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for grants in values.values():
            for grant in grants:
                try:
                    parse_grant(grant)
                except InputRejected as exc:
                    raise ValueError(exc.message) from exc
        return values

    @model_validator(mode="after")
    def _has_a_way_to_grant(self) -> GrantRule:
        if self.pattern is None and not self.values:
            raise ValueError(f"the rule for claim '{self.claim}' needs a pattern, values, or both")
        return self

    def grants_for(self, value: str) -> Iterator[tuple[str, str]]:
        """The (role, unit code) pairs that one claim value asks for (roles not yet checked)."""
        if self.pattern is not None:
            found = re.fullmatch(self.pattern, value)
            if found is not None and found["role"] and found["unit"]:
                yield found["role"], found["unit"]
        for grant in self.values.get(value, ()):
            yield parse_grant(grant)


class ClaimMapping(BaseModel):
    """Which claims name the user and which grant roles in which org units.

    Attributes:
        provider: the provider's name in ``.streamlit/secrets.toml`` (``[auth.<provider>]``);
            ``None`` uses the settings in ``[auth]`` itself.
        provider_label: the provider's name as people know it, on the sign-in button.
        issuer: when set, tokens from any other issuer (``iss``) are refused.
        username_claims: the claims tried in order for the user name.
        display_name_claim / locale_claim: the claims holding the person's name and language.
        rules: how claim values become grants.
        allow_admin: whether mapped claims may grant ``admin`` (never, by default).
        allowed_roles: when set, the only roles mapped claims may grant.
        link_existing_accounts: let a first sign-in take over an existing account of the same
            user name (its password is removed). Enable only when the identity provider,
            not its users, decides user names.
        max_age_minutes: refuse claims issued (``iat``) longer ago than this, so that a
            change at the identity provider reaches OneStop within a working day even though
            the browser keeps the identity cookie for 30 days; ``None`` never refuses.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]+$")
    provider_label: str = Field(default="OpenID Connect", min_length=1, max_length=60)
    issuer: str | None = Field(default=None, min_length=1, max_length=MAX_ISSUER_LENGTH)
    username_claims: tuple[str, ...] = Field(default=("preferred_username", "email", "sub"), min_length=1)
    display_name_claim: str = "name"
    locale_claim: str = "locale"
    rules: tuple[GrantRule, ...] = Field(min_length=1)
    allow_admin: bool = False
    allowed_roles: frozenset[str] | None = None
    link_existing_accounts: bool = False
    max_age_minutes: int | None = Field(default=480, ge=1)

    @field_validator("allowed_roles")
    @classmethod
    def _roles_are_well_formed(cls, roles: frozenset[str] | None) -> frozenset[str] | None:
        for role in roles or ():
            try:
                check_role(role)
            except InputRejected as exc:
                raise ValueError(exc.message) from exc
        return roles

    @model_validator(mode="after")
    def _admin_only_when_allowed(self) -> ClaimMapping:
        for rule in self.rules:
            for value, grants in rule.values.items():
                for role, unit in map(parse_grant, grants):
                    if role == ADMIN and not self.allow_admin:
                        raise ValueError(
                            f"claim value '{value}' grants admin@{unit}, but allow_admin is false; "
                            "set allow_admin = true to let the identity provider make admins"
                        )
        return self

    def role_refusal(self, role: str) -> str | None:
        """Why a mapped claim may not grant ``role``, or None when it may."""
        try:
            check_role(role)
        except InputRejected as exc:
            return exc.message
        if role == ADMIN and not self.allow_admin:
            return "the role 'admin' is not granted through the identity provider (allow_admin is false)"
        if self.allowed_roles is not None and role not in self.allowed_roles:
            return f"the role '{role}' is not among the allowed_roles of the OIDC mapping"
        return None


@dataclass(frozen=True)
class MappedIdentity:
    """A person as the claims describe them, before the directory is consulted."""

    issuer: str
    subject: str
    username: str
    display_name: str
    locale: str | None
    grants: frozenset[tuple[str, str]]
    warnings: tuple[str, ...]


def load_claim_mapping(path: Path) -> ClaimMapping:
    """Read the mapping from a ``.toml``, ``.yaml``/``.yml`` or ``.json`` file.

    Raises:
        ConfigurationError: the file is missing, unreadable, of another kind, not parseable,
            or does not describe a valid mapping (every problem is listed).
    """
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".yaml", ".yml", ".json"):
        raise ConfigurationError(f"OIDC mapping {path}: use a .toml, .yaml or .json file", file=str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"OIDC mapping {path} cannot be read: {exc}", file=str(path)) from exc
    try:
        if suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ConfigurationError(
            f"OIDC mapping {path} is not valid {suffix[1:]}: {exc}", file=str(path)
        ) from exc
    try:
        return ClaimMapping.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'file'}: {error['msg']}"
            for error in exc.errors()
        )
        raise ConfigurationError(f"OIDC mapping {path} is not valid: {problems}", file=str(path)) from exc


def map_claims(mapping: ClaimMapping, claims: Mapping[str, Any], now: datetime) -> MappedIdentity:
    """The user name, name, language and requested grants that ``claims`` carry.

    Raises:
        SignInRefused: no issuer or subject, a foreign issuer, claims too old, or no usable
            user name.
    """
    issuer = _required_text(claims, "iss", MAX_ISSUER_LENGTH)
    if mapping.issuer is not None and issuer.rstrip("/") != mapping.issuer.rstrip("/"):
        raise SignInRefused(
            f"the sign-in came from the issuer '{issuer}', but OneStop accepts only '{mapping.issuer}'",
            issuer=issuer,
        )
    subject = _required_text(claims, "sub", MAX_SUBJECT_LENGTH)
    _check_age(mapping, claims, now)
    warnings: list[str] = []
    grants: set[tuple[str, str]] = set()
    for rule in mapping.rules:
        for value in _claim_values(claims, rule.claim, warnings):
            for role, unit in rule.grants_for(value):
                refusal = mapping.role_refusal(role)
                if refusal is None:
                    grants.add((role, unit))
                else:
                    warnings.append(f"claim '{rule.claim}' value '{value}': {refusal}; skipped")
    return MappedIdentity(
        issuer=issuer,
        subject=subject,
        username=_username(mapping, claims),
        display_name=_display_name(mapping, claims),
        locale=_locale(mapping, claims),
        grants=frozenset(grants),
        warnings=tuple(warnings),
    )


def claim(claims: Mapping[str, Any], name: str) -> Any:
    """The claim ``name``; a dotted name that is not a claim is followed into nested objects."""
    if name in claims:
        return claims[name]
    found: Any = claims
    for part in name.split("."):
        if not isinstance(found, Mapping) or part not in found:
            return None
        found = found[part]
    return found


def _claim_values(claims: Mapping[str, Any], name: str, warnings: list[str]) -> list[str]:
    found = claim(claims, name)
    if found is None:
        return []
    items = [found] if isinstance(found, str) else found if isinstance(found, list | tuple) else None
    if items is None:
        warnings.append(f"claim '{name}' is neither a string nor a list; ignored")
        return []
    values = [item for item in items if isinstance(item, str) and 0 < len(item) <= MAX_CLAIM_VALUE_LENGTH]
    if len(values) < len(items):
        warnings.append(f"claim '{name}' holds values that are not short strings; those were ignored")
    return values


def _required_text(claims: Mapping[str, Any], name: str, longest: int) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > longest:
        raise SignInRefused(
            f"the identity provider sent no usable '{name}' claim, which OpenID Connect requires; "
            "ask your administrator to check the provider's configuration",
            claim=name,
        )
    return value.strip()


def _check_age(mapping: ClaimMapping, claims: Mapping[str, Any], now: datetime) -> None:
    if mapping.max_age_minutes is None:
        return
    issued = claims.get("iat")
    if isinstance(issued, bool) or not isinstance(issued, int | float):
        raise SignInRefused(
            "the identity provider sent no 'iat' (issued at) claim, so the age of the sign-in is unknown",
            claim="iat",
        )
    try:
        issued_at = datetime.fromtimestamp(issued, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise SignInRefused(f"the 'iat' claim {issued!r} is not a time", claim="iat") from exc
    if issued_at - now > CLOCK_SKEW:
        raise SignInRefused(
            "the sign-in claims to be issued in the future; check the clocks of OneStop and the "
            "identity provider",
            claim="iat",
        )
    if now - issued_at > timedelta(minutes=mapping.max_age_minutes):
        raise SignInRefused(
            f"your sign-in at the identity provider is older than {mapping.max_age_minutes} minutes; "
            "sign in again",
            claim="iat",
        )


def _username(mapping: ClaimMapping, claims: Mapping[str, Any]) -> str:
    for name in mapping.username_claims:
        value = claim(claims, name)
        if not isinstance(value, str) or not value.strip():
            continue
        username = value.strip().lower()
        unusable = (
            len(username) > MAX_USERNAME_LENGTH
            or username == SYSTEM_ACTOR
            or ":" in username
            or any(c.isspace() or not c.isprintable() for c in username)
        )
        if unusable:
            raise SignInRefused(
                f"the user name '{value[:MAX_USERNAME_LENGTH]}' from the claim '{name}' cannot be used in "
                f"OneStop (at most {MAX_USERNAME_LENGTH} characters, no spaces or ':', not "
                f"'{SYSTEM_ACTOR}')",
                claim=name,
            )
        return username
    raise SignInRefused(
        f"the identity provider sent none of the claims {', '.join(mapping.username_claims)} that "
        "OneStop takes the user name from; ask your administrator to check the OIDC mapping",
        claim=mapping.username_claims[0],
    )


def _display_name(mapping: ClaimMapping, claims: Mapping[str, Any]) -> str:
    for value in (
        claim(claims, mapping.display_name_claim),
        " ".join(str(claims.get(part) or "").strip() for part in ("given_name", "family_name")),
    ):
        if isinstance(value, str) and value.strip():
            return value.strip()[:MAX_DISPLAY_NAME_LENGTH]
    return _username(mapping, claims)


def _locale(mapping: ClaimMapping, claims: Mapping[str, Any]) -> str | None:
    value = claim(claims, mapping.locale_claim)
    if not isinstance(value, str):
        return None
    language = value.strip().replace("_", "-").split("-")[0].lower()
    return language if language in USER_LOCALES else None
