"""Admin: users and their role grants per org unit, org units, and the directory change log.

Widgets and calls only: the engine decides who may change the directory, checks every value
and protects the last admin; this page shows its answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from zoneinfo import available_timezones

import streamlit as st

from engine.errors import OneStopError
from engine.views import OrgUnitView, UserView
from runtime.i18n import LANGUAGE_NAMES, LOCALES, format_datetime
from runtime.services import get_onestop
from runtime.sessions import current_locale, gettext, now, require_user, roles_of

NOTES = "admin.notes"
CHANGES_SHOWN = 200
DEFAULT_ZONE = "Asia/Bangkok"
ZONES = sorted(available_timezones())

_ = gettext()
user = require_user()
if "admin" not in roles_of(user):
    st.error(_("You have no role that can see this page."))
    st.stop()
onestop = get_onestop()
admin = onestop.administration
locale = current_locale()
actions = {
    "create_user": _("User created"),
    "update_user": _("User changed"),
    "set_password": _("Password set"),
    "deactivate_user": _("User deactivated"),
    "reactivate_user": _("User reactivated"),
    "grant_role": _("Role granted"),
    "revoke_role": _("Role revoked"),
    "create_unit": _("Unit created"),
    "update_unit": _("Unit changed"),
}
levels = {"province": _("Province"), "commune": _("Commune")}


def attempt(call: Callable[[], object], action: str, subject: str) -> None:
    """Run one engine command: on success note it and redraw; otherwise show the engine's message."""
    try:
        call()
    except OneStopError as exc:
        st.error(exc.message)
    else:
        st.session_state[NOTES] = [f"{actions[action]}: {subject}"]
        st.rerun()


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def names_inputs(key: str, current: dict[str, str]) -> dict[str, str]:
    columns = st.columns(len(LOCALES))
    return {
        code: columns[i].text_input(
            _("Name in {language}").format(language=language_name(code)),
            value=current.get(code, ""),
            key=f"{key}.name_{code}",
        )
        for i, code in enumerate(LOCALES)
    }


try:
    users = admin.users(user.username)
    units = admin.units(user.username)
    changes = admin.directory_changes(user.username, limit=CHANGES_SHOWN)
except OneStopError as exc:
    st.error(exc.message)
    st.stop()
unit_names = {u.code: u.names.get(locale) or u.name for u in units}


def unit_label(code: str) -> str:
    return f"{code} · {unit_names[code]}" if code in unit_names else code


st.title(_("Admin"))
for note in st.session_state.pop(NOTES, []):
    st.success(note)
users_tab, units_tab, changes_tab = st.tabs([_("Users"), _("Units"), _("Changes")])


def draw_users(users: list[UserView], units: list[OrgUnitView]) -> None:
    st.dataframe(
        [
            {
                _("User name"): u.username,
                _("Name"): u.display_name,
                _("Language"): language_name(u.locale),
                _("Status"): _("Active") if u.active else _("Inactive"),
                _("Roles"): ", ".join(f"{g.role}@{g.unit_code}" for g in u.grants),
            }
            for u in users
        ],
        hide_index=True,
        width="stretch",
    )
    with st.expander(_("New user")), st.form("admin.new_user"):
        username = st.text_input(_("User name"), key="admin.new_user.username")
        display_name = st.text_input(_("Name"), key="admin.new_user.name")
        new_locale = st.selectbox(
            _("Language"), LOCALES, format_func=language_name, key="admin.new_user.locale"
        )
        password = st.text_input(
            _("Password"),
            type="password",
            key="admin.new_user.password",
            help=_("Optional: without a password the user cannot sign in until one is set."),
        )
        if st.form_submit_button(_("Create user"), type="primary", key="admin.new_user.submit"):
            attempt(
                lambda: admin.create_user(
                    user.username, now(), username, display_name, locale=new_locale, password=password or None
                ),
                "create_user",
                username,
            )
    st.subheader(_("Edit user"))
    chosen_name = st.selectbox(_("User"), [u.username for u in users], key="admin.user")
    chosen = next(u for u in users if u.username == chosen_name)
    draw_user(chosen, units)


def draw_user(chosen: UserView, units: list[OrgUnitView]) -> None:
    key = f"admin.user.{chosen.username}"
    if not chosen.active:
        st.warning(_("This user is inactive and cannot sign in."))
    profile, secret = st.columns(2)
    with profile.form(f"{key}.profile"):
        name = st.text_input(_("Name"), value=chosen.display_name, key=f"{key}.name")
        language = st.selectbox(
            _("Language"),
            LOCALES,
            index=LOCALES.index(chosen.locale) if chosen.locale in LOCALES else 0,
            format_func=language_name,
            key=f"{key}.locale",
        )
        if st.form_submit_button(_("Save"), key=f"{key}.save"):
            attempt(
                lambda: admin.update_user(
                    user.username, now(), chosen.username, display_name=name, locale=language
                ),
                "update_user",
                chosen.username,
            )
    with secret.form(f"{key}.password", clear_on_submit=True):
        password = st.text_input(_("New password"), type="password", key=f"{key}.new_password")
        if st.form_submit_button(_("Set password"), key=f"{key}.set_password"):
            attempt(
                lambda: admin.set_password(user.username, now(), chosen.username, password),
                "set_password",
                chosen.username,
            )
    st.markdown(f"**{_('Roles')}**")
    if chosen.grants:
        st.dataframe(
            [{_("Role"): g.role, _("Unit"): unit_label(g.unit_code)} for g in chosen.grants],
            hide_index=True,
            width="stretch",
        )
    else:
        st.caption(_("No roles yet."))
    with st.form(f"{key}.grant"):
        role_column, unit_column = st.columns(2)
        role = role_column.selectbox(
            _("Role"),
            known_roles(),
            index=None,
            accept_new_options=True,
            placeholder=_("Choose or type a role"),
            key=f"{key}.role",
        )
        unit = unit_column.selectbox(
            _("Unit"), [u.code for u in units], format_func=unit_label, key=f"{key}.unit"
        )
        if st.form_submit_button(_("Grant role"), key=f"{key}.grant_submit"):
            attempt(
                lambda: admin.grant_role(user.username, now(), chosen.username, role or "", unit or ""),
                "grant_role",
                f"{chosen.username} · {role}@{unit}",
            )
    if chosen.grants:
        held = {f"{g.role}@{g.unit_code}": g for g in chosen.grants}
        revoked = st.selectbox(_("Grant to revoke"), list(held), key=f"{key}.revoke_choice")
        if st.button(_("Revoke"), key="admin.revoke"):
            grant = held[revoked]
            attempt(
                lambda: admin.revoke_role(user.username, now(), chosen.username, grant.role, grant.unit_code),
                "revoke_role",
                f"{chosen.username} · {revoked}",
            )
    if chosen.active:
        if st.button(_("Deactivate"), key="admin.deactivate"):
            attempt(
                lambda: admin.deactivate_user(user.username, now(), chosen.username),
                "deactivate_user",
                chosen.username,
            )
    elif st.button(_("Reactivate"), key="admin.reactivate"):
        attempt(
            lambda: admin.reactivate_user(user.username, now(), chosen.username),
            "reactivate_user",
            chosen.username,
        )


def known_roles() -> list[str]:
    """Roles offered in the grant form: the lanes of every procedure and every role held."""
    roles = {"admin", "auditor"} | {g.role for u in users for g in u.grants}
    for version in onestop.procedures.list_versions():
        roles |= {*version.lanes, version.starter_role}
    return sorted(roles)


def draw_units(units: list[OrgUnitView]) -> None:
    st.dataframe(
        [
            {
                _("Code"): u.code,
                _("Name"): u.name,
                _("Level"): levels.get(u.level, u.level),
                _("Parent unit"): u.parent_code or "",
                _("Time zone"): u.timezone,
                _("Country"): u.country,
                **{language_name(code): u.names.get(code, "") for code in LOCALES},
            }
            for u in units
        ],
        hide_index=True,
        width="stretch",
    )
    with st.expander(_("New unit")), st.form("admin.new_unit"):
        first, second = st.columns(2)
        code = first.text_input(_("Code"), key="admin.new_unit.code")
        name = second.text_input(_("Name"), key="admin.new_unit.name")
        level = first.selectbox(
            _("Level"), list(levels), format_func=levels.__getitem__, key="admin.new_unit.level"
        )
        parent = second.selectbox(
            _("Parent unit"),
            ["", *(u.code for u in units)],
            format_func=lambda c: unit_label(c) if c else "—",
            key="admin.new_unit.parent",
        )
        zone = first.selectbox(
            _("Time zone"), ZONES, index=ZONES.index(DEFAULT_ZONE), key="admin.new_unit.zone"
        )
        country = second.text_input(_("Country"), value="TH", key="admin.new_unit.country")
        names = names_inputs("admin.new_unit", {})
        if st.form_submit_button(_("Create unit"), type="primary", key="admin.new_unit.submit"):
            attempt(
                lambda: admin.create_unit(
                    user.username,
                    now(),
                    code,
                    name,
                    level,
                    parent_code=parent or None,
                    timezone=zone,
                    country=country,
                    names=names,
                ),
                "create_unit",
                code,
            )
    st.subheader(_("Edit unit"))
    chosen_code = st.selectbox(_("Unit"), [u.code for u in units], format_func=unit_label, key="admin.unit")
    chosen = next(u for u in units if u.code == chosen_code)
    key = f"admin.unit.{chosen.code}"
    with st.form(f"{key}.edit"):
        first, second = st.columns(2)
        new_name = first.text_input(_("Name"), value=chosen.name, key=f"{key}.name")
        new_zone = second.selectbox(
            _("Time zone"),
            ZONES,
            index=ZONES.index(chosen.timezone) if chosen.timezone in ZONES else None,
            key=f"{key}.zone",
        )
        new_names = names_inputs(key, chosen.names)
        if st.form_submit_button(_("Save"), key=f"{key}.save"):
            attempt(
                lambda: admin.update_unit(
                    user.username, now(), chosen.code, name=new_name, timezone=new_zone or "", names=new_names
                ),
                "update_unit",
                chosen.code,
            )


def shown(value: dict[str, Any] | None) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value is not None else ""


def draw_changes() -> None:
    if not changes:
        st.info(_("No changes yet."))
        return
    zones = {u.code: u.timezone for u in units}
    zone = next((zones[g.unit_code] for g in user.grants if g.unit_code in zones), DEFAULT_ZONE)
    st.dataframe(
        [
            {
                _("When"): format_datetime(c.at, locale, zone),
                _("By"): c.actor,
                _("Action"): actions.get(c.action, c.action),
                _("Subject"): c.subject,
                _("Before"): shown(c.before),
                _("After"): shown(c.after),
            }
            for c in changes
        ],
        hide_index=True,
        width="stretch",
    )


with users_tab:
    draw_users(users, units)
with units_tab:
    draw_units(units)
with changes_tab:
    draw_changes()
