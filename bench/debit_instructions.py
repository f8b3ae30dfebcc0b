"""Server instructions per debit: PostgreSQL's own work for `credits_debit`, counted by callgrind.

    .venv/bin/python bench/debit_instructions.py [--debits 400]

Why: debits per second on a shared 2-core VM move by ±10 % from one run to the next, which
hides a change worth 3 %. callgrind counts the instructions the server executes, the same on
every run, whatever else the machine does. It runs the debit as bench/ledger.py's workers do
(own client, 1 credit, one lot that never expires, no idempotency key), without the network.

How: a throw-away cluster in a temporary folder (as the `postgres` user when run as root) is
migrated and given 8 organisations through the services, like bench/ledger.py's; then the
server runs in single-user mode (`postgres --single`, no client, no protocol) under
`valgrind --tool=callgrind`, once with 50 warm-up debits and once with 50 + N, each on a
fresh copy of the cluster. The difference divided by N is one debit. Single-user mode parses
and plans each top-level statement (a prepared statement skips that), so the figure counts
~0.1M instructions that the real path does not pay.

Needs PostgreSQL's server binaries and valgrind (Debian: postgresql, valgrind).
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WARM_UP = 50
ORGANISATIONS = 8


def server_binaries() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
    if not found:
        sys.exit("PostgreSQL's server is not installed (Debian: apt-get install postgresql)")
    return found[-1].parent


def as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root."""
    return ["runuser", "-u", "postgres", "--", *command] if os.getuid() == 0 else command


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_cluster(folder: Path, pg_bin: Path, project: Path) -> tuple[Path, list[tuple[int, int]]]:
    """A migrated cluster with the benchmark's organisations; (data folder, [(org, client)])."""
    data = folder / "data"
    subprocess.run(
        as_postgres([str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                     "-E", "UTF8", "--no-sync"]),
        check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    pg_ctl = [str(pg_bin / "pg_ctl"), "-D", str(data), "-w"]
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {folder} -c fsync=off"
    subprocess.run(
        as_postgres([*pg_ctl, "-l", str(folder / "server.log"), "start", "-o", options]),
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        subprocess.run(
            as_postgres([str(pg_bin / "createdb"), "-h", "127.0.0.1", "-p", str(port), "portal"]),
            check=True,
            capture_output=True,
        )
        url = f"postgres://postgres@127.0.0.1:{port}/portal"
        setup = (
            "import sys; sys.path.insert(0, sys.argv[1]); import bench.ledger as b; "
            "b.setup_django(); b.migrate(); "
            f"many, hot = b.make_organisations({ORGANISATIONS}, 'instructions'); "
            "from clients.models import Client; "
            "print([(c.organisation_id, c.pk) for c in Client.objects.filter(pk__in=many)])"
        )
        done = subprocess.run(
            [sys.executable, "-c", setup, str(project)],
            cwd=project,  # Celery puts the working folder first on sys.path
            env={**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings"},
            check=True,
            capture_output=True,
            text=True,
        )
        pairs = [tuple(map(int, pair)) for pair in re.findall(r"\((\d+), (\d+)\)", done.stdout)]
    finally:
        subprocess.run(as_postgres([*pg_ctl, "-m", "fast", "stop"]), capture_output=True)
    return data, pairs


def instructions(
    data: Path, pg_bin: Path, pairs: list[tuple[int, int]], debits: int, call: str
) -> int:
    """Instructions of a single-user server that runs WARM_UP + `debits` debits, on a copy."""
    work = Path(tempfile.mkdtemp(prefix="debit-instructions-", dir=data.parent))
    copy = work / "data"
    shutil.copytree(data, copy, symlinks=True)
    out = work / "callgrind.out"
    statements = "".join(
        call.format(
            f"credits_debit({org}, {client}, 1, 'bench', '', '{{}}'::jsonb, NULL, '', '', "
            "now(), date_trunc('month', now()), NULL, NULL)"
        )
        + "\n"
        for org, client in (pairs[i % len(pairs)] for i in range(WARM_UP + debits))
    )
    if os.getuid() == 0:
        shutil.chown(work, "postgres")
        for path in [copy, *copy.rglob("*")]:
            shutil.chown(path, "postgres")
    done = subprocess.run(
        as_postgres(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                     str(pg_bin / "postgres"), "--single", "-D", str(copy), "-c", "fsync=off",
                     "-c", "autovacuum=off", "portal"]),
        input=statements, capture_output=True, text=True, check=False,
    )  # fmt: skip
    answered = done.stdout.count('"(debited,') + done.stdout.count('outcome = "debited"')
    if answered != WARM_UP + debits:
        sys.exit(f"{answered} of {WARM_UP + debits} debits answered:\n{done.stderr[-2000:]}")
    totals = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
    shutil.rmtree(work)
    return int(totals.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--debits", type=int, default=400, help="measured debits (default 400)")
    parser.add_argument(
        "--as-table",
        action="store_true",
        help="call the function in FROM, as the code before commit 8fd1c7e did",
    )
    parser.add_argument(
        "--project", type=Path, default=ROOT, help="the checkout whose migrations to measure"
    )
    options = parser.parse_args()
    if not shutil.which("valgrind"):
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    pg_bin = server_binaries()
    with tempfile.TemporaryDirectory(prefix="debit-instructions-") as folder:
        if os.getuid() == 0:
            shutil.chown(folder, "postgres")
        data, pairs = make_cluster(Path(folder), pg_bin, options.project.resolve())
        call = "SELECT outcome FROM {}" if options.as_table else "SELECT {}"
        base = instructions(data, pg_bin, pairs, 0, call)
        total = instructions(data, pg_bin, pairs, options.debits, call)
    per_debit = (total - base) / options.debits
    print(f"server: {pg_bin.parent.name} ({pg_bin}), single-user mode under callgrind")
    print(f"{WARM_UP} warm-up debits: {base:,} instructions in all")
    print(f"{WARM_UP} + {options.debits} debits: {total:,} instructions in all")
    print(f"one debit: {per_debit:,.0f} instructions")


if __name__ == "__main__":
    main()
