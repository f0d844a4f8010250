"""Admin: users with their role grants, and the org units."""

from __future__ import annotations

import streamlit as st

from runtime.services import get_onestop
from runtime.sessions import gettext, require_user, roles_of

_ = gettext()
user = require_user()
if "admin" not in roles_of(user):
    st.error(_("You have no role that can see this page."))
    st.stop()
onestop = get_onestop()

st.title(_("Admin"))
st.subheader(_("Users"))
st.dataframe(
    [
        {
            _("User name"): u.username,
            _("Name"): u.display_name,
            _("Language"): u.locale,
            _("Roles"): ", ".join(f"{g.role}@{g.unit_code}" for g in u.grants),
        }
        for u in onestop.directory.users()
    ],
    hide_index=True,
    use_container_width=True,
)
st.subheader(_("Units"))
st.dataframe(
    [
        {"code": u.code, "name": u.name, "level": u.level, "timezone": u.timezone}
        for u in onestop.directory.units()
    ],
    hide_index=True,
    use_container_width=True,
)
