"""Services for the Streamlit app, built once per server process."""

from __future__ import annotations

import streamlit as st

from engine import OneStop, Settings


@st.cache_resource
def get_onestop() -> OneStop:
    """The engine, built from the environment (``ONESTOP_*``) once per process."""
    return OneStop(Settings())
