"""Access log: who read which case's personal data, when, and why."""

from __future__ import annotations

import streamlit as st

from engine.errors import OneStopError
from runtime.audit.periods import day_bounds, home_zone
from runtime.i18n import format_datetime
from runtime.paging import current_page, page_controls
from runtime.services import get_onestop
from runtime.sessions import current_locale, gettext, require_user

PAGE = "audit.access.page"
PAGE_SIZE = 200

_ = gettext()
user = require_user()
onestop = get_onestop()
locale = current_locale()
zone = home_zone(user, onestop.directory.units())

st.title(_("Access log"))
with st.form("audit.access.filters"):
    row = st.columns(4)
    case = row[0].text_input(_("Dossier code"), key="audit.access.case")
    reader = row[1].text_input(_("Reader"), key="audit.access.reader")
    first = row[2].date_input(_("From"), value=None, key="audit.access.from")
    last = row[3].date_input(_("To"), value=None, key="audit.access.to")
    if st.form_submit_button(_("Search"), type="primary"):
        st.session_state[PAGE] = 0

since, until = day_bounds(first, last, zone)
try:
    page = onestop.access_log.entries(
        user.username,
        case=case or None,
        reader=reader or None,
        since=since,
        until=until,
        limit=PAGE_SIZE,
        offset=current_page(PAGE) * PAGE_SIZE,
    )
except OneStopError as exc:
    st.error(exc.message)
    st.stop()

if not page.items:
    st.info(_("No reads of personal data found."))
    st.stop()
st.dataframe(
    [
        {
            _("When"): format_datetime(item.at, locale, zone),
            _("Reader"): item.actor,
            _("Dossier code"): item.dossier_code or "—",
            _("Fields"): ", ".join(item.fields),
            _("Purpose"): item.purpose,
        }
        for item in page.items
    ],
    hide_index=True,
    use_container_width=True,
)
page_controls(PAGE, page.total, PAGE_SIZE, _)
