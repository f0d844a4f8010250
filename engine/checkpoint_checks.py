"""Check cases against the newest valid signed checkpoint (see :mod:`engine.chain_checkpoints`).

Every case the checkpoint names must still exist, reach at least the checkpointed seq, and
hold exactly the checkpointed hash at that seq.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.audit import ChainHead, HashedEvent
from engine.chain_checkpoints import check_signatures, current_fingerprint, load_heads
from engine.persistence.database import Database
from engine.views import ChainProblem


@dataclass(frozen=True)
class Anchor:
    """The checkpoint cases are checked against."""

    id: int
    heads: dict[str, tuple[int, str]]


def find_anchor(
    db: Database, key_path: Path, problems: list[ChainProblem], warnings: list[str]
) -> Anchor | None:
    """The newest checkpoint whose signature and heads verify.

    Checkpoints that do not verify are added to ``problems``; one signed with another key
    than the one at ``key_path`` adds a warning.

    Raises:
        ConfigurationError: the key file exists but cannot be read.
    """
    anchor: Anchor | None = None
    for checked in reversed(check_signatures(db)):
        if not checked.valid:
            problems.append(checkpoint_problem(checked.id, checked.reason))
            continue
        if anchor is not None:
            continue
        heads = load_heads(db, checked.id)
        if heads is None:
            problems.append(checkpoint_problem(checked.id, "its heads do not hash to the signed digest"))
            continue
        anchor = Anchor(checked.id, heads)
        current = current_fingerprint(key_path)
        if current != checked.key_fingerprint:
            warnings.append(
                f"checkpoint {checked.id} was signed with key {checked.key_fingerprint[:16]}…, "
                f"not the current key {(current or 'none')[:16]} ({key_path})"
            )
    return anchor


def behind_checkpoint(anchor: Anchor, head: ChainHead, events: Sequence[HashedEvent]) -> ChainProblem | None:
    """Whether a case whose chain verifies falls short of the checkpoint (None: it does not).

    Args:
        anchor: the checkpoint.
        head: the case's header.
        events: the case's events, seq 1 to ``head.last_seq`` (its chain verified).
    """
    recorded = anchor.heads.get(head.dossier_code)
    if recorded is None:
        return None
    seq, digest = recorded
    if head.last_seq < seq:
        return ChainProblem(
            dossier_code=head.dossier_code,
            seq=head.last_seq + 1,
            reason=f"checkpoint {anchor.id} recorded this case at seq {seq}; "
            f"its history now ends at seq {head.last_seq}",
            kind="checkpoint",
            expected=f"seq {seq} hash {digest}",
            found=f"history ends at seq {head.last_seq}",
            checkpoint_id=anchor.id,
        )
    if events[seq - 1].hash != digest:
        return ChainProblem(
            dossier_code=head.dossier_code,
            seq=seq,
            reason=f"the event at seq {seq} is not the one checkpoint {anchor.id} recorded",
            kind="checkpoint",
            element_id=events[seq - 1].element_id,
            expected=f"hash {digest}",
            found=f"hash {events[seq - 1].hash}",
            checkpoint_id=anchor.id,
        )
    return None


def vanished_cases(anchor: Anchor, seen: set[str]) -> list[ChainProblem]:
    """One problem per case the checkpoint names that was not among ``seen``."""
    return [
        ChainProblem(
            dossier_code=code,
            seq=1,
            reason=f"checkpoint {anchor.id} recorded this case at seq {seq}; the case is gone",
            kind="checkpoint",
            expected=f"seq {seq} hash {digest}",
            found="no case",
            checkpoint_id=anchor.id,
        )
        for code, (seq, digest) in sorted(anchor.heads.items())
        if code not in seen
    ]


def checkpoint_problem(checkpoint_id: int, reason: str) -> ChainProblem:
    """A checkpoint that does not verify itself (no case to name)."""
    return ChainProblem(
        dossier_code="",
        seq=0,
        reason=f"checkpoint {checkpoint_id} does not verify: {reason}",
        kind="checkpoint",
        checkpoint_id=checkpoint_id,
    )
