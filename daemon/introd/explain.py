"""`introd explain`: the label, the rules that fired with their evidence, and the intro state."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from introd.classify import Classification, classify
from introd.errors import UserError
from introd.intros import IntroAnalysis, Timing, UserIdentity
from introd.message import Message, Skipped, parse_message
from introd.pipeline import analyse_mailbox

MAX_FILE_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class Explained:
    """One message's decision, or why it could not be parsed."""

    source: str
    message: Message | None
    decision: Classification | None
    reason: str = ""


def explain_bytes(raw: bytes, source: str, user: frozenset[str], folder: str = "INBOX") -> Explained:
    """Parse and classify one message; never raises on bad input."""
    parsed = parse_message(raw, folder=folder)
    if isinstance(parsed, Skipped):
        return Explained(source, None, None, parsed.reason)
    return Explained(source, parsed, classify(parsed, user))


def explain_file(path: Path, user: frozenset[str]) -> Explained:
    """Read, parse and classify one file; unreadable or unparsable files get a reason."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return Explained(str(path), None, None, f"cannot read file: {exc.strerror}")
    if len(raw) > MAX_FILE_BYTES:
        return Explained(str(path), None, None, "larger than 50 MB")
    folder = "Sent" if path.parent.name.lower() == "sent" else "INBOX"
    return explain_bytes(raw, str(path), user, folder)


def intro_index(analyses: list[IntroAnalysis]) -> dict[str, IntroAnalysis]:
    """message_id -> the intro analysis of the thread it belongs to."""
    return {mid: a for a in analyses for mid in a.state.message_ids}


def to_record(item: Explained, intro: IntroAnalysis | None) -> dict[str, Any]:
    """The JSON object `explain --json` prints for one message."""
    if item.message is None or item.decision is None:
        return {"file": item.source, "message_id": None, "label": "unparsable", "intro_related": False,
                "reason": item.reason, "rules": []}
    d = item.decision
    record: dict[str, Any] = {
        "file": item.source,
        "message_id": item.message.message_id,
        "subject": item.message.subject,
        "from": str(item.message.sender) if item.message.sender else None,
        "label": d.label.value,
        "also": [x.value for x in d.also],
        "intro_related": d.intro_related,
        "salesy": round(d.salesy, 2),
        "relayed": d.relayed,
        "automated": list(item.message.automated),
        "rules": [{"rule": e.rule, "label": e.label.value if e.label else None, "evidence": e.text}
                  for e in d.evidence],
    }
    if intro is not None:
        record["thread"] = intro.state.thread_id
        record["stage"] = intro.state.stage.value
        record["role"] = intro.state.role.value
        record["due"] = [{"kind": a.kind.value, "key": a.key, "reason": a.reason} for a in intro.due]
    return record


def render_text(record: dict[str, Any]) -> str:
    """A human-readable block for one message."""
    lines = [f"{record['file']}"]
    if record["label"] == "unparsable":
        lines.append(f"  label: unparsable ({record['reason']})")
        return "\n".join(lines)
    lines.append(f"  message-id: {record['message_id']}")
    lines.append(f"  subject: {record['subject']}")
    lines.append(f"  from: {record['from']}")
    also = f" (also: {', '.join(record['also'])})" if record["also"] else ""
    extras = []
    if record["salesy"]:
        extras.append(f"salesy {record['salesy']:.2f}")
    if record["relayed"]:
        extras.append("relayed")
    if record["automated"]:
        extras.append("automated: " + ", ".join(record["automated"]))
    lines.append(f"  label: {record['label']}{also}" + (f"  [{'; '.join(extras)}]" if extras else ""))
    if record["rules"]:
        lines.append("  rules fired:")
        for rule in record["rules"]:
            target = f" -> {rule['label']}" if rule["label"] else ""
            lines.append(f"    {rule['rule']}{target}: \"{rule['evidence']}\"")
    else:
        lines.append("  rules fired: none (nothing intro-like found)")
    if "stage" in record:
        lines.append(f"  intro: stage {record['stage']}, your role {record['role']}")
        for due in record["due"] or []:
            lines.append(f"  due: {due['kind']}: {due['reason']}")
        if not record["due"]:
            lines.append("  due: nothing")
    return "\n".join(lines)


def explain_files(paths: list[Path], user: frozenset[str], now: datetime, timing: Timing,
                  name: str = "") -> list[dict[str, Any]]:
    """Explain files; the given files together are threaded so replies see their intro's state."""
    items = [explain_file(p, user) for p in paths]
    analyses: dict[str, IntroAnalysis] = {}
    parsed = [i for i in items if i.message is not None and i.decision is not None]
    if user and parsed:
        msgs = [i.message for i in parsed if i.message is not None]
        labels = {i.message.message_id: i.decision for i in parsed if i.message and i.decision}
        identity = UserIdentity(addresses=user, name=name)
        analyses = intro_index(analyse_mailbox(msgs, labels, identity, now, timing))
    return [to_record(i, analyses.get(i.message.message_id) if i.message else None) for i in items]


def _parse_now(value: str | None) -> datetime:
    if not value:
        return datetime.now(timezone.utc)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"--now: expected an ISO 8601 time such as 2026-03-01T09:00:00Z, got {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def run_explain(args: argparse.Namespace, out: TextIO) -> int:
    """Entry point of `introd explain` (files, or --message-id from the state store)."""
    if not args.files and not args.message_id:
        raise UserError("explain: give one or more FILE.eml, or --message-id ID")
    user = frozenset(a.lower() for a in args.user)
    timing = Timing()
    name = ""
    if args.message_id or not user:
        from introd.config import default_config_path, load_config

        if args.config or default_config_path().exists() or args.message_id:
            config = load_config(args.config)
            acct = config.account(args.account) if args.account else config.accounts[0]
            user = user or frozenset(acct.addresses)
            timing, name = config.timing, acct.display_name
    now = _parse_now(getattr(args, "now", None))
    if args.message_id:
        records = [explain_stored(config, acct.name, args.message_id.strip("<>"))]
    else:
        records = explain_files(list(args.files), user, now, timing, name)
    for record in records:
        out.write((json.dumps(record, ensure_ascii=False) if args.json else render_text(record) + "\n") + "\n")
    return 0


def explain_stored(config: Any, account: str, message_id: str) -> dict[str, Any]:
    """Explain a message from the state store, with its stored intro state."""
    from introd.store import StateStore
    from introd.sync import classification_from_json

    if not config.state.path.exists():
        raise UserError(f"no state yet at {config.state.path}: run `introd run --once` first")
    state = StateStore(config.state.path)
    try:
        copies = state.messages_by_id(account, message_id)
        if not copies:
            raise UserError(f"message {message_id!r} is not in the state store of account {account!r}")
        stored = state.classifications(account).get(message_id)
        msg = copies[0]
        decision = classification_from_json(stored) if stored else classify(msg, frozenset())
        record = to_record(Explained(f"{account}:{msg.folder}:{msg.uid}", msg, decision), None)
        if not stored:
            record["note"] = "not a candidate: decided on headers only (body never fetched)"
        for row in state.intros(account):
            st = json.loads(row["state"])
            if message_id in st.get("message_ids", []):
                record.update(thread=row["thread_id"], stage=row["stage"], role=row["role"],
                              due=[{"kind": d["kind"], "key": d["key"], "reason": d["reason"]}
                                   for d in json.loads(row["due"])])
        return record
    finally:
        state.close()
