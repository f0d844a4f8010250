"""Previous / Next controls for a paged list; the page number lives in session state."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st


def current_page(key: str) -> int:
    return int(st.session_state.get(key, 0))


def page_controls(key: str, total: int, page_size: int, _: Callable[[str], str]) -> None:
    """Draw the controls under a list of ``total`` items; ``key`` holds the page number."""
    page = current_page(key)
    pages = max(1, -(-total // page_size))
    back, where, forward = st.columns([1, 2, 1])
    if back.button(_("Previous"), key=f"{key}.previous", disabled=page == 0):
        st.session_state[key] = page - 1
        st.rerun()
    where.caption(_("Page {page} of {pages}").format(page=page + 1, pages=pages))
    if forward.button(_("Next"), key=f"{key}.next", disabled=page + 1 >= pages):
        st.session_state[key] = page + 1
        st.rerun()
