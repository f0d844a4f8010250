"""Procedures catalogue: every published service manual, for anyone, signed in or not.

Open data only (the manual and the version's metadata); the JSON and CSV files are the
same as ``onestop catalogue export`` writes.
"""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from engine.catalogue_export import to_csv, to_json
from engine.errors import OneStopError
from engine.views import CatalogueEntry, CatalogueFee, CatalogueResult, CatalogueText
from runtime.i18n import format_datetime, format_days
from runtime.package_views import localised
from runtime.services import get_onestop
from runtime.sessions import current_locale, gettext, now

NONE = "—"
ZONE = "Asia/Bangkok"  # publication dates are shown in Indochina time (Bangkok = Ho Chi Minh City)
_MARKDOWN_SPECIALS = "\\`*_{}[]()<>#+-.!|~$"

_ = gettext()
locale = current_locale()
onestop = get_onestop()

st.title(_("Procedures catalogue"))
st.caption(
    _(
        "The service manual of every published procedure: what to bring, what it costs, how long "
        "it takes and where to complain. Open data, free to reuse."
    )
)
try:
    entries = onestop.catalogue.entries()
except OneStopError as exc:
    st.error(exc.message)
    st.stop()


def text(texts: CatalogueText | None) -> str:
    return localised(texts, locale, NONE)


def escaped(value: str) -> str:
    """``value`` shown literally in Markdown (manual texts are data, not markup)."""
    return "".join(f"\\{c}" if c in _MARKDOWN_SPECIALS else c for c in value)


def fact(label: str, value: str | None) -> None:
    st.markdown("**" + escaped(label) + ":** " + escaped(value or NONE))


def heading(label: str) -> None:
    st.markdown("**" + escaped(label) + "**")


def bullets(label: str, values: Iterable[str]) -> None:
    items = [value for value in values if value]
    heading(label)
    st.markdown("\n".join(f"- {escaped(item)}" for item in items) if items else NONE)


def yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


def fee_amount(fee: CatalogueFee) -> str:
    if fee.amount is None:
        return NONE
    if fee.amount == 0:
        return _("None (free of charge)")
    return " ".join(part for part in (f"{fee.amount:g}", fee.currency, fee.unit) if part)


def result_line(result: CatalogueResult) -> str:
    if not result.validity:
        return text(result.name)
    return _("{name} (valid: {validity})").format(name=text(result.name), validity=result.validity)


channel_names: dict[str, str] = {"counter": _("At the counter"), "online": _("Online"), "post": _("By post")}
day_types: dict[str, str] = {"working": _("working days"), "calendar": _("calendar days")}


def time_limit(entry: CatalogueEntry) -> str:
    if entry.time_limit_days is None:
        return NONE
    days = _("Same day") if entry.time_limit_days == 0 else format_days(entry.time_limit_days, locale)
    if entry.day_type is None:
        return days
    return _("{days}, counted in {day_type}").format(days=days, day_type=day_types[entry.day_type])


def draw_entry(entry: CatalogueEntry) -> None:
    fact(_("Procedure code"), entry.procedure_code)
    fact(_("National procedure code"), entry.national_code)
    fact(_("Responsible unit"), text(entry.responsible_unit))
    fact(_("Channels"), ", ".join(channel_names.get(c, c) for c in entry.channels) or NONE)
    fact(_("Time limit"), time_limit(entry))
    if entry.cutoff:
        fact(_("Cut-off time"), entry.cutoff)
    if entry.max_extensions is not None:
        fact(_("Extensions allowed"), str(entry.max_extensions))
    bullets(_("Legal basis"), entry.legal_basis)

    heading(_("Steps"))
    if entry.steps:
        st.dataframe(
            [
                {
                    _("Step"): text(step.name) if step.name else step.id,
                    _("Role"): step.role or NONE,
                    _("Time allowed"): NONE
                    if step.allowance_days is None
                    else format_days(step.allowance_days, locale),
                }
                for step in entry.steps
            ],
            hide_index=True,
            width="stretch",
        )
    else:
        st.markdown(NONE)

    heading(_("Documents"))
    if entry.documents:
        st.caption(_("Documents held by the state are looked up by the office: you need not bring them."))
        st.dataframe(
            [
                {
                    _("Document"): text(document.name),
                    _("Required"): yes_no(document.required),
                    _("Held by the state"): yes_no(document.held_by_state),
                    _("Note"): text(document.note),
                }
                for document in entry.documents
            ],
            hide_index=True,
            width="stretch",
        )
    else:
        st.markdown(NONE)

    heading(_("Fees"))
    if entry.fees:
        st.dataframe(
            [
                {_("Fee"): text(fee.name), _("Amount"): fee_amount(fee), _("Basis"): fee.basis or NONE}
                for fee in entry.fees
            ],
            hide_index=True,
            width="stretch",
        )
    else:
        st.markdown(escaped(_("None: the procedure is free of charge.")))

    bullets(_("Results"), (result_line(result) for result in entry.results))
    fact(_("Complaint channel"), text(entry.complaint_channel))
    st.caption(
        _("Version {version}, published {date}").format(
            version=entry.version, date=format_datetime(entry.published_at, locale, ZONE)
        )
    )
    st.caption(_("Package fingerprint (SHA-256)"))
    st.code(entry.sha256, language=None)


if not entries:
    st.info(_("No procedure has been published yet."))
    st.stop()

moment = now()
left, right = st.columns(2)
left.download_button(
    _("Download JSON (every language)"),
    data=to_json(entries, moment),
    file_name="onestop-catalogue.json",
    mime="application/json",
    key="catalogue.download_json",
)
right.download_button(
    _("Download CSV (this language)"),
    data=to_csv(entries, locale),
    file_name="onestop-catalogue-" + locale + ".csv",
    mime="text/csv",
    key="catalogue.download_csv",
)

query = st.text_input(_("Search"), key="catalogue.search", placeholder=_("Name or code")).strip().casefold()
shown = [
    entry
    for entry in entries
    if not query
    or any(
        query in candidate.casefold()
        for candidate in (entry.procedure_code, entry.national_code or "", *entry.name.values())
    )
]
st.caption(_("{shown} of {total} procedures").format(shown=len(shown), total=len(entries)))
if not shown:
    st.info(_("No procedure matches the search."))
for entry in shown:
    label = _("{name} (version {version})").format(name=text(entry.name), version=entry.version)
    with st.expander(label):
        draw_entry(entry)
