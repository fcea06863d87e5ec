"""`tv-adapter-console profile add|list|remove`: no window, secrets only in the keyring.

Most tests call `profile_main` in this process with an in-memory keyring; the subprocess tests
run the command as an operator would, with no keyring at all, and (marked `keyring`) with the
throwaway Secret Service of tests/run_with_keyring.sh, then look into it with secret-tool.
"""

from __future__ import annotations

import datetime
import io
import json
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.SecretService
import keyring.errors
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import console.services.profiles as profiles_module
from console.cli import MAX_SECRET_LENGTH, profile_main
from console.paths import config_dir
from console.services.profiles import PROFILES_FILE, ProfileStore
from console.services.secrets import SERVICE, KeyringSecretStore, profile_key
from tests.support.keyring_env import (
    MemoryKeyring,
    memory_keyring,
    secret_service_keyring,
    secret_tool,
    subprocess_env,
)

REPO = Path(__file__).resolve().parents[2]
NO_KEYRING = "keyring.backends.fail.Keyring"
CLI = (
    "import sys; from console.cli import profile_main; status = profile_main(sys.argv[2:]); "
    "assert 'PySide6' not in sys.modules, 'the command line imported Qt'; sys.exit(status)"
)
PREFIX = "tv-adapter-console: "


@pytest.fixture
def memory() -> Iterator[MemoryKeyring]:
    with memory_keyring() as backend:
        yield backend


def run(argv: list[str], monkeypatch: pytest.MonkeyPatch, stdin: bytes | None = None) -> int:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    return profile_main(argv)


def stored_profiles() -> list[str]:
    store = ProfileStore()
    store.load()
    return [profile.name for profile in store.list()]


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(PREFIX)
    return lines[0][len(PREFIX) :]


def ca_certificate(path: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


# In this process, with an in-memory keyring


def test_add_list_remove_with_a_secret(
    memory: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = secrets.token_urlsafe(32)
    argv = ["add", "Staging", "--url", "https://staging.example.com/", "--secret-stdin"]
    assert run(argv, monkeypatch, f"{secret}\n".encode()) == 0
    store = ProfileStore()
    store.load()
    staging = store.get_by_name("Staging")
    assert staging.base_url == "https://staging.example.com"
    assert memory.values == {(SERVICE, profile_key(staging.id)): secret}
    assert run(["add", "Other", "--url", "http://10.0.0.5:8080"], monkeypatch) == 0
    added = capsys.readouterr()
    assert "Added profile 'Staging'" in added.out
    assert "MemoryKeyring" not in added.err

    assert run(["list"], monkeypatch) == 0
    listing = capsys.readouterr()
    header, embedded, staging_row, other_row = listing.out.splitlines()
    assert header.split() == ["NAME", "URL", "TLS", "PRODUCTION", "SECRET"]
    assert embedded.split()[0] == "Embedded"
    assert staging_row.split() == ["Staging", "https://staging.example.com", "verify", "no", "yes"]
    assert other_row.split() == ["Other", "http://10.0.0.5:8080", "verify", "no", "no"]
    assert secret not in listing.out + listing.err

    assert run(["remove", "STAGING"], monkeypatch) == 0
    assert "Removed profile 'Staging' and its secret" in capsys.readouterr().out
    assert memory.values == {}
    assert stored_profiles() == ["Embedded", "Other"]


def test_add_with_every_option(
    memory: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    ca = ca_certificate(tmp_path / "ca.pem")
    argv = ["add", "Prod", "--url", "https://prod.example.com", "--ca", str(ca)]
    argv += ["--timeout", "2.5", "--production", "--colour", "#ABCDEF"]
    assert run(argv, monkeypatch) == 0
    assert run(["add", "Lab", "--url", "https://lab.example.com", "--insecure"], monkeypatch) == 0
    store = ProfileStore()
    store.load()
    prod, lab = store.get_by_name("prod"), store.get_by_name("lab")
    assert (prod.tls, prod.ca_file, prod.timeout) == ("ca", str(ca.resolve()), 2.5)
    assert (prod.production, prod.colour) == (True, "#abcdef")
    assert (lab.tls, lab.ca_file, lab.production) == ("insecure", None, False)
    capsys.readouterr()
    assert run(["list"], monkeypatch) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[2].split() == [
        "Prod",
        "https://prod.example.com",
        "ca",
        str(ca.resolve()),
        "yes",
        "no",
    ]
    assert rows[3].split() == ["Lab", "https://lab.example.com", "insecure", "no", "no"]


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (b"abc\n", "abc"),
        (b"abc\r\n", "abc"),
        (b"abc", "abc"),
        ("s\u00e9cr\u00eat\n".encode(), "s\u00e9cr\u00eat"),
    ],
)
def test_one_trailing_newline_is_stripped_from_the_secret(
    memory: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, given: bytes, kept: str
) -> None:
    argv = ["add", "S", "--url", "https://s.example.com", "--secret-stdin"]
    assert run(argv, monkeypatch, given) == 0
    assert list(memory.values.values()) == [kept]


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        (b"", "the secret is empty"),
        (b"\n", "the secret is empty"),
        (b"abc\n\n", "line break"),
        (b"a\nb\n", "line break"),
        (b"a\x00b", "control character"),
        (b" abc\n", "starts or ends with a space"),
        (b"\xff\xfe", "not UTF-8"),
        (b"x" * (MAX_SECRET_LENGTH + 1), f"longer than {MAX_SECRET_LENGTH}"),
        ("\u00e9".encode() * 5000, f"longer than {MAX_SECRET_LENGTH}"),
    ],
)
def test_a_bad_secret_is_refused_and_nothing_is_added(
    memory: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    given: bytes,
    fragment: str,
) -> None:
    argv = ["add", "S", "--url", "https://s.example.com", "--secret-stdin"]
    assert run(argv, monkeypatch, given) == 2
    captured = capsys.readouterr()
    message = one_error_line(captured.err)
    assert message.startswith("--secret-stdin: ")
    assert fragment in message
    assert captured.out == ""
    assert memory.values == {}
    assert stored_profiles() == ["Embedded"]
    assert not (config_dir() / PROFILES_FILE).exists()


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["add", "X", "--url", "ftp://x.example.com"], "--url: 'ftp://x.example.com' must start"),
        (["add", "X", "--url", "https://"], "--url: 'https://' has no host name"),
        (["add", "X", "--url", "https://u:p@x.example.com"], "--url: must not contain a user"),
        (["add", "existing", "--url", "https://x.example.com"], "NAME: 'existing' is already"),
        (["add", "embedded", "--url", "https://x.example.com"], "NAME: 'embedded' is already"),
        (["add", " ", "--url", "https://x.example.com"], "NAME: must not be empty"),
        (["add", "X", "--url", "https://x.example.com", "--colour", "red"], "--colour: must look"),
        (["add", "X", "--url", "https://x.example.com", "--timeout", "0"], "--timeout: must be"),
        (["add", "X", "--url", "https://x.example.com", "--timeout", "nan"], "--timeout: must be"),
        (["add", "X", "--url", "https://x.example.com", "--ca", "/no/such/ca.pem"], "--ca: "),
        (["remove", "nobody"], "there is no profile named 'nobody'"),
        (["remove", "Embedded"], "the built-in Embedded profile cannot be removed"),
    ],
)
def test_bad_input_is_one_line_on_stderr_exit_2_and_changes_nothing(
    memory: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    fragment: str,
) -> None:
    assert run(["add", "Existing", "--url", "https://existing.example.com"], monkeypatch) == 0
    before = (config_dir() / PROFILES_FILE).read_bytes()
    capsys.readouterr()
    assert run([*argv, "--secret-stdin"] if argv[0] == "add" else argv, monkeypatch, b"s\n") == 2
    captured = capsys.readouterr()
    assert fragment in one_error_line(captured.err)
    assert captured.out == ""
    assert (config_dir() / PROFILES_FILE).read_bytes() == before
    assert memory.values == {}


def test_a_file_that_is_no_ca_certificate_is_refused(
    memory: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    not_a_ca = tmp_path / "notes.txt"
    not_a_ca.write_text("hello\n")
    argv = ["add", "X", "--url", "https://x.example.com", "--ca", str(not_a_ca)]
    assert run(argv, monkeypatch) == 2
    assert "holds no usable CA certificate" in one_error_line(capsys.readouterr().err)
    assert stored_profiles() == ["Embedded"]


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["add"],
        ["add", "X"],
        ["add", "X", "--url", "https://x.example.com", "--insecure", "--ca", "ca.pem"],
        ["add", "X", "--url", "https://x.example.com", "--timeout", "soon"],
        ["remove"],
        ["list", "extra"],
    ],
)
def test_usage_errors_exit_2(
    memory: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    assert run(argv, monkeypatch) == 2
    assert "usage: tv-adapter-console profile" in capsys.readouterr().err
    assert not (config_dir() / PROFILES_FILE).exists()


def test_help_exits_0(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(["add", "--help"], monkeypatch) == 0
    assert "--secret-stdin" in capsys.readouterr().out


class RefusingKeyring(MemoryKeyring):
    """Answers reads but refuses to store, like a keyring whose unlock prompt was dismissed."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("Failed to unlock the collection!")


def test_a_keyring_that_refuses_the_secret_means_no_profile(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(RefusingKeyring())
    try:
        argv = ["add", "S", "--url", "https://s.example.com", "--secret-stdin"]
        assert run(argv, monkeypatch, b"secret\n") == 2
    finally:
        keyring.set_keyring(previous)
    assert "refused to store the secret" in one_error_line(capsys.readouterr().err)
    assert stored_profiles() == ["Embedded"]


def test_a_profile_that_cannot_be_saved_takes_its_secret_back_out(
    memory: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(path: Path, content: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(profiles_module, "write_private_file", refuse)
    argv = ["add", "S", "--url", "https://s.example.com", "--secret-stdin"]
    assert run(argv, monkeypatch, b"secret\n") == 2
    assert "No space left on device" in one_error_line(capsys.readouterr().err)
    assert memory.values == {}


def test_a_corrupt_profiles_file_is_reported_and_left_alone(
    memory: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config_dir() / PROFILES_FILE
    path.parent.mkdir(parents=True)
    path.write_text("{oops")
    for argv in (["list"], ["add", "X", "--url", "https://x.example.com"], ["remove", "X"]):
        assert run(argv, monkeypatch) == 2
        message = one_error_line(capsys.readouterr().err)
        assert str(path) in message
        assert "not valid JSON" in message
    assert path.read_text() == "{oops"


# As a separate process, the way an operator runs it


def run_cli(
    home: Path, *argv: str, stdin: bytes = b"", backend: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`tv-adapter-console profile ARGV...` with its files under `home`."""
    return subprocess.run(
        [sys.executable, "-c", CLI, "profile", *argv],
        input=stdin.decode(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
        env=subprocess_env(str(home), backend=backend),
    )


def test_without_a_keyring_secret_stdin_is_refused_and_nothing_added(tmp_path: Path) -> None:
    home = tmp_path / "cli-home"
    argv = ["add", "Staging", "--url", "https://staging.example.com", "--secret-stdin"]
    refused = run_cli(home, *argv, stdin=b"the-secret\n", backend=NO_KEYRING)
    assert refused.returncode == 2, refused.stderr
    assert refused.stdout == ""
    assert refused.stderr.startswith(PREFIX)
    assert len(refused.stderr.splitlines()) == 1
    assert "no usable OS keyring" in refused.stderr
    assert "'Staging' was not added" in refused.stderr
    assert not (home / "config" / PROFILES_FILE).exists()

    listing = run_cli(home, "list", backend=NO_KEYRING)
    assert listing.returncode == 0, listing.stderr
    rows = listing.stdout.splitlines()
    assert [row.split()[0] for row in rows] == ["NAME", "Embedded"]
    assert rows[1].split()[-1] == "unknown"
    assert "secrets shown as unknown" in listing.stderr


def test_without_a_keyring_remove_is_refused_rather_than_orphan_a_secret(tmp_path: Path) -> None:
    home = tmp_path / "cli-home"
    added = run_cli(home, "add", "Staging", "--url", "https://s.example.com", backend=NO_KEYRING)
    assert added.returncode == 0, added.stderr
    refused = run_cli(home, "remove", "Staging", backend=NO_KEYRING)
    assert refused.returncode == 2
    assert "'Staging' was not removed" in refused.stderr
    assert "Staging" in run_cli(home, "list", backend=NO_KEYRING).stdout


def test_the_entry_point_dispatches_profile_without_qt(tmp_path: Path) -> None:
    script = (
        "import sys; sys.argv = ['tv-adapter-console', 'profile', 'list']; "
        "from console.main import main; status = main(); "
        "assert 'PySide6' not in sys.modules, 'Qt was imported'; sys.exit(status)"
    )
    listed = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
        env=subprocess_env(str(tmp_path / "cli-home"), backend=NO_KEYRING),
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[1].startswith("Embedded")


@pytest.fixture
def secret_service() -> Iterator[keyring.backends.SecretService.Keyring]:
    with secret_service_keyring() as backend:
        yield backend


def secret_tool_search(profile_id: str) -> str | None:
    """What `secret-tool search` prints for the profile's entry, or None without secret-tool."""
    tool = secret_tool()
    if tool is None:
        return None
    found = subprocess.run(
        [tool, "search", "service", SERVICE, "username", profile_key(profile_id)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return found.stdout


@pytest.mark.keyring
def test_secret_stdin_stores_into_the_real_keyring_and_nowhere_else(
    secret_service: keyring.backends.SecretService.Keyring, tmp_path: Path
) -> None:
    home = tmp_path / "cli-home"
    secret = f"cli-{uuid.uuid4().hex}-{secrets.token_urlsafe(16)}"
    argv = ["add", "Staging", "--url", "https://staging.example.com", "--secret-stdin"]
    added = run_cli(home, *argv, stdin=f"{secret}\n".encode())
    assert added.returncode == 0, added.stderr
    assert "SecretService keyring" in added.stdout
    document = json.loads((home / "config" / PROFILES_FILE).read_text())
    [profile_id] = [p["id"] for p in document["profiles"] if p["name"] == "Staging"]
    keyring_store = KeyringSecretStore(secret_service)
    try:
        assert keyring_store.get(profile_key(profile_id)) == secret
        searched = secret_tool_search(profile_id)
        if searched is not None:  # without secret-tool the Python lookup above stands alone
            assert f"secret = {secret}" in searched.splitlines()

        written = [path for path in home.rglob("*") if path.is_file()]
        assert written
        for path in written:
            content = path.read_bytes()
            assert secret.encode() not in content, path
            assert secret[:16].encode() not in content, path

        listing = run_cli(home, "list")
        assert listing.returncode == 0, listing.stderr
        assert secret not in listing.stdout + listing.stderr
        [row] = [r for r in listing.stdout.splitlines() if r.startswith("Staging")]
        assert row.split()[-1] == "yes"

        removed = run_cli(home, "remove", "staging")
        assert removed.returncode == 0, removed.stderr
        assert "and its secret" in removed.stdout
        assert keyring_store.get(profile_key(profile_id)) is None
        searched = secret_tool_search(profile_id)
        assert searched is None or secret not in searched
    finally:
        keyring_store.delete(profile_key(profile_id))


def test_each_added_profile_gets_a_colour_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("Staging", "UAT", "Demo"):
        assert run(["add", name, "--url", f"https://{name.lower()}.example.com"], monkeypatch) == 0
    store = ProfileStore()
    store.load()
    colours = [profile.colour for profile in store.list()]
    assert len(set(colours)) == len(colours), colours
