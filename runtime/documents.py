"""A case's documents as a list with download buttons (Task and Case pages).

The bytes are fetched only when a button is pressed: the engine checks the reader and logs
the read with its purpose at that moment, not when the page is drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from engine.errors import OneStopError
from engine.views import AttachmentView
from runtime.i18n import format_datetime


def file_size(size: int) -> str:
    if size >= 2**20:
        return f"{size / 2**20:.1f} MiB"
    if size >= 1024:
        return f"{size / 1024:.0f} KiB"
    return f"{size} B"


def draw_documents(
    documents: Sequence[AttachmentView],
    fetch: Callable[[AttachmentView], bytes] | None,
    *,
    key: str,
    locale: str,
    zone: str,
    _: Callable[[str], str],
) -> None:
    """One row per document; ``fetch`` (None: downloads not offered yet) reads the bytes."""
    if not documents:
        st.caption(_("No documents yet."))
        return
    for document in documents:
        left, right = st.columns([4, 1])
        left.markdown(
            f"📄 **{_escape(document.filename)}** · {file_size(document.size)} · {document.media_type}"
        )
        left.caption(
            _("Uploaded by {user} on {when}").format(
                user=document.uploaded_by, when=format_datetime(document.uploaded_at, locale, zone)
            )
            + (f" · {', '.join(document.fields)}" if document.fields else "")
        )
        if document.restricted:
            right.caption(_("Personal data your role does not need"))
        elif fetch is not None:
            right.download_button(
                _("Download"),
                data=_reader(fetch, document),
                file_name=document.filename,
                mime=document.media_type,
                key=f"{key}.{document.id}",
                on_click="ignore",
            )


def _reader(fetch: Callable[[AttachmentView], bytes], document: AttachmentView) -> Callable[[], bytes]:
    def read() -> bytes:
        try:
            return fetch(document)
        except OneStopError as exc:  # the page offered it, so this is a race (e.g. rights revoked)
            return exc.message.encode()

    return read


def _escape(text: str) -> str:
    """A file name shown as Markdown text, not markup."""
    return "".join("\\" + ch if ch in "\\`*_{}[]()#+-.!|<>~" else ch for ch in text)
