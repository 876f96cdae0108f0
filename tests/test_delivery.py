"""`cxc changes` and `cxc send` (issue 15): a coordinator mails each participant their
itinerary and calendar through a real SMTP server (aiosmtpd on 127.0.0.1), changes the
programme, and mails only what changed, to whom it concerns, once.

Messages are parsed back with the email package; a mailed calendar is compared byte for
byte with the file `cxc export` writes for the same person.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from conftest import PARTNERSHIP, PROGRAMME, PROGRAMME_ID, Result, Runner, edit

FROM = "desk@lille-health.example"
SEATED = {"ana.garcia@example.com", "jordi.puig@example.com", "marta.soler@example.com",
          "kadri.tamm@example.com", "jaan.kask@example.com", "liis.saar@example.com"}
LAB_A = f"{PROGRAMME_ID}.session.lab-a@cxc.invalid"


class Inbox:
    """The aiosmtpd handler: keeps what it accepts, refuses (550) the addresses in ``refuse``."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: Any) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted for delivery"

    def take(self) -> dict[str, EmailMessage]:
        """The messages received since the last take, by recipient (one each, checked)."""
        out: dict[str, EmailMessage] = {}
        for rcpt, content in self.received:
            assert len(rcpt) == 1, rcpt
            assert rcpt[0] not in out, f"{rcpt[0]} got two messages"
            parsed = message_from_bytes(content, policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            out[rcpt[0]] = parsed
        self.received.clear()
        return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, str]]:
    """A real SMTP server on 127.0.0.1 and a free port: (its inbox, `HOST:PORT`)."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, f"127.0.0.1:{port}"
    finally:
        controller.stop()


@pytest.fixture
def planned(run: Runner, write: Callable[[str, str], Path]) -> Callable[[str], None]:
    """Write the programme (as given) and plan it."""
    write("partnership.yaml", PARTNERSHIP)

    def plan(programme: str = PROGRAMME) -> None:
        write("programme.yaml", programme)
        result = run("plan", "partnership.yaml", "programme.yaml", "--format", "json")
        assert result.code == 0, result.output

    return plan


def _send(run: Runner, server: str, *more: str) -> Result:
    return run("send", "--smtp", server, "--from", FROM, *more)


def _attachment(message: EmailMessage) -> tuple[str, bytes]:
    (part,) = list(message.iter_attachments())
    assert part.get_content_type() == "text/calendar"
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    return str(part.get_filename()), data


def _bodies(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",))
    page = message.get_body(("html",))
    assert text is not None and page is not None
    return str(text.get_content()), str(page.get_content())


def _in_lab_a(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {email for (email,) in conn.execute(
            "SELECT email FROM placements WHERE session = 'lab-a'")}


def test_everyone_gets_one_message_with_the_calendar_export_writes_then_nothing_twice(
        run: Runner, planned: Callable[[str], None], smtp: tuple[Inbox, str],
        workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox, server = smtp
    planned(PROGRAMME)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1709000000")  # sent on one day...
    listed = run("changes", "--format", "json")
    assert listed.code == 0, listed.output
    people = listed.json()["people"]
    assert {p["email"] for p in people} == SEATED
    assert all(p["programme"] == PROGRAMME_ID and p["changes"] and
               {c["change"] for c in p["changes"]} == {"added"} for p in people)

    result = _send(run, server)
    assert result.code == 0, result.output
    assert "sent 6 messages" in result.stderr
    got = inbox.take()
    assert set(got) == SEATED

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1709100000")  # ...exported on the next
    assert run("export", "--out", "out").code == 0
    for address, message in got.items():
        assert message["To"].addresses[0].addr_spec == address
        assert message["From"] == FROM
        assert message["Reply-To"].addresses[0].addr_spec == "desk@lille-health.example"
        assert message["Message-ID"].startswith("<") and message["Date"]
        assert message.get_content_type() == "multipart/mixed"
        name, data = _attachment(message)
        exported = workdir / "out" / PROGRAMME_ID / "participants" / name
        assert data == exported.read_bytes(), address
        text, page = _bodies(message)
        assert text.index("What changed:") < text.index("Your itinerary:")
        assert "What changed" in page
    ana_text, _ = _bodies(got["ana.garcia@example.com"])
    assert "2024-03-28 09:30–11:00  Welcome and tour of the campus" in ana_text
    assert len({m["Message-ID"] for m in got.values()}) == 6

    again = _send(run, server)
    assert again.code == 0, again.output
    assert "sent 0 messages" in again.stderr
    assert inbox.take() == {}
    assert run("changes", "--format", "json").json() == {"people": []}


def test_a_session_moved_tells_only_its_people_with_old_and_new_times(
        run: Runner, planned: Callable[[str], None], smtp: tuple[Inbox, str], db: Path,
        workdir: Path) -> None:
    inbox, server = smtp
    planned(PROGRAMME)
    assert _send(run, server).code == 0
    inbox.take()
    attending = _in_lab_a(db)
    assert attending and attending < SEATED

    moved = edit(PROGRAMME, "    start: 2024-03-28 14:00\n    end: 2024-03-28 16:00\n"
                            "    themes: [ai]", "    start: 2024-03-28 14:30\n"
                            "    end: 2024-03-28 16:30\n    themes: [ai]")
    planned(moved)
    assert _in_lab_a(db) == attending
    listed = run("changes", "--format", "json").json()["people"]
    assert {p["email"] for p in listed} == attending
    for person in listed:
        (change,) = person["changes"]
        assert change["change"] == "moved" and change["uid"] == LAB_A
        assert "2024-03-28 14:00–16:00" in change["summary"]
        assert "2024-03-28 14:30–16:30" in change["summary"]

    result = _send(run, server)
    assert result.code == 0, result.output
    got = inbox.take()
    assert set(got) == attending
    assert run("export", "--out", "out").code == 0
    for message in got.values():
        text, page = _bodies(message)
        assert "moved: AI in medical imaging (group A): 2024-03-28 14:00–16:00" in text
        assert "14:30–16:30" in text and "14:30–16:30" in page
        name, data = _attachment(message)
        assert data == (workdir / "out" / PROGRAMME_ID / "participants" / name).read_bytes()
        assert b"SEQUENCE:1" in data


def test_a_withdrawal_sends_that_person_one_cancellation_then_nothing_more(
        run: Runner, planned: Callable[[str], None], smtp: tuple[Inbox, str]) -> None:
    inbox, server = smtp
    planned(PROGRAMME)
    assert _send(run, server).code == 0
    inbox.take()

    withdrawn = edit(PROGRAMME, "    partner: barna-bio\n    travel:\n      - mode: train",
                     "    partner: barna-bio\n    status: withdrawn\n    travel:\n"
                     "      - mode: train")
    planned(withdrawn)
    listed = run("changes", "--format", "json").json()["people"]
    assert [p["email"] for p in listed] == ["jordi.puig@example.com"]
    assert {c["change"] for c in listed[0]["changes"]} == {"cancelled"}

    assert _send(run, server).code == 0
    got = inbox.take()
    assert set(got) == {"jordi.puig@example.com"}
    text, _ = _bodies(got["jordi.puig@example.com"])
    assert "no longer taking part" in text
    _, data = _attachment(got["jordi.puig@example.com"])
    assert data.count(b"BEGIN:VEVENT") == data.count(b"STATUS:CANCELLED") > 0

    assert _send(run, server).code == 0
    assert inbox.take() == {}
    planned(withdrawn)
    assert _send(run, server, "--all").code == 0
    assert set(inbox.take()) == SEATED - {"jordi.puig@example.com"}


def test_a_refused_recipient_is_named_stays_unsent_and_goes_out_next_time(
        run: Runner, planned: Callable[[str], None], smtp: tuple[Inbox, str]) -> None:
    inbox, server = smtp
    planned(PROGRAMME)
    inbox.refuse = {"kadri.tamm@example.com"}
    result = _send(run, server)
    assert result.code == 1, result.output
    assert "kadri.tamm@example.com" in result.stderr and "550" in result.stderr
    assert set(inbox.take()) == SEATED - {"kadri.tamm@example.com"}
    assert [p["email"] for p in run("changes", "--format", "json").json()["people"]] == [
        "kadri.tamm@example.com"]

    inbox.refuse = set()
    again = _send(run, server)
    assert again.code == 0, again.output
    assert set(inbox.take()) == {"kadri.tamm@example.com"}


def test_the_outbox_holds_the_messages_and_nothing_counts_as_sent(
        run: Runner, planned: Callable[[str], None], workdir: Path) -> None:
    planned(PROGRAMME)
    assert run("export", "--out", "out").code == 0
    result = run("send", "--outbox", "outbox", "--from", FROM)
    assert result.code == 0, result.output
    assert "wrote 6 messages" in result.stderr
    files = sorted((workdir / "outbox" / PROGRAMME_ID).glob("*.eml"))
    assert len(files) == 6
    for path in files:
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        name, data = _attachment(message)
        assert name == path.stem + ".ics"
        assert data == (workdir / "out" / PROGRAMME_ID / "participants" / name).read_bytes()
    assert len(run("changes", "--format", "json").json()["people"]) == 6


def test_send_refuses_a_programme_changed_since_it_was_planned_and_sends_nothing(
        run: Runner, planned: Callable[[str], None], smtp: tuple[Inbox, str],
        write: Callable[[str, str], Path]) -> None:
    inbox, server = smtp
    planned(PROGRAMME)
    write("programme.yaml", edit(PROGRAMME, "Wrap-up and next steps", "Wrap-up"))
    assert run("load", "programme.yaml").code == 0
    result = _send(run, server)
    assert result.code == 1
    assert "run `cxc plan`" in result.stderr and "Traceback" not in result.output
    assert run("changes").code == 1
    assert inbox.take() == {}


def test_a_server_that_cannot_be_reached_stops_the_run_with_exit_2(
        run: Runner, planned: Callable[[str], None]) -> None:
    planned(PROGRAMME)
    result = _send(run, f"127.0.0.1:{_free_port()}")
    assert result.code == 2, result.output
    assert "cannot connect" in result.stderr and "Traceback" not in result.output
    assert len(run("changes", "--format", "json").json()["people"]) == 6


def test_a_cancelled_programme_sends_its_cancellation_once_to_whoever_was_sent_it(
        run: Runner, planned: Callable[[str], None], smtp: tuple[Inbox, str]) -> None:
    inbox, server = smtp
    planned(PROGRAMME)
    inbox.refuse = {"liis.saar@example.com"}  # never sent anything: told nothing
    assert _send(run, server).code == 1
    inbox.take()
    inbox.refuse = set()

    planned(edit(PROGRAMME, "  status: confirmed", "  status: cancelled"))
    assert _send(run, server).code == 0
    got = inbox.take()
    assert set(got) == SEATED - {"liis.saar@example.com"}
    for message in got.values():
        assert message["Subject"].endswith(": cancelled")
        _, data = _attachment(message)
        assert data.count(b"BEGIN:VEVENT") == data.count(b"STATUS:CANCELLED") > 0
    assert _send(run, server).code == 0
    assert inbox.take() == {}


def test_names_and_titles_in_greek_and_with_quotes_reach_the_person_readable(
        run: Runner, planned: Callable[[str], None], smtp: tuple[Inbox, str]) -> None:
    inbox, server = smtp
    greek = edit(PROGRAMME, "name: Ana Garcia", 'name: Ελένη "Lena" Παπαδοπούλου')
    planned(edit(greek, "title: Digital health in the Hauts-de-France",
                 'title: "Santé numérique: «les Hauts-de-France»"'))
    assert _send(run, server).code == 0
    message = inbox.take()["ana.garcia@example.com"]
    (to,) = message["To"].addresses
    assert to.display_name == 'Ελένη "Lena" Παπαδοπούλου'
    assert "Santé numérique: «les Hauts-de-France»" in str(message["Subject"])
    text, page = _bodies(message)
    assert "Ελένη" in text and "Ελένη" in page


def test_pause_waits_between_two_messages_for_servers_that_throttle(
        run: Runner, planned: Callable[[str], None], smtp: tuple[Inbox, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    inbox, server = smtp
    planned(PROGRAMME)
    waited: list[float] = []
    monkeypatch.setattr(time, "sleep", waited.append)
    result = _send(run, server, "--pause", "0.5")
    assert result.code == 0, result.output
    assert len(inbox.take()) == 6
    assert waited == [0.5] * 5  # between messages, not before the first


# --starttls, --ssl and --user against aiosmtpd with a self-signed certificate --------

USER, PASSWORD = "desk", "s3cret pass"


@pytest.fixture
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made for the test: (cert, key)."""
    import shutil
    import subprocess

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl missing: cannot make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    made = subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-addext", "basicConstraints=critical,CA:TRUE"],
        capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"openssl cannot make a certificate: {made.stderr.strip()}")
    return cert, key


class _Logins:
    """The aiosmtpd authenticator: accepts USER with PASSWORD, remembers who tried."""

    def __init__(self) -> None:
        self.tried: list[tuple[str, str]] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 auth_data: Any) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode()
        password = auth_data.password.decode()
        self.tried.append((login, password))
        return AuthResult(success=(login, password) == (USER, PASSWORD))


@pytest.fixture
def tls_smtp(certificate: tuple[Path, Path]) -> Iterator[Callable[..., tuple[Inbox, str]]]:
    """Start a TLS server: ``mode`` ``starttls`` (STARTTLS required before anything) or
    ``ssl`` (implicit TLS); ``logins`` requires AUTH. Gives (inbox, `HOST:PORT`)."""
    import ssl

    from aiosmtpd.controller import Controller

    cert, key = certificate
    started: list[Controller] = []

    def start(mode: str, logins: _Logins | None = None) -> tuple[Inbox, str]:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        inbox = Inbox()
        port = _free_port()
        auth: dict[str, Any] = ({"authenticator": logins, "auth_required": True}
                                if logins is not None else {})
        if mode == "starttls":
            controller = Controller(inbox, hostname="127.0.0.1", port=port,
                                    require_starttls=True, tls_context=context, **auth)
        else:
            controller = Controller(inbox, hostname="127.0.0.1", port=port,
                                    ssl_context=context, **auth)
        controller.start()
        started.append(controller)
        return inbox, f"127.0.0.1:{port}"

    try:
        yield start
    finally:
        for controller in started:
            controller.stop()


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_tls_reaches_everyone_trusting_the_ca_bundle_of_cxc_smtp_cafile(
        run: Runner, planned: Callable[[str], None], certificate: tuple[Path, Path],
        tls_smtp: Callable[..., tuple[Inbox, str]], monkeypatch: pytest.MonkeyPatch,
        mode: str) -> None:
    inbox, server = tls_smtp(mode)
    planned(PROGRAMME)
    monkeypatch.setenv("CXC_SMTP_CAFILE", str(certificate[0]))
    result = _send(run, server, f"--{mode}")
    assert result.code == 0, result.output
    assert set(inbox.take()) == SEATED
    assert _send(run, server, f"--{mode}").code == 0
    assert inbox.take() == {}


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_an_untrusted_certificate_is_refused_and_nothing_is_sent(
        run: Runner, planned: Callable[[str], None],
        tls_smtp: Callable[..., tuple[Inbox, str]], monkeypatch: pytest.MonkeyPatch,
        mode: str) -> None:
    inbox, server = tls_smtp(mode)
    planned(PROGRAMME)
    monkeypatch.delenv("CXC_SMTP_CAFILE", raising=False)
    result = _send(run, server, f"--{mode}")
    assert result.code == 2, result.output
    assert "certificate" in result.stderr.lower() and "Traceback" not in result.output
    assert inbox.take() == {}
    assert len(run("changes", "--format", "json").json()["people"]) == 6


def test_a_starttls_server_refuses_a_plain_connection_with_exit_2(
        run: Runner, planned: Callable[[str], None],
        tls_smtp: Callable[..., tuple[Inbox, str]]) -> None:
    inbox, server = tls_smtp("starttls")
    planned(PROGRAMME)
    result = _send(run, server)
    assert result.code == 2, result.output
    assert "Traceback" not in result.output
    assert inbox.take() == {}


def test_a_cafile_that_is_not_a_bundle_is_a_usage_error(
        run: Runner, planned: Callable[[str], None], workdir: Path,
        tls_smtp: Callable[..., tuple[Inbox, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    _, server = tls_smtp("starttls")
    planned(PROGRAMME)
    monkeypatch.setenv("CXC_SMTP_CAFILE", str(workdir / "missing.pem"))
    result = _send(run, server, "--starttls")
    assert result.code == 2, result.output
    assert "CXC_SMTP_CAFILE" in result.stderr


def test_user_logs_in_with_the_password_from_the_environment(
        run: Runner, planned: Callable[[str], None], certificate: tuple[Path, Path],
        tls_smtp: Callable[..., tuple[Inbox, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    logins = _Logins()
    inbox, server = tls_smtp("starttls", logins)
    planned(PROGRAMME)
    monkeypatch.setenv("CXC_SMTP_CAFILE", str(certificate[0]))

    monkeypatch.delenv("CXC_SMTP_PASSWORD", raising=False)
    missing = _send(run, server, "--starttls", "--user", USER)
    assert missing.code == 2 and "CXC_SMTP_PASSWORD" in missing.stderr
    assert PASSWORD not in missing.output

    monkeypatch.setenv("CXC_SMTP_PASSWORD", "wrong")
    wrong = _send(run, server, "--starttls", "--user", USER)
    assert wrong.code == 2, wrong.output
    assert "nothing sent" in wrong.stderr and "Traceback" not in wrong.output
    assert inbox.take() == {}

    monkeypatch.setenv("CXC_SMTP_PASSWORD", PASSWORD)
    result = _send(run, server, "--starttls", "--user", USER)
    assert result.code == 0, result.output
    assert set(inbox.take()) == SEATED
    assert logins.tried[-1] == (USER, PASSWORD)
    assert PASSWORD not in result.output


def test_a_server_that_requires_auth_refuses_a_run_without_user(
        run: Runner, planned: Callable[[str], None], certificate: tuple[Path, Path],
        tls_smtp: Callable[..., tuple[Inbox, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    inbox, server = tls_smtp("ssl", _Logins())
    planned(PROGRAMME)
    monkeypatch.setenv("CXC_SMTP_CAFILE", str(certificate[0]))
    result = _send(run, server, "--ssl")
    assert result.code == 2, result.output  # the sender is refused: the run stops
    assert "Traceback" not in result.output
    assert inbox.take() == {}
