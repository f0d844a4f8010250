"""Home: published procedures and the latest cases the user may see (no personal data)."""

from __future__ import annotations

import streamlit as st

from engine.errors import OneStopError
from runtime.services import get_onestop
from runtime.sessions import gettext, require_user

_ = gettext()
user = require_user()
st.title("OneStop")
st.caption(_("Administrative procedures as standard, auditable workflows."))

onestop = get_onestop()
try:
    versions = [v for v in onestop.procedures.list_versions() if v.status == "published"]
    cases = onestop.queries.recent_cases(user.username, limit=25)
except OneStopError as exc:
    st.error(exc.message)
    st.stop()

st.subheader(_("Published procedures"))
if not versions:
    st.info("No procedure is published yet. Run `make run` (it imports the bundled procedures).")
else:
    st.dataframe(
        [
            {
                "code": v.procedure_code,
                "name": v.names.get("en") or v.procedure_code,
                "ชื่อ / tên": v.names.get("th") or v.names.get("vi") or "",
                "version": v.version,
                "time limit": f"{v.time_limit['value']} {v.time_limit.get('day_type', '')} days"
                if v.time_limit
                else "",
                "published": v.published_at.strftime("%Y-%m-%d") if v.published_at else "",
            }
            for v in versions
        ],
        hide_index=True,
    )

st.subheader(_("Recent cases"))
if not cases:
    st.info(
        "No cases yet. Start one with `onestop cases start building_permit --unit TH.50.01 --as somchai`."
    )
else:
    st.dataframe(
        [
            {
                "dossier": c.dossier_code,
                "procedure": f"{c.procedure_code} v{c.procedure_version}",
                "unit": c.unit_code,
                "status": c.status if not c.outcome else f"{c.status}: {c.outcome}",
                "step": c.current_step,
                "received": c.received_at.strftime("%Y-%m-%d %H:%M"),
                "appointment": c.appointment_date.isoformat() if c.appointment_date else "",
            }
            for c in cases
        ],
        hide_index=True,
    )
