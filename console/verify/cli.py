"""`tv-adapter-console verify`: a conformance run from a shell or a CI job, no window.

With `--url` and `--secret-stdin` it needs no profile and no keyring (a CI job has neither).
Exit status: 0 when nothing failed, 1 when a check failed or was inconclusive, 2 when the run
could not be made (usage, an unreachable target, a cancelled run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from console.cli import PROG, CliError, checked_ca_file, read_secret
from console.services.export import ExportError
from console.services.profiles import ProfileError, ProfileStore
from console.services.secrets import EMBEDDED_BROKER_SECRET, SecretStoreError, open_secret_store
from console.verify.catalogue import DEFAULT_SUITES, SUITES
from console.verify.context import Identity, RunOptions, Target
from console.verify.history import HistoryError, RunHistory
from console.verify.identities import IdentityError, IdentityStore, identity_from_body
from console.verify.model import CheckResult, RunReport, Status, Verdict
from console.verify.reports import write_html_report, write_json_report, write_junit_report
from console.verify.runner import Run

EXIT_PASSED, EXIT_FAILED, EXIT_NOT_RUN = 0, 1, 2
EXIT_STATUS = {
    Verdict.PASSED: EXIT_PASSED,
    Verdict.FAILED: EXIT_FAILED,
    Verdict.INCONCLUSIVE: EXIT_FAILED,
    Verdict.SKIPPED: EXIT_PASSED,
    Verdict.CANCELLED: EXIT_NOT_RUN,
    Verdict.INCOMPLETE: EXIT_NOT_RUN,
}
"""The run's verdict decides the exit status, as it decides every headline."""
MAX_TABS, MAX_SECONDS, MAX_TIMEOUT = 50, 120, 300


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} verify",
        description="Run the conformance checks against an adapter and write reports "
        "(no window is opened). Secrets and tokens never appear in the output or the reports.",
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--profile", metavar="NAME", help="a saved profile (secret from the keyring)"
    )
    where.add_argument("--url", help="the adapter's base URL; needs --secret-stdin")
    parser.add_argument(
        "--secret-stdin", action="store_true", help="read the broker secret from standard input"
    )
    parser.add_argument(
        "--suite",
        action="append",
        choices=SUITES,
        metavar="NAME",
        help=f"a suite to run (repeatable): {', '.join(SUITES)}; "
        f"default: {', '.join(DEFAULT_SUITES)}",
    )
    identity = parser.add_argument_group("test identity (default: the profile's, or the example)")
    identity.add_argument("--user-id", type=int, metavar="N", help="the cTID user id")
    identity.add_argument("--broker", action="append", metavar="NAME", help="a broker name")
    identity.add_argument("--account", action="append", type=int, metavar="N", help="an account id")
    identity.add_argument("--unverified", action="store_true", help="mint with isVerified false")
    parser.add_argument(
        "--allow-trading",
        action="store_true",
        help="run the trading suite: places and cancels a far limit order, demo accounts only",
    )
    parser.add_argument("--yes", action="store_true", help="run against a production profile")
    tls = parser.add_mutually_exclusive_group()
    tls.add_argument("--insecure", action="store_true", help="do not verify TLS (with --url)")
    tls.add_argument("--ca", metavar="FILE", help="verify TLS against this CA file (with --url)")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="S", help="per request (10)")
    parser.add_argument("--tabs", type=int, default=5, metavar="N", help="latency: tabs (5)")
    parser.add_argument(
        "--seconds", type=float, default=10.0, metavar="S", help="latency: duration (10)"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the JSON report")
    parser.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report")
    parser.add_argument("--html", type=Path, metavar="FILE", help="write the HTML report")
    return parser


def verify_main(argv: list[str]) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_NOT_RUN
    try:
        target, options, profile_id = _prepare(args)
    except (CliError, ProfileError, SecretStoreError, IdentityError) as exc:
        print(f"{PROG} verify: {exc}", file=sys.stderr)
        return EXIT_NOT_RUN
    try:
        report = asyncio.run(_run(target, options))
        return _finish(args, report, profile_id)
    except KeyboardInterrupt:
        print(f"{PROG} verify: interrupted", file=sys.stderr)
        return EXIT_NOT_RUN
    except BrokenPipeError:
        return EXIT_NOT_RUN


def _identity(args: argparse.Namespace, default: Identity) -> Identity:
    given = (args.user_id, args.broker, args.account)
    if all(value is None for value in given) and not args.unverified:
        return default
    body = {
        "userId": args.user_id if args.user_id is not None else default.user_id,
        "brokerNames": args.broker or list(default.broker_names),
        "isVerified": not args.unverified,
    }
    if args.account:
        body["ctidTraderAccountIds"] = args.account
    elif args.user_id is None and default.account_ids:
        body["ctidTraderAccountIds"] = list(default.account_ids)
    return identity_from_body(body)


def _checked_url(url: str) -> str:
    """An http(s) base URL without query or fragment (paths are joined onto it)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CliError(f"--url: {url!r} is not an http:// or https:// URL")
    if parts.query or parts.fragment:
        raise CliError(f"--url: {url!r} has a query or fragment; give the adapter's base URL")
    return url.rstrip("/")


def _prepare(args: argparse.Namespace) -> tuple[Target, RunOptions, str | None]:
    if not 1 <= args.tabs <= MAX_TABS:
        raise CliError(f"--tabs must be between 1 and {MAX_TABS}")
    if not 0 < args.seconds <= MAX_SECONDS:
        raise CliError(f"--seconds must be more than 0 and at most {MAX_SECONDS}")
    if not 0 < args.timeout <= MAX_TIMEOUT:
        raise CliError(f"--timeout must be more than 0 and at most {MAX_TIMEOUT}")
    suites = tuple(args.suite or DEFAULT_SUITES)
    if args.allow_trading and "trading" not in suites:
        suites += ("trading",)
    if "trading" in suites and not args.allow_trading:
        raise CliError("the trading suite places orders: add --allow-trading to run it")
    profile_id: str | None = None
    if args.url is not None:
        if not args.secret_stdin:
            raise CliError("--url needs --secret-stdin (there is no profile to take a secret from)")
        url = _checked_url(args.url)
        verify: bool | str = checked_ca_file(args.ca) if args.ca else not args.insecure
        target = Target(url, read_secret(), verify, args.timeout)
        identity = _identity(args, Identity())
    else:
        store = ProfileStore()
        store.load()
        profile = store.get_by_name(args.profile)
        if profile.embedded:
            raise CliError(
                "the Embedded profile's adapter runs inside the console: verify it on the "
                "Verify page, or verify `tv-adapter serve` with --url"
            )
        if profile.production and not args.yes:
            raise CliError(f"{profile.name!r} is a production profile: add --yes to verify it")
        if profile.production and args.allow_trading:
            raise CliError("the trading suite never runs on a production profile")
        if args.insecure or args.ca:
            raise CliError("--insecure and --ca go with --url; a profile has its own TLS settings")
        secret = (
            read_secret()
            if args.secret_stdin
            else open_secret_store().get(
                EMBEDDED_BROKER_SECRET if profile.embedded else profile.secret_key
            )
        )
        if not secret:
            raise CliError(
                f"no secret is stored for {profile.name!r}; give one with --secret-stdin"
            )
        tls: bool | str = {"verify": True, "insecure": False}.get(
            profile.tls, profile.ca_file or True
        )
        target = Target(
            profile.base_url, secret, tls, args.timeout, profile.name, profile.production
        )
        identity = _identity(args, IdentityStore().get(profile.id))
        profile_id = profile.id
    options = RunOptions(
        suites,
        identity,
        allow_trading=args.allow_trading,
        latency_tabs=args.tabs,
        latency_seconds=args.seconds,
    )
    return target, options, profile_id


def _line(result: CheckResult) -> None:
    print(
        f"{result.status.upper():8} {result.id:28} {result.title} ({result.duration_ms:.0f} ms)",
        flush=True,
    )
    if result.status is not Status.PASSED:
        label = "reason" if result.status is Status.SKIPPED else "actual"
        if result.status is not Status.SKIPPED:
            print(f"{'':9}expected: {result.expected}")
        print(f"{'':9}{label}: {result.actual}", flush=True)


async def _run(target: Target, options: RunOptions) -> RunReport:
    run = Run(target, options, on_result=_line)
    loop = asyncio.get_running_loop()

    def cancel() -> None:
        """The first Ctrl+C stops after the running check; a second one interrupts at once
        (the run still gets CLEAN_UP_SECONDS to log its tokens out)."""
        print("Cancelling after the running check; minted tokens will be logged out.", flush=True)
        run.cancel()
        loop.remove_signal_handler(signal.SIGINT)

    with contextlib.suppress(NotImplementedError):  # Windows' loops take no signal handlers
        loop.add_signal_handler(signal.SIGINT, cancel)
    print(f"Verifying {run.masker.text(target.base_url)} ({', '.join(run.suites)})", flush=True)
    started = time.perf_counter()
    report = await run.run()
    print(f"{report.headline()} in {time.perf_counter() - started:.1f} s", flush=True)
    return report


def _finish(args: argparse.Namespace, report: RunReport, profile_id: str | None) -> int:
    status = EXIT_PASSED
    if report.not_logged_out:
        print(
            f"{PROG} verify: {len(report.not_logged_out)} token(s) minted by the run could not "
            f"be logged out: {', '.join(report.not_logged_out)}",
            file=sys.stderr,
        )
    for path, write in (
        (args.json, write_json_report),
        (args.junit, write_junit_report),
        (args.html, write_html_report),
    ):
        if path is None:
            continue
        try:
            write(report, path)
        except ExportError as exc:
            print(f"{PROG} verify: {exc}", file=sys.stderr)
            status = EXIT_NOT_RUN
        else:
            print(f"Wrote {path}")
    if profile_id is not None:
        try:
            RunHistory().save(profile_id, report)
        except HistoryError as exc:
            print(f"{PROG} verify: {exc}", file=sys.stderr)
    if report.aborted:
        print(f"{PROG} verify: the run could not be completed: {report.aborted}", file=sys.stderr)
    return EXIT_STATUS[report.verdict] or status
