"""The checkpoint signing key is created once, even by workers starting at the same moment."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from engine.chain_checkpoints import load_or_create_key, public_key_hex


def _public_key(path: str) -> str:
    return public_key_hex(load_or_create_key(Path(path)).public_key())


def test_workers_starting_together_all_use_one_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "checkpoint_key.pem"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        keys = pool.map(_public_key, [str(path)] * 16)
    assert len(set(keys)) == 1
    assert _public_key(str(path)) == keys[0]
    assert (path.stat().st_mode & 0o777) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["checkpoint_key.pem"]  # no drafts left
