"""Services for the Streamlit app, built once per server process."""

from __future__ import annotations

import streamlit as st

from designer.validation import validate_package
from engine import OneStop, Settings


@st.cache_resource
def get_onestop() -> OneStop:
    """The engine, built from the environment (``ONESTOP_*``) once per process; publishing
    is refused while the designer's validation finds errors."""
    return OneStop(Settings(), publish_check=validate_package)
