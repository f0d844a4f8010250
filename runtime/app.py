"""Streamlit entry: builds services once and routes to the pages."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).resolve().parent / "pages"

st.set_page_config(page_title="OneStop", page_icon="🏛️", layout="wide")
navigation = st.navigation([st.Page(PAGES / "home.py", title="Home", icon="🏠", default=True)])
navigation.run()
