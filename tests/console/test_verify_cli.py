"""`tv-adapter-console verify`: a conformance run from a shell, as a CI job makes it.

The happy path runs the command as a separate process against a real `tv-adapter serve --demo`
with no keyring at all (a CI job has none) and reads the three reports back; the failing path
points it at the in-process adapter with a defect. Exits that need no adapter run in-process.
"""

from __future__ import annotations

import io
import json
import re
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from console.verify.catalogue import DEFAULT_SUITES, catalogue
from console.verify.cli import verify_main
from tests.support.adapter_process import AdapterProcess
from tests.support.defective_adapter import DefectiveAdapter
from tests.support.keyring_env import secret_service_keyring, subprocess_env

REPO = Path(__file__).resolve().parents[2]
NO_KEYRING = "keyring.backends.fail.Keyring"
COMMAND = (
    "import sys; sys.argv = ['tv-adapter-console', 'verify', *sys.argv[1:]]; "
    "from console.main import main; status = main(); "
    "assert 'PySide6' not in sys.modules, 'verify imported Qt'; sys.exit(status)"
)
DEFAULT_IDS = [check.id for check in catalogue() if check.suite in DEFAULT_SUITES]
CHECK_KEYS = {
    "id",
    "suite",
    "title",
    "status",
    "expected",
    "actual",
    "duration_ms",
    "exchanges",
    "details",
}
DOCUMENTED_KEYS = (
    "format",
    "target",
    "profile",
    "adapter_version",
    "started",
    "finished",
    "identity",
    "suites",
    "aborted",
    "only",
    "summary",
    "not_logged_out",
    "checks",
)
"""The report's top level, as docs/verify-report.md documents it."""
EXCHANGE_KEYS = {
    "method",
    "url",
    "request_headers",
    "request_body",
    "status",
    "response_headers",
    "response_body",
    "duration_ms",
    "error",
}
STATUSES = ("passed", "failed", "warning", "skipped", "error")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdapterProcess]:
    data_dir: Path = tmp_path_factory.mktemp("verify-cli") / "data"
    with AdapterProcess(data_dir, ["--demo"]) as process:
        yield process


def verify(home: Path, *argv: str, secret: str) -> subprocess.CompletedProcess[str]:
    """`printf SECRET | tv-adapter-console verify ARGV...` with no keyring, files under home."""
    return subprocess.run(
        [sys.executable, "-c", COMMAND, *argv],
        input=secret,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
        env=subprocess_env(str(home), backend=NO_KEYRING),
    )


def parsed_xml(path: Path) -> ET.Element:
    return ET.fromstring(path.read_text("utf-8"))  # noqa: S314 (a report this test had written)


class Page(HTMLParser):
    """What a browser would fetch for the page (src, href) and the text it would show."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.tags: list[str] = []
        self.ids: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action", "data") and value is not None:
                self.links.append(value)
            if name == "id" and value is not None:
                self.ids.append(value)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_a_conforming_adapter_exits_0_with_three_reports(
    demo: AdapterProcess, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    json_path, junit_path, html_path = tmp_path / "r.json", tmp_path / "r.xml", tmp_path / "r.html"
    done = verify(
        home,
        "--url",
        demo.url,
        "--secret-stdin",
        "--json",
        str(json_path),
        "--junit",
        str(junit_path),
        "--html",
        str(html_path),
        "--seconds",
        "2",
        secret=demo.broker_secret,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""
    for path in (json_path, junit_path, html_path):
        assert f"Wrote {path}" in done.stdout
    lines = done.stdout.splitlines()
    assert lines[0] == f"Verifying {demo.url} ({', '.join(DEFAULT_SUITES)})"
    for check_id in DEFAULT_IDS:
        assert any(line.split()[1:2] == [check_id] for line in lines), check_id
    secret = demo.broker_secret
    for path in (json_path, junit_path, html_path):
        assert secret not in path.read_text("utf-8")
    assert secret not in done.stdout

    # The JSON report, in its documented shape
    document = json.loads(json_path.read_text("utf-8"))
    assert {"target", "started", "finished", "summary", "checks"} <= set(document)
    assert set(document) == set(DOCUMENTED_KEYS)
    assert document["format"] == "tv-adapter-console verify report 1"
    assert document["target"] == demo.url
    assert document["profile"] is None
    assert document["aborted"] is None
    assert document["not_logged_out"] == []
    assert document["suites"] == list(DEFAULT_SUITES)
    assert document["identity"]["userId"] == 14601
    assert datetime.fromisoformat(document["started"]) <= datetime.fromisoformat(
        document["finished"]
    )
    assert set(document["summary"]) == set(STATUSES)
    checks = document["checks"]
    assert [check["id"] for check in checks] == DEFAULT_IDS
    for check in checks:
        assert set(check) >= CHECK_KEYS, check["id"]
        assert check["status"] in ("passed", "skipped"), (check["id"], check["actual"])
        if check["status"] == "skipped":
            assert check["actual"], f"{check['id']} skipped without a reason"
        assert isinstance(check["duration_ms"], int | float)
        for exchange in check["exchanges"]:
            assert set(exchange) >= EXCHANGE_KEYS
    assert {c["id"] for c in checks if c["status"] == "skipped"} == {"tls.certificate"}
    assert document["summary"] == {
        status: sum(c["status"] == status for c in checks) for status in STATUSES
    }
    assert any(check["exchanges"] for check in checks)

    # JUnit XML for CI
    root = parsed_xml(junit_path)
    assert root.tag == "testsuites"
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == len(DEFAULT_IDS) + 2  # and the run's own two cases
    assert [case.get("name", "").split(":")[0] for case in cases[:-2]] == DEFAULT_IDS
    assert [case.get("name") for case in cases[-2:]] == ["run completed", "run tokens logged out"]
    assert [s.get("name") for s in root.findall("testsuite")] == [*DEFAULT_SUITES, "run"]
    assert root.findall(".//failure") == root.findall(".//error") == []
    assert len(root.findall(".//skipped")) == 1

    # One self-contained HTML page
    page = Page()
    markup = html_path.read_text("utf-8")
    page.feed(markup)
    page.close()
    shown = "".join(page.text)
    for check_id in DEFAULT_IDS:
        assert check_id in page.ids
        assert check_id in shown
    assert "link" not in page.tags
    remote = [link for link in page.links if link.startswith(("http:", "https:", "//"))]
    assert remote == []
    assert not re.search(r"(url\(|@import)\s*['\"]?(https?:)?//", markup)
    assert "PASSED" in shown


def test_url_without_secret_stdin_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status = verify_main(["--url", "http://127.0.0.1:9", "--json", str(tmp_path / "r.json")])
    assert status == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "--url needs --secret-stdin" in err
    assert not (tmp_path / "r.json").exists()


def test_an_unreachable_adapter_exits_2_and_still_writes_the_report(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"some-secret-0123456789\n")))
    report = tmp_path / "r.json"
    status = verify_main(
        ["--url", f"http://127.0.0.1:{port}", "--secret-stdin", "--json", str(report)]
    )
    assert status == 2
    out, err = capsys.readouterr()
    assert "the run could not be completed" in err
    assert "Cannot connect" in err
    assert "INCOMPLETE — the run did not complete: " in out
    document = json.loads(report.read_text("utf-8"))
    assert document["aborted"]
    assert {check["status"] for check in document["checks"]} == {"error"}
    assert "some-secret-0123456789" not in out + err + report.read_text("utf-8")


def test_a_failing_check_exits_1(tmp_path: Path) -> None:
    with DefectiveAdapter(tmp_path / "data", defect="any-secret") as adapter:
        junit = tmp_path / "r.xml"
        done = verify(
            tmp_path / "home",
            "--url",
            adapter.url,
            "--secret-stdin",
            "--junit",
            str(junit),
            "--seconds",
            "1",
            "--tabs",
            "2",
            secret=adapter.secret + "\n",
        )
        issued = list(adapter.issued)
    assert done.returncode == 1, done.stdout + done.stderr
    failed = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("FAILED ")]
    assert failed == ["mint.wrong-secret"]
    assert "expected: HTTP 401 with the error envelope and no token" in done.stdout
    root = parsed_xml(junit)
    (failure,) = root.findall(".//failure")
    assert "a wrong secret earned HTTP 200" in failure.get("message", "")
    assert issued
    for text in (done.stdout, done.stderr, junit.read_text("utf-8")):
        assert adapter.secret not in text
        assert not [token for token in issued if token in text]


def test_the_trading_suite_runs_only_when_allowed_and_passes_on_a_demo_account(
    demo: AdapterProcess, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    refused = verify(home, "--url", demo.url, "--secret-stdin", "--suite", "trading", secret="x")
    assert refused.returncode == 2
    assert "--allow-trading" in refused.stderr
    done = verify(
        home,
        "--url",
        demo.url,
        "--secret-stdin",
        "--suite",
        "trading",
        "--allow-trading",
        secret=demo.broker_secret,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [line] = [line for line in done.stdout.splitlines() if "trading.limit-order" in line]
    assert line.startswith("PASSED")


def profile_cli(home: Path, *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`tv-adapter-console profile ARGV...` on the test's Secret Service."""
    return subprocess.run(
        [sys.executable, "-m", "console.main", "profile", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
        env=subprocess_env(str(home)),
    )


def verify_profile(home: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", COMMAND, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=REPO,
        env=subprocess_env(str(home)),
    )


@pytest.mark.keyring
def test_a_profile_run_takes_its_secret_from_the_keyring_and_is_kept_in_its_history(
    demo: AdapterProcess, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    with secret_service_keyring():
        added = profile_cli(
            home, "add", "Demo", "--url", demo.url, "--secret-stdin", stdin=demo.broker_secret
        )
        assert added.returncode == 0, added.stderr
        done = verify_profile(home, "--profile", "demo", "--suite", "broker")
        assert done.returncode == 0, done.stdout + done.stderr
        kept = list((home / "data" / "verify-runs").rglob("*.json"))
        assert len(kept) == 1
        document = json.loads(kept[0].read_text("utf-8"))
        assert document["profile"] == "Demo"
        assert document["summary"]["passed"] == 8
        assert demo.broker_secret not in kept[0].read_text("utf-8")

        production = profile_cli(
            home,
            "add",
            "Prod",
            "--url",
            demo.url,
            "--production",
            "--secret-stdin",
            stdin=demo.broker_secret,
        )
        assert production.returncode == 0, production.stderr
        refused = verify_profile(home, "--profile", "Prod", "--suite", "broker")
        assert refused.returncode == 2
        assert "--yes" in refused.stderr
        assert (
            verify_profile(home, "--profile", "Prod", "--suite", "broker", "--yes").returncode == 0
        )


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--url", "ftp://adapter.example"], "not an http"),
        (["--url", "https://adapter.example/?x=1"], "query or fragment"),
        (["--url", "http://127.0.0.1:9", "--tabs", "0"], "--tabs must be"),
        (["--url", "http://127.0.0.1:9", "--seconds", "1000"], "--seconds must be"),
        (["--url", "http://127.0.0.1:9", "--suite", "trading"], "--allow-trading"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_sent(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert verify_main([*argv, "--secret-stdin"]) == 2
    assert said in capsys.readouterr().err
