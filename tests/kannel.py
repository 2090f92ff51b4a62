"""A real Kannel (Debian's 1.4.5 bearerbox and smsbox) with its fake SMSC, for end-to-end SMS tests.

A test plays the phones through `FakePhone`, which drives Kannel's own `fakesmsc` program (kannel-extras):

    phone -> fakesmsc -> bearerbox -> smsbox -> GET/POST our sms-service URL -> response body -> phone
    our app -> smsbox sendsms (HTTP) -> bearerbox -> fakesmsc -> phone, and delivery reports -> our dlr-url

What this Kannel does (verified against 1.4.5, see the notes on each helper):
- inbound, the sms-service URL gets Kannel's escapes: %I the message id (a UUID), %p the phone, %P our number,
  %b the text's own bytes, %c the coding (0 GSM/UTF-8 text, 1 8-bit, 2 UCS-2) and %C its charset (UTF-8,
  8-BIT, UTF-16BE). With `mo-recode` (on here) a UCS-2 SMS (Cyrillic) arrives as UTF-8 with coding 0.
- the app's answer is the reply: only status 200 or 202 and Content-Type text/plain (text/html is stripped of its
  tags); an empty body sends nothing (`omit-empty`); any other status, 204 too, makes Kannel send "Could not fetch
  content, sorry." (unless `reply_couldnotfetch` says otherwise) and any other type "Result could not be represented
  as an SMS message.". A reply that is not GSM-7 needs the header `X-Kannel-Coding: 2`, or the phone gets "????".
- sendsms wants charset=UTF-8&coding=2 for Cyrillic; long texts go as concatenated parts (67 UCS-2 characters each,
  at most max-messages parts: the rest is cut off). It answers 202 "0: Accepted for delivery", or 202 "3: Queued for
  later delivery" while no SMSC is connected; 403 for a wrong password; nothing (connection refused) when down.
- delivery reports: one type 8 (SMSC accepted, %A "ACK/") and one type 1 (delivered) per message, however many
  parts, in either order. A dlr-url answered with anything but 200/202 (204 too) counts as failed and is repeated
  when http-request-retry is set. Kannel fills its %-escapes in the whole dlr-url: a percent-encoded byte such as
  %C3 in it becomes "UTF-8"3, so keep dlr-url values URL-safe.
- starting takes about 0.15 s, a restart about 0.5 s; messages waiting in the store survive both.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Literal

import httpx

BEARERBOX = Path("/usr/sbin/bearerbox")
SMSBOX = Path("/usr/sbin/smsbox")
FAKESMSC = Path("/usr/lib/kannel/test/fakesmsc")
HOST = "127.0.0.1"

# What our app reads from Kannel's sms-service request (hotline/channels/kannel.py: inbound_from_query). %b is the
# text's bytes, url-encoded, in the charset %C names; %I is Kannel's id for the message (a UUID, new per SMS).
DEFAULT_SERVICE_QUERY: dict[str, str] = {
    "id": "%I",
    "from": "%p",
    "to": "%P",
    "text": "%b",
    "coding": "%c",
    "charset": "%C",
    "time": "%T",
    "smsc": "%i",
}

# Delivery report types, as Kannel's %d gives them.
DLR_DELIVERED = 1
DLR_UNDELIVERED = 2
DLR_BUFFERED = 4
DLR_SMSC_ACCEPTED = 8
DLR_SMSC_REJECTED = 16
DLR_ALL = 31

# The GSM 03.38 default alphabet (and its extension table): anything else needs UCS-2 (coding 2).
_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€\f"
)


def kannel_available() -> bool:
    """Whether bearerbox, smsbox and fakesmsc (Debian's kannel and kannel-extras) are installed here."""
    return all(path.exists() for path in (BEARERBOX, SMSBOX, FAKESMSC)) and shutil.which("stdbuf") is not None


def free_port() -> int:
    """A port nobody listens on right now, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def is_gsm7(text: str) -> bool:
    """Whether the text fits the GSM-7 alphabet (else it has to go as UCS-2, coding 2)."""
    return all(char in _GSM7 for char in text)


@dataclass
class KannelConfig:
    """Everything the generated kannel.conf says; ports left at 0 are chosen free when the object is made."""

    service_url: str = ""  # our app's sms-service route, e.g. http://127.0.0.1:8000/kannel/sms?secret=...
    service_method: Literal["get", "post"] = "get"
    # Appended to service_url (values are Kannel escapes); post-url also sends the text as the body.
    service_query: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SERVICE_QUERY))
    admin_port: int = 0
    smsbox_port: int = 0  # bearerbox's port for smsbox
    sendsms_port: int = 0
    smsc_port: int = 0  # where fakesmsc connects (the `smsc = fake` group)
    admin_password: str = "kannel-admin-test"
    sendsms_username: str = "hotline"
    sendsms_password: str = "sendsms-test-password"
    default_sender: str = "7575"  # the `from` of a sendsms request that gives none
    smsc_id: str = "fake"
    max_messages: int = 10  # parts per message, for sms-service replies and for sendsms
    concatenation: bool = True
    omit_empty: bool = True  # an empty answer from our app sends nothing
    mo_recode: bool = True  # UCS-2 SMS from phones reach us as UTF-8
    accept_x_kannel_headers: bool = True  # our answer may set X-Kannel-Coding (needed for Cyrillic replies)
    reply_couldnotfetch: str | None = None  # None: Kannel's "Could not fetch content, sorry." on a failed request
    reply_dlr_url: str | None = None  # delivery reports for replies (the sms-service's dlr-url), with %d etc.
    reply_dlr_mask: int = DLR_ALL
    http_request_retry: int = 0  # how often smsbox repeats a failed request to our app (sms-service and dlr-url)
    http_queue_delay: int = 1  # seconds between those attempts
    store_type: Literal["spool", "file"] = "spool"  # spool: one file per message, survives even a kill -9
    log_level: int = 0  # 0 debug .. 4 panic, for the log files in the work folder

    def __post_init__(self) -> None:
        # Free ports now, so they can be read (and handed to the app) before Kannel starts.
        for name in ("admin_port", "smsbox_port", "sendsms_port", "smsc_port"):
            if not getattr(self, name):
                setattr(self, name, free_port())

    @property
    def sms_service_url(self) -> str:
        """The URL pattern smsbox fills in for every SMS (literal % in service_url doubled, as Kannel needs)."""
        base = self.service_url.replace("%", "%%")
        if not self.service_query:
            return base
        query = "&".join(f"{urllib.parse.quote(key, safe='')}={value}" for key, value in self.service_query.items())
        return f"{base}{'&' if '?' in base else '?'}{query}"


def sendsms_url(config: KannelConfig) -> str:
    """Kannel's sendsms interface (what HOTLINE_KANNEL_SENDSMS_URL should be)."""
    return f"http://{HOST}:{config.sendsms_port}/cgi-bin/sendsms"


def admin_url(config: KannelConfig, command: str = "status.txt") -> str:
    """Bearerbox's admin interface, with the password (status.txt, status.xml, store-status.html, ...)."""
    return f"http://{HOST}:{config.admin_port}/{command}?password={urllib.parse.quote(config.admin_password)}"


def sendsms_params(
    config: KannelConfig,
    to: str,
    text: str,
    *,
    sender: str | None = None,
    dlr_url: str | None = None,
    dlr_mask: int = DLR_ALL,
    coding: int | None = None,
) -> dict[str, str]:
    """The sendsms query that works for any text: UTF-8 in, UCS-2 (coding 2) out unless it is GSM-7."""
    params = {
        "username": config.sendsms_username,
        "password": config.sendsms_password,
        "to": to,
        "text": text,
        # Kannel converts from this charset; without coding=2 a Cyrillic text reaches the phone as "?????".
        "charset": "UTF-8",
        "coding": str(coding if coding is not None else (0 if is_gsm7(text) else 2)),
        "max-messages": str(config.max_messages),
    }
    if sender is not None:
        params["from"] = sender
    if dlr_url is not None:
        params["dlr-url"] = dlr_url
        params["dlr-mask"] = str(dlr_mask)
    return params


def _quoted(value: str) -> str:
    # kannel.conf values are double-quoted strings; these would end the value or the line.
    if any(char in value for char in '"\n\r'):
        raise ValueError(f"Kannel cannot take {value!r} in its configuration")
    return f'"{value}"'


def _yes(flag: bool) -> str:
    return "true" if flag else "false"


def render_config(config: KannelConfig, workdir: Path) -> str:
    """The kannel.conf for this config, with logs and the message store in workdir."""
    store = workdir / ("store" if config.store_type == "spool" else "store.file")
    service_key = "get-url" if config.service_method == "get" else "post-url"
    lines = [
        "group = core",
        f"admin-port = {config.admin_port}",
        f"admin-interface = {HOST}",
        f"admin-password = {_quoted(config.admin_password)}",
        f"admin-allow-ip = {HOST}",
        f"smsbox-port = {config.smsbox_port}",
        f"smsbox-interface = {HOST}",
        f"box-allow-ip = {HOST}",
        f"log-file = {_quoted(str(workdir / 'bearerbox.log'))}",
        f"log-level = {config.log_level}",
        f"access-log = {_quoted(str(workdir / 'bearerbox-access.log'))}",
        # Messages waiting for the SMSC (or for smsbox) are kept here and sent after a restart.
        f"store-type = {config.store_type}",
        f"store-location = {_quoted(str(store))}",
        "store-dump-freq = 1",
        # Delivery reports Kannel still waits for live in memory: lost when bearerbox restarts.
        "dlr-storage = internal",
        # A phone's concatenated SMS reaches our app as one text.
        "sms-combine-concatenated-mo = true",
        "",
        "group = smsc",
        "smsc = fake",
        f"smsc-id = {config.smsc_id}",
        f"port = {config.smsc_port}",
        f"our-host = {HOST}",
        f"connect-allow-ip = {HOST}",
        "",
        "group = smsbox",
        f"bearerbox-host = {HOST}",
        f"bearerbox-port = {config.smsbox_port}",
        f"sendsms-port = {config.sendsms_port}",
        f"sendsms-interface = {HOST}",
        f"global-sender = {_quoted(config.default_sender)}",
        f"log-file = {_quoted(str(workdir / 'smsbox.log'))}",
        f"log-level = {config.log_level}",
        f"access-log = {_quoted(str(workdir / 'smsbox-access.log'))}",
        f"mo-recode = {_yes(config.mo_recode)}",
        f"http-request-retry = {config.http_request_retry}",
        f"http-queue-delay = {config.http_queue_delay}",
    ]
    if config.reply_couldnotfetch is not None:
        lines.append(f"reply-couldnotfetch = {_quoted(config.reply_couldnotfetch)}")
    lines += [
        "",
        "group = sendsms-user",
        f"username = {_quoted(config.sendsms_username)}",
        f"password = {_quoted(config.sendsms_password)}",
        f"user-allow-ip = {HOST}",
        f"default-sender = {_quoted(config.default_sender)}",
        f"concatenation = {_yes(config.concatenation)}",
        f"max-messages = {config.max_messages}",
        "",
        "group = sms-service",
        "keyword = default",
        "catch-all = true",
        f"{service_key} = {_quoted(config.sms_service_url)}",
        f"max-messages = {config.max_messages}",
        f"concatenation = {_yes(config.concatenation)}",
        f"omit-empty = {_yes(config.omit_empty)}",
        f"accept-x-kannel-headers = {_yes(config.accept_x_kannel_headers)}",
        # X-Kannel-From (the phone) on the request; X-Kannel-To, -Time, -Coding, -SMSC come with post-url anyway.
        "send-sender = true",
    ]
    if config.reply_dlr_url is not None:
        lines += [f"dlr-url = {_quoted(config.reply_dlr_url)}", f"dlr-mask = {config.reply_dlr_mask}"]
    return "\n".join(lines) + "\n"


def _group_alive(pgid: int) -> bool:
    """Whether any process (not a zombie) is still in this process group."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone while we looked
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


class _Box:
    """One Kannel program, in its own process group, with its console output in a file.

    The group is what counts: smsbox that loses bearerbox forks a new smsbox after 10 s and exits ("Bearerbox is
    gone, restarting"), so the process we started may be gone while its successor holds the ports."""

    def __init__(self, name: str, program: Path, conf: Path, workdir: Path) -> None:
        self.name = name
        self.program = program
        self.conf = conf
        self.console = workdir / f"{name}.console.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.console.open("ab") as out:
            # Console at warning level: the full debug log goes to the log-file named in kannel.conf.
            self.process = subprocess.Popen(
                [str(self.program), "-v", "2", str(self.conf)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def running(self) -> bool:
        process = self.process
        if process is None:
            return False
        return process.poll() is None or _group_alive(process.pid)

    def stop(self, timeout: float = 10.0, *, kill: bool = False) -> None:
        process = self.process
        if process is None:
            return
        # SIGTERM is Kannel's orderly shutdown (bearerbox writes its store); SIGKILL if it hangs or when asked.
        self._signal(signal.SIGKILL if kill else signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.running:
            time.sleep(0.05)
        if self.running:
            self._signal(signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(5)
        process.poll()
        self.process = None

    def _signal(self, signum: int) -> None:
        assert self.process is not None
        # The session leader's pid is the group id, also after the leader itself has exited.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)


class KannelError(RuntimeError):
    """Kannel did not start or did not do what a test waited for (the message has the end of its logs)."""


class Kannel:
    """A running bearerbox and smsbox on a generated kannel.conf, in a work folder that keeps logs and store."""

    def __init__(self, config: KannelConfig, workdir: Path) -> None:
        self.config = config
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        if config.store_type == "spool":
            (workdir / "store").mkdir(exist_ok=True)
        self.conf_path = workdir / "kannel.conf"
        self.conf_path.write_text(render_config(config, workdir), encoding="utf-8")
        self.bearerbox = _Box("bearerbox", BEARERBOX, self.conf_path, workdir)
        self.smsbox = _Box("smsbox", SMSBOX, self.conf_path, workdir)
        self.phones: list[FakePhone] = []
        self.client = httpx.Client(timeout=10.0)

    # Addresses

    @property
    def sendsms_url(self) -> str:
        """Kannel's sendsms interface."""
        return sendsms_url(self.config)

    def admin_url(self, command: str = "status.txt") -> str:
        """Bearerbox's admin interface, with the password."""
        return admin_url(self.config, command)

    # Life cycle

    def start(self, timeout: float = 30.0) -> None:
        """Start bearerbox, then smsbox, and wait until both are up and connected."""
        deadline = time.monotonic() + timeout
        if not self.bearerbox.running:
            self.bearerbox.start()
            self._wait(lambda: "Status: running" in self.status(), deadline, "bearerbox to answer on its admin port")
        if not self.smsbox.running:
            self.smsbox.start()
            self._wait(self._smsbox_up, deadline, "smsbox to connect and open its sendsms port")

    def stop(self) -> None:
        """Disconnect the phones and stop smsbox and bearerbox (TERM, then KILL)."""
        for phone in self.phones:
            phone.disconnect()
        self.smsbox.stop()
        self.bearerbox.stop()

    def close(self) -> None:
        """Stop everything and free the HTTP client."""
        self.stop()
        self.client.close()

    def restart(self, *, crash: bool = False, reconnect_phones: bool = True, timeout: float = 30.0) -> None:
        """Stop and start bearerbox and smsbox, keeping the store; crash=True kills bearerbox (kill -9) instead.

        smsbox goes down with bearerbox when bearerbox shuts down in order, and fakesmsc ends when its connection
        closes: both are started again (the phones that were connected, unless reconnect_phones=False)."""
        connected = [phone for phone in self.phones if phone.connected]
        for phone in self.phones:
            phone.disconnect()
        if crash:
            self.bearerbox.stop(kill=True)
        # After a crash smsbox sleeps 10 s, deaf to SIGTERM, before it starts over by itself: kill it too.
        self.smsbox.stop(kill=crash)
        self.bearerbox.stop()
        self.start(timeout)
        if reconnect_phones:
            for phone in connected:
                phone.connect(timeout)

    def restart_bearerbox(self, *, crash: bool = False, timeout: float = 30.0) -> None:
        """Restart bearerbox while messages wait in its store (smsbox and phones come back with it)."""
        self.restart(crash=crash, timeout=timeout)

    def _smsbox_up(self) -> bool:
        if not self.smsbox.running:
            raise KannelError(f"smsbox exited\n{self.log_tail()}")
        return "smsbox:" in self.status() and _port_open(self.config.sendsms_port)

    def _wait(self, check: Callable[[], bool], deadline: float, what: str) -> None:
        while time.monotonic() < deadline:
            if not self.bearerbox.running:
                raise KannelError(f"bearerbox exited while waiting for {what}\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if check():
                    return
            time.sleep(0.05)
        raise KannelError(f"Timed out waiting for {what}\n{self.log_tail()}")

    # Looking at Kannel

    def status(self) -> str:
        """Bearerbox's status page as text ("" when it does not answer)."""
        try:
            response = self.client.get(self.admin_url("status.txt"), timeout=2.0)
        except httpx.HTTPError:
            return ""
        return response.text if response.status_code == 200 else ""

    def smsc_online(self) -> bool:
        """Whether a fakesmsc is connected to the fake SMSC right now."""
        line = next((line for line in self.status().splitlines() if f"FAKE:{self.config.smsc_port}" in line), "")
        return "(online" in line

    def store_size(self) -> int:
        """How many messages bearerbox keeps in its store (waiting for the SMSC, smsbox or an ack)."""
        match = re.search(r"store size (\d+)", self.status())
        return int(match.group(1)) if match else -1

    def wait_for(self, check: Callable[[], bool], timeout: float = 10.0, what: str = "a condition") -> None:
        """Wait until check() is true (for example lambda: kannel.store_size() == 1), else KannelError."""
        self._wait(check, time.monotonic() + timeout, what)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of every log in the work folder, for failure messages."""
        parts = []
        for path in sorted(self.workdir.glob("*.log")):
            text = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(parts)

    # Sending through sendsms

    def send_sms(
        self,
        to: str,
        text: str,
        *,
        sender: str | None = None,
        dlr_url: str | None = None,
        dlr_mask: int = DLR_ALL,
        coding: int | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """What our app does to send: GET sendsms (202 "0: Accepted for delivery" or "3: Queued for later delivery")."""
        params = sendsms_params(self.config, to, text, sender=sender, dlr_url=dlr_url, dlr_mask=dlr_mask, coding=coding)
        params.update(extra or {})
        return self.client.get(self.sendsms_url, params=params)

    # Phones

    def phone(self, *, connect: bool = True, timeout: float = 10.0) -> FakePhone:
        """A fakesmsc on this Kannel (connected unless told otherwise); stopped with Kannel."""
        phone = FakePhone(self, self.workdir / f"fakesmsc-{len(self.phones) + 1}.log")
        self.phones.append(phone)
        if connect:
            phone.connect(timeout)
        return phone


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


@contextlib.contextmanager
def running_kannel(
    tmp_path: Path,
    service_url: str,
    *,
    config: KannelConfig | None = None,
    phone: bool = False,
    timeout: float = 30.0,
) -> Iterator[Kannel]:
    """A started Kannel whose sms-service calls service_url, stopped at the end (logs stay in tmp_path/kannel).

    With phone=True a FakePhone is connected too (kannel.phones[0])."""
    config = replace(config or KannelConfig(), service_url=service_url)
    kannel = Kannel(config, tmp_path / "kannel")
    try:
        kannel.start(timeout)
        if phone:
            kannel.phone(timeout=timeout)
        yield kannel
    finally:
        kannel.close()


# The fake phone network


@dataclass(frozen=True)
class Received:
    """One SMS the fake network delivered to a phone (concatenated parts joined into one text)."""

    sender: str  # who sent it: our short number
    receiver: str  # the phone
    text: str
    coding: Literal["text", "ucs-2", "data"]  # how fakesmsc got it: 7-bit text, UCS-2, or 8-bit
    parts: int = 1  # how many SMS it came as
    complete: bool = True  # False: not all parts came (only after received() timed out)
    raw: tuple[str, ...] = ()  # the lines fakesmsc printed


@dataclass
class _Pending:
    sender: str
    receiver: str
    total: int
    parts: dict[int, bytes] = field(default_factory=dict)
    raw: list[str] = field(default_factory=list)


_LINE = re.compile(r"Got message \d+: <(.*)>$")
_MESSAGE = re.compile(r"^(\S+) (\S+) (text|data|ucs-2|udh) (.*)$", re.DOTALL)
# fakesmsc reads stdin with fgets(256): longer lines come in pieces, see FakePhone.send.
_FGETS_PIECE = 255
# How long the lines of one 7-bit text (split at its line breaks) may take to come, one after the other.
_SETTLE = 0.1


def _unquote(data: str) -> bytes:
    # Kannel's url-encoding: %XX and + for space.
    return urllib.parse.unquote_to_bytes(data.replace("+", " "))


def _looks_like_ucs2(data: bytes) -> bool:
    # fakesmsc does not say how concatenated parts are coded. In UCS-2 every high byte of the Latin, Cyrillic,
    # Greek, Arabic... ranges is below 0x20, which a 7-bit or 8-bit text never has at every other byte.
    return len(data) % 2 == 0 and len(data) > 0 and all(byte < 0x20 for byte in data[::2])


def _decode(data: bytes, ucs2: bool) -> str:
    if ucs2:
        return data.decode("utf-16-be", errors="replace")
    return data.decode("utf-8", errors="replace")


class FakePhone:
    """Kannel's fakesmsc, connected to the fake SMSC: every phone in the world, sending and receiving SMS.

    fakesmsc reads messages from stdin ("sender receiver type data") and prints what Kannel sends it on stderr
    ("Got message N: <sender receiver type data>"). It is run through `stdbuf -i0` because it checks stdin with
    select() and then reads with fgets(): with a buffered stdin, a second line read in the same go would wait
    there until more input came."""

    def __init__(self, kannel: Kannel, log_path: Path) -> None:
        self.kannel = kannel
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self._write_lock = threading.Lock()
        self._changed = threading.Condition()
        self._messages: list[Received] = []
        self._taken = 0
        self._pending: dict[tuple[str, str, int, int], _Pending] = {}
        self._last_text: int | None = None  # index of the last 7-bit text, for a newline inside it
        self._last_line_at = 0.0

    @property
    def connected(self) -> bool:
        """Whether fakesmsc is running (it ends when bearerbox closes its connection)."""
        return self.process is not None and self.process.poll() is None

    def connect(self, timeout: float = 10.0) -> None:
        """Start fakesmsc and wait until bearerbox shows the fake SMSC online."""
        if self.connected:
            return
        if any(phone.connected for phone in self.kannel.phones if phone is not self):
            # The fake SMSC serves one client at a time; a second one would wait unanswered.
            raise KannelError("Another FakePhone is connected: one FakePhone plays every phone")
        self.process = subprocess.Popen(
            ["stdbuf", "-i0", str(FAKESMSC), "-H", HOST, "-r", str(self.kannel.config.smsc_port), "-i", "0"]
            + ["-v", "0"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        assert self.process.stderr is not None
        self._reader = threading.Thread(target=self._read, args=(self.process.stderr,), daemon=True)
        self._reader.start()
        self.kannel.wait_for(self._online, timeout, "fakesmsc to connect to the fake SMSC")

    def _online(self) -> bool:
        if not self.connected:
            log = self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""
            raise KannelError(f"fakesmsc exited\n{log[-2000:]}")
        return self.kannel.smsc_online()

    def disconnect(self, timeout: float = 5.0) -> None:
        """Stop fakesmsc (closing its stdin ends it; kill if not); messages for the phones then wait in Kannel."""
        process = self.process
        if process is None:
            return
        with self._write_lock, contextlib.suppress(OSError):
            assert process.stdin is not None
            process.stdin.close()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)
        if self._reader is not None:
            self._reader.join(5)
        self.process = None
        # Wait until bearerbox has noticed, so that what a test sends next is certainly queued in Kannel.
        with contextlib.suppress(KannelError):
            self.kannel.wait_for(lambda: not self.kannel.smsc_online(), timeout, "the fake SMSC to go offline")

    def send(
        self, sender: str, receiver: str, text: str, coding: Literal["auto", "text", "ucs2", "data"] = "auto"
    ) -> None:
        """An SMS from the phone `sender` to `receiver`; auto: plain ASCII as 7-bit text, anything else as UCS-2.

        UCS-2 is what a phone uses for Cyrillic; "data" sends the UTF-8 bytes as an 8-bit SMS (Kannel then posts
        application/octet-stream, coding 1). This fakesmsc has no "utf8" type (that came after 1.4.5)."""
        if " " in sender or " " in receiver or not sender or not receiver:
            raise ValueError("sender and receiver must be non-empty and without spaces")
        if coding == "auto":
            plain = text.isascii() and text.isprintable()
            coding = "text" if plain else "ucs2"
        if coding == "text":
            if "\n" in text or "\r" in text:
                raise ValueError("a 7-bit text cannot contain a line break here: use coding='ucs2'")
            payload = text.encode("utf-8")
        elif coding == "ucs2":
            payload = urllib.parse.quote_from_bytes(text.encode("utf-16-be"), safe="").encode("ascii")
        else:
            payload = urllib.parse.quote_from_bytes(text.encode("utf-8"), safe="").encode("ascii")
        line = f"{sender} {receiver} {coding} ".encode() + payload
        # fgets hands fakesmsc 255 bytes at a time and it drops a piece shorter than 2 bytes: a line whose length
        # is a multiple of 255 would lose its lone "\n". "\r\n" keeps it (Kannel strips the \r).
        line += b"\r\n" if len(line) % _FGETS_PIECE == 0 else b"\n"
        self._write(line)

    def _write(self, data: bytes) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            raise KannelError("fakesmsc is not connected (call connect())")
        assert process.stdin is not None
        with self._write_lock:
            process.stdin.write(data)
            process.stdin.flush()

    def _poke(self) -> None:
        # fakesmsc only reads its connection when stdin has been quiet for a second; an empty line (which it
        # ignores) makes it read now.
        with contextlib.suppress(OSError, KannelError):
            self._write(b"\n")

    def received(self, timeout: float = 10.0, count: int = 1) -> list[Received]:
        """The SMS that arrived since the last call, once there are at least `count` (or when timeout is over)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                ready = len(self._messages) - self._taken >= count
                # A 7-bit text with a line break comes as several lines: let the rest of them arrive.
                settling = self._last_text is not None and time.monotonic() - self._last_line_at < _SETTLE
                left = deadline - time.monotonic()
                if (ready and not settling) or left <= 0:
                    break
                if not ready:
                    self._changed.release()
                    try:
                        self._poke()
                    finally:
                        self._changed.acquire()
                self._changed.wait(min(left, 0.1 if not ready else _SETTLE))
            if len(self._messages) - self._taken < count:
                # Out of time: hand over parts of a concatenated SMS that never completed as they are.
                for key in list(self._pending):
                    self._finish(key, complete=False)
            new = self._messages[self._taken :]
            self._taken = len(self._messages)
            return new

    def received_one(self, timeout: float = 10.0) -> Received:
        """The next SMS a phone got; AssertionError if none came in time."""
        got = self.received(timeout, count=1)
        assert got, f"No SMS reached the fake phone in {timeout} s\n{self.kannel.log_tail(10)}"
        with self._changed:
            # Give back what came after the first: the next call returns it.
            self._taken -= len(got) - 1
        return got[0]

    @property
    def messages(self) -> list[Received]:
        """Every SMS the phones got so far (taken by received() or not)."""
        with self._changed:
            return list(self._messages)

    def _read(self, stream: IO[bytes]) -> None:
        with self.log_path.open("ab") as log:
            for raw in stream:
                log.write(raw)
                log.flush()
                match = _LINE.search(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
                if match:
                    with self._changed:
                        self._last_line_at = time.monotonic()
                        self._take_line(match.group(1))
                        self._changed.notify_all()

    def _take_line(self, line: str) -> None:
        message = _MESSAGE.match(line)
        if message is None:
            # A 7-bit reply goes to fakesmsc as raw text: a line break in it starts a new "message" line.
            if self._last_text is not None:
                last = self._messages[self._last_text]
                self._messages[self._last_text] = replace(last, text=f"{last.text}\n{line}", raw=(*last.raw, line))
            return
        sender, receiver, kind, rest = message.groups()
        self._last_text = None
        if kind == "text":
            self._last_text = len(self._messages)
            self._messages.append(Received(sender, receiver, rest, "text", raw=(line,)))
        elif kind in ("ucs-2", "data"):
            data, ucs2 = _unquote(rest), kind == "ucs-2"
            self._messages.append(
                Received(sender, receiver, _decode(data, ucs2), "ucs-2" if ucs2 else "data", raw=(line,))
            )
        else:
            self._take_part(sender, receiver, rest, line)

    def _take_part(self, sender: str, receiver: str, rest: str, line: str) -> None:
        # "udh <udh> data <message>": a part of a concatenated SMS (or another UDH message).
        udh_text, _, data_text = rest.partition(" data ")
        udh, data = _unquote(udh_text), _unquote(data_text)
        concat = _concat_info(udh)
        if concat is None:
            coding: Literal["ucs-2", "data"] = "ucs-2" if _looks_like_ucs2(data) else "data"
            self._messages.append(Received(sender, receiver, _decode(data, coding == "ucs-2"), coding, raw=(line,)))
            return
        reference, total, number = concat
        key = (sender, receiver, reference, total)
        pending = self._pending.setdefault(key, _Pending(sender, receiver, total))
        pending.parts[number] = data
        pending.raw.append(line)
        if len(pending.parts) == total:
            self._finish(key, complete=True)

    def _finish(self, key: tuple[str, str, int, int], *, complete: bool) -> None:
        pending = self._pending.pop(key)
        data = b"".join(pending.parts[number] for number in sorted(pending.parts))
        ucs2 = _looks_like_ucs2(data)
        self._messages.append(
            Received(
                pending.sender,
                pending.receiver,
                _decode(data, ucs2),
                "ucs-2" if ucs2 else "text",
                parts=pending.total,
                complete=complete,
                raw=tuple(pending.raw),
            )
        )


def _concat_info(udh: bytes) -> tuple[int, int, int] | None:
    """(reference, total, number) from a concatenation UDH (8-bit or 16-bit reference), else None."""
    position = 1
    while position + 1 < len(udh):
        kind, length = udh[position], udh[position + 1]
        value = udh[position + 2 : position + 2 + length]
        if kind == 0x00 and length == 3:
            return value[0], value[1], value[2]
        if kind == 0x08 and length == 4:
            return value[0] << 8 | value[1], value[2], value[3]
        position += 2 + length
    return None
