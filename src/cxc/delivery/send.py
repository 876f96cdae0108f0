"""`cxc send`: each person's message, over SMTP (recorded as sent once the server accepts
it) or into an outbox folder for review (recording nothing).

One SMTP connection for the run, with a timeout. A recipient the server refuses is
named and stays unsent while the run goes on; a connection that fails stops the run
and keeps what was sent. Each accepted message is recorded at once, in its own
transaction, so running again sends what is still owed and nothing twice.
"""

from __future__ import annotations

import hashlib
import html
import os
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cxc.calendars import feeds
from cxc.calendars.export import exports_held
from cxc.delivery.changes import Message, pending_messages, when
from cxc.errors import CxcError, UsageError, plural
from cxc.store import read_snapshot, write_transaction

if TYPE_CHECKING:
    import sqlite_utils

TIMEOUT_S = 30.0
PASSWORD_ENV = "CXC_SMTP_PASSWORD"
CAFILE_ENV = "CXC_SMTP_CAFILE"
"""A CA bundle (PEM) to trust instead of the system's, e.g. for a server of one's own."""


class DeliveryError(CxcError):
    """The mail server could not be reached, or the connection failed (exit 2)."""


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    security: str = "none"
    """``none``, ``starttls`` or ``ssl``."""
    user: str | None = None
    timeout: float = TIMEOUT_S
    pause: float = 0.0
    """Seconds to wait between two messages, for servers that throttle."""

    @classmethod
    def parse(cls, spec: str, *, starttls: bool = False, use_ssl: bool = False,
              user: str | None = None, pause: float = 0.0) -> Smtp:
        if starttls and use_ssl:
            raise UsageError("--starttls and --ssl exclude each other; choose one")
        host, sep, port = spec.rpartition(":") if ":" in spec else (spec, "", "")
        if not host or (sep and not port.isdigit()):
            raise UsageError(f"--smtp {spec}: expected HOST or HOST:PORT")
        security = "ssl" if use_ssl else "starttls" if starttls else "none"
        default = {"ssl": 465, "starttls": 587, "none": 25}[security]
        return cls(host, int(port) if port else default, security, user, pause=pause)


@dataclass
class SendSummary:
    sent: int = 0
    refused: list[str] = field(default_factory=list)
    """One line per message the server refused: who, and what it said."""
    written: list[Path] = field(default_factory=list)
    """With an outbox: the files written."""


def build_message(msg: Message, sender: str, now: datetime,
                  feed: feeds.FeedLinks | None = None) -> EmailMessage:
    """The message: To the person only, plain text and HTML, and their calendar attached;
    with ``feed``, their subscription links."""
    prog = msg.programme
    mail = EmailMessage(policy=policy.SMTP)
    what = ("cancelled" if msg.cancelled else
            "your updated itinerary" if any(c.change != "added" for c in msg.changes)
            else "your itinerary")
    mail["Subject"] = f"{prog.title}: {what}"
    mail["From"] = sender
    try:
        mail["To"] = Address(display_name=msg.name, addr_spec=msg.address)
    except (ValueError, IndexError):
        mail["To"] = msg.address
    contact = msg.host.contact if msg.host is not None else None
    if contact is not None and contact.email:
        mail["Reply-To"] = Address(display_name=contact.name or msg.host.name if msg.host else "",
                                   addr_spec=contact.email)
    mail["Date"] = format_datetime(now.astimezone(UTC))
    domain = sender.rpartition("@")[2].strip(" >") or "cxc.invalid"
    digest = hashlib.sha256(b"\0".join(
        [prog.id.encode(), msg.email.encode(), msg.ics,
         repr(msg.changes).encode()])).hexdigest()[:24]
    mail["Message-ID"] = f"<{digest}.{prog.id}@{domain}>"
    mail.set_content(_text(msg, feed))
    mail.add_alternative(_html(msg, feed), subtype="html")
    mail.add_attachment(msg.ics, maintype="text", subtype="calendar",
                        filename=f"{msg.slug}.ics")
    return mail


def _lines(msg: Message) -> tuple[list[str], list[tuple[str, str]]]:
    """(what changed, one line each) and the itinerary as (when, what)."""
    changes = [f"{c.change}: {c.summary}" for c in msg.changes]
    itinerary = [(when(s.event), s.event.summary + (f", {s.event.location}"
                                                    if s.event.location else ""))
                 for s in msg.events if s.event.status != "CANCELLED"]
    return changes, itinerary


def _intro(msg: Message) -> str:
    prog = msg.programme
    if msg.cancelled:
        if prog.status == "cancelled":
            return f"{prog.title} ({prog.id}) is cancelled; every event below is called off."
        return (f"You are no longer taking part in {prog.title} ({prog.id}) ({msg.status}); "
                "every event of yours is cancelled.")
    if msg.status == "admitted":
        return f"You were admitted from the waitlist to {prog.title} ({prog.id})."
    return f"Your itinerary for {prog.title} ({prog.id})."


def _text(msg: Message, feed: feeds.FeedLinks | None = None) -> str:
    changes, itinerary = _lines(msg)
    out = [f"Dear {msg.name},", "", _intro(msg), ""]
    out += ["What changed:", *(f"  - {line}" for line in changes), ""] if changes else [
        "Nothing changed since our last message.", ""]
    if itinerary:
        out += ["Your itinerary:", *(f"  {w}  {what}" for w, what in itinerary), ""]
    out.append(f"Your calendar is attached ({msg.slug}.ics): import it to update your events.")
    if feed is not None:
        out += ["", "Or subscribe to your calendar across all programmes:",
                f"  {feed.webcal}", f"  {feed.web}", feeds.SUBSCRIBE_HOW]
    return "\n".join(out) + "\n"


def _html(msg: Message, feed: feeds.FeedLinks | None = None) -> str:
    changes, itinerary = _lines(msg)
    e = html.escape
    parts = ["<!DOCTYPE html>", '<html><head><meta charset="utf-8">',
             f"<title>{e(msg.programme.title)}</title></head><body>",
             f"<p>Dear {e(msg.name)},</p>", f"<p>{e(_intro(msg))}</p>"]
    if changes:
        parts += ["<h2>What changed</h2>", "<ul>",
                  *(f"<li>{e(line)}</li>" for line in changes), "</ul>"]
    else:
        parts.append("<p>Nothing changed since our last message.</p>")
    if itinerary:
        parts += ["<h2>Your itinerary</h2>", "<table>",
                  *(f"<tr><td>{e(w)}</td><td>{e(what)}</td></tr>" for w, what in itinerary),
                  "</table>"]
    parts += [f"<p>Your calendar is attached ({e(msg.slug)}.ics): import it to update "
              "your events.</p>"]
    if feed is not None:
        parts += ["<p>Or subscribe to your calendar across all programmes:<br>",
                  f'<a href="{e(feed.webcal)}">{e(feed.webcal)}</a><br>',
                  f'<a href="{e(feed.web)}">{e(feed.web)}</a></p>',
                  f"<p>{e(feeds.SUBSCRIBE_HOW)}</p>"]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def send(db: sqlite_utils.Database, sender: str, *, smtp: Smtp | None = None,
         outbox: Path | None = None, programme: str | None = None, every_holder: bool = False,
         now: datetime | None = None, feed_url: str | None = None) -> SendSummary:
    """Send (or, with ``outbox``, write) every message owed; see the module's doc. With
    ``feed_url`` (where `cxc export --feeds` is served), a person who has a feed token is
    sent its subscription links."""
    now = now or datetime.now(UTC)
    if "@" not in sender:
        raise UsageError(f"--from {sender}: not an email address")
    base = feeds.feed_base(feed_url) if feed_url is not None else None
    summary = SendSummary()
    with exports_held(db):  # the history of event versions is shared with export
        with read_snapshot(db.conn):
            messages = pending_messages(db, programme, now, every_holder)
            tokens = feeds.read_tokens(db.conn) if base is not None else {}

        def links(msg: Message) -> feeds.FeedLinks | None:
            token = tokens.get(msg.email)
            return None if base is None or token is None else feeds.feed_links(base, token)

        if outbox is not None:
            for msg in messages:
                summary.written.append(_write_eml(outbox, msg, build_message(
                    msg, sender, now, links(msg))))
            return summary
        if smtp is None or not messages:
            return summary
        with _connect(smtp) as conn:
            for number, msg in enumerate(messages):
                if number and smtp.pause:
                    time.sleep(smtp.pause)
                mail = build_message(msg, sender, now, links(msg))
                try:
                    conn.send_message(mail, from_addr=sender, to_addrs=[msg.address])
                except smtplib.SMTPRecipientsRefused as exc:
                    said = "; ".join(f"{code} {_said(text)}"
                                     for code, text in exc.recipients.values())
                    summary.refused.append(f"{msg.address} ({msg.programme.id}): refused by "
                                           f"the server: {said}")
                    continue
                except smtplib.SMTPDataError as exc:
                    summary.refused.append(f"{msg.address} ({msg.programme.id}): refused by "
                                           f"the server: {exc.smtp_code} {_said(exc.smtp_error)}")
                    continue
                except smtplib.SMTPNotSupportedError:
                    summary.refused.append(f"{msg.address} ({msg.programme.id}): the server "
                                           "does not take non-ASCII addresses (SMTPUTF8)")
                    continue
                except smtplib.SMTPSenderRefused as exc:
                    raise DeliveryError(f"{smtp.host}:{smtp.port}: the server refuses the "
                                        f"sender {sender}: {exc.smtp_code} "
                                        f"{_said(exc.smtp_error)}; {summary.sent} sent") from None
                except (smtplib.SMTPException, OSError) as exc:
                    raise DeliveryError(f"{smtp.host}:{smtp.port}: connection failed after "
                                        f"{plural(summary.sent, 'message')} sent: {exc}; "
                                        "run `cxc send` "
                                        "again to send the rest") from None
                _record(db, msg, str(mail["Message-ID"]), now)
                summary.sent += 1
    return summary


def _said(text: bytes | str) -> str:
    return (text.decode("utf-8", "replace") if isinstance(text, bytes) else text).strip()


class _connect:
    """One SMTP connection for the run, secured and logged in as asked."""

    def __init__(self, smtp: Smtp) -> None:
        self.smtp = smtp
        self.conn: smtplib.SMTP | None = None

    def __enter__(self) -> smtplib.SMTP:
        s = self.smtp
        password = os.environ.get(PASSWORD_ENV)
        if s.user is not None and password is None:
            raise UsageError(f"--user {s.user}: set the password in the environment "
                             f"variable {PASSWORD_ENV}")
        context = _tls_context() if s.security != "none" else None
        try:
            if s.security == "ssl":
                self.conn = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout,
                                             context=context)
            else:
                self.conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                if s.security == "starttls":
                    self.conn.starttls(context=context)
            if s.user is not None and password is not None:
                self.conn.login(s.user, password)
        except (smtplib.SMTPException, OSError) as exc:
            if self.conn is not None:
                self.conn.close()
            raise DeliveryError(f"{s.host}:{s.port}: cannot connect to the mail server: "
                                f"{exc}; nothing sent") from None
        return self.conn

    def __exit__(self, *_: object) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (smtplib.SMTPException, OSError):
                self.conn.close()


def _tls_context() -> ssl.SSLContext:
    """Certificates verified, host names checked: against the system's CAs, or the bundle
    ``CXC_SMTP_CAFILE`` names (never no verification)."""
    cafile = os.environ.get(CAFILE_ENV) or None
    if cafile is None:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"{CAFILE_ENV}={cafile}: cannot read a CA bundle (PEM) there: "
                         f"{exc}") from None


def _record(db: sqlite_utils.Database, msg: Message, message_id: str, now: datetime) -> None:
    """What the server accepted: the person's events as sent, and their versions in the
    history export shares."""
    pid = msg.programme.id
    with write_transaction(db) as conn:
        conn.execute("DELETE FROM sent_events WHERE programme = ? AND email = ?",
                     (pid, msg.email))
        conn.executemany(
            "INSERT INTO sent_events (programme, email, uid, fingerprint, sequence, body) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(pid, msg.email, s.event.uid, s.event.fingerprint, s.sequence, s.event.as_json)
             for s in msg.events])
        conn.execute(
            "INSERT INTO sent_messages (programme, email, address, name, message_id, sent_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (programme, email) DO UPDATE SET "
            "address = excluded.address, name = excluded.name, "
            "message_id = excluded.message_id, sent_at = excluded.sent_at",
            (pid, msg.email, msg.address, msg.name, message_id, now.isoformat()))
        conn.execute("DELETE FROM exported_events WHERE calendar = ?", (msg.calendar,))
        conn.executemany(
            "INSERT INTO exported_events (calendar, uid, fingerprint, sequence, stamp, body) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(msg.calendar, uid, h.fingerprint, h.sequence, h.stamp.isoformat(), h.body)
             for uid, h in sorted(msg.history.items())])
        if msg.new_slug is not None:
            conn.execute("INSERT OR IGNORE INTO person_slugs (slug, person) VALUES (?, ?)",
                         msg.new_slug)


def _write_eml(outbox: Path, msg: Message, mail: EmailMessage) -> Path:
    folder = outbox / msg.programme.id
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / f"{msg.slug}.eml"
        path.write_bytes(mail.as_bytes())
        path.chmod(0o600)
    except OSError as exc:
        raise UsageError(f"{outbox}: cannot write: {exc.strerror or exc}") from None
    return path
