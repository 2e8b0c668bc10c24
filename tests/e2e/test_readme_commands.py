"""Every command in the README's table works as documented, typed into a fresh shell after the
first run: no variable exported by hand, the HMAC key read from ``.env`` as `make setup` writes
it.

The table is parsed from README.md itself, so a command added, changed or removed there fails
here until this file says how to run it (or why it is not run here).
"""

import csv
import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.e2e

# The README command, as written in its table -> the words typed here (placeholders filled in
# with files of this test) and a text its output must show.
RUN_HERE = {
    ".venv/bin/govern run --dataset churn": ("run --dataset churn", "dataset churn"),
    ".venv/bin/govern run --json": ("run --json", None),
    ".venv/bin/govern run --verbose": ("run --verbose", "dataset readmission"),
    ".venv/bin/govern run --source customers=PATH": (
        "run --source customers={changed_customers}",
        "churn_model",
    ),
    ".venv/bin/govern redact --source customers IN.csv OUT.parquet": (
        "redact --source customers data/raw/customers.csv {tmp}/customers.parquet",
        "support_notes",
    ),
    ".venv/bin/govern policy check": ("policy check", "customers"),
    ".venv/bin/govern lineage churn_model@champion [--json]": (
        "lineage churn_model@champion",
        "sha256",
    ),
    ".venv/bin/govern diff churn_model@1 churn_model@2 [--json]": (
        "diff churn_model@1 churn_model@2",
        "churn_model",
    ),
    # The README's example subject is not in the sample: found nowhere, nothing is erased, and
    # `--allow-missing` makes that exit 0 (the real erasure: tests/e2e/test_erasure_e2e.py).
    ".venv/bin/govern erase --dataset churn --subject customer_id=1042 [--reason TEXT]": (
        "erase --dataset churn --subject customer_id=1042 --reason 'readme' --allow-missing",
        "nothing erased",
    ),
    ".venv/bin/govern reproduce churn_model@3 [--rebuild] [--json]": (
        "reproduce churn_model@1",
        "MATCH",
    ),
    ".venv/bin/govern report churn_model@3": ("report churn_model@1", "report"),
    ".venv/bin/govern generate (--customers N | --patients N) [--out DIR]": (
        "generate --customers 50 --out {tmp}/generated",
        None,
    ),
    ".venv/bin/govern contract init --source NAME [--force]": (
        "contract init --source customers --force",
        "customers",
    ),
    ".venv/bin/govern new-dataset NAME --source PATH [--source PATH] --target COL": (
        "new-dataset loans --source {tmp}/applications.csv --target churned",
        "loans",
    ),
}
# The same, for `make` targets run in the copy.
MAKE_HERE = {"make clean": ("clean", None)}
NOT_RUN_HERE = {
    "make ui": "serves until stopped; tests/e2e/test_ui.py starts the UI and checks it",
    ".venv/bin/govern ui --read-only [--port N]": "serves until stopped; tests/e2e/test_ui.py "
    "starts it on a free port, checks that a launch is refused, and stops it with SIGTERM",
    "make mlflow": "serves until stopped; the store it serves is read by the lineage tests",
    "make lock": "resolves against the package index and rewrites the checkout's lock file",
    "make lint / make format": "`make test` runs `make lint` before this suite; `make format` "
    "rewrites the checkout's code",
}


def readme_commands() -> list[str]:
    """The first column of the table under "Other commands:" in README.md."""
    lines = (REPO / "README.md").read_text(encoding="utf-8").split("\nOther commands:\n", 1)[1]
    commands = []
    for line in lines.splitlines():
        if line.startswith("| `"):
            cell = line.split("` |", 1)[0].removeprefix("| `")
            commands.append(cell.replace("\\|", "|").replace("` / `", " / "))
        elif commands and not line.startswith("|"):
            break
    return commands


def test_the_readme_table_lists_only_commands_this_file_knows():
    # given the README's command table
    commands = readme_commands()
    # when it is compared with the commands run here and those left out with a reason
    known = {*RUN_HERE, *MAKE_HERE, *NOT_RUN_HERE}
    # then each is one or the other
    assert commands, "no command table found under 'Other commands:' in README.md"
    unknown = [c for c in commands if c not in known]
    assert unknown == [], f"README commands with no way to run them in this test: {unknown}"
    stale = sorted(known - set(commands))
    assert stale == [], f"commands this test runs that the README no longer lists: {stale}"


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory, small_sample: Path) -> Path:
    """A copy of the project as a new user has it after `make run`: the declarations, the
    sample (a small one, for speed), the Makefile, `.env` written by `make`, the installed
    environment, and one `govern run` done."""
    root = tmp_path_factory.mktemp("checkout")
    for folder in ("datasets", "policies", "expectations"):
        shutil.copytree(REPO / folder, root / folder)
    for name in ("Makefile", "requirements.lock", "README.md"):
        shutil.copy2(REPO / name, root / name)
    shutil.copytree(REPO / "data" / "raw" / "readmission", root / "data" / "raw" / "readmission")
    for sample in small_sample.glob("*.csv"):
        shutil.copy(sample, root / "data" / "raw" / sample.name)
    (root / ".venv").symlink_to(REPO / ".venv")
    make(root, ".env")
    assert "GOVERN_HMAC_KEY=" in (root / ".env").read_text(encoding="utf-8")
    govern(root, "run")
    return root


def fresh_env(root: Path) -> dict[str, str]:
    """A new login's environment: nothing of this project exported, not even the key. The copy
    stands in for the checkout through GOVERN_PROJECT_ROOT (the installed package's own
    checkout is the default)."""
    home = root.parent / "home"
    home.mkdir(exist_ok=True)
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "GOVERN_PROJECT_ROOT": str(root),
    }


def shell(root: Path, argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv, cwd=root, env=fresh_env(root), capture_output=True, text=True, timeout=900
    )


def govern(root: Path, words: str) -> subprocess.CompletedProcess:
    done = shell(root, [".venv/bin/govern", *shlex.split(words)])
    assert done.returncode == 0, f"govern {words}: exit {done.returncode}\n{done.stderr[-3000:]}"
    return done


def make(root: Path, target: str) -> subprocess.CompletedProcess:
    done = shell(root, ["make", "--no-print-directory", target])
    assert done.returncode == 0, f"make {target}: exit {done.returncode}\n{done.stderr[-3000:]}"
    return done


def fill(words: str, root: Path) -> str:
    """The placeholders: a scratch folder, a changed customers file (a new model version), a
    file for a new dataset."""
    tmp = root.parent / "scratch"
    tmp.mkdir(exist_ok=True)
    lines = (root / "data" / "raw" / "customers.csv").read_text(encoding="utf-8").splitlines()
    changed = tmp / "customers.csv"
    changed.write_text("\n".join(lines[:-5]) + "\n", encoding="utf-8")
    # A new dataset's file: the customers with a clean 0/1 target (the sample plants bad ones).
    with (root / "data" / "raw" / "customers.csv").open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["churned"] in ("0", "1")]
    with (tmp / "applications.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return words.format(tmp=tmp, changed_customers=changed)


# In the README's order, except that the commands which change the copy's declarations run
# last: a new dataset or a replaced suite would make the runs after them rebuild everything.
ORDER = [c for c in RUN_HERE if "contract init" not in c and "new-dataset" not in c] + [
    c for c in RUN_HERE if "contract init" in c or "new-dataset" in c
]


@pytest.mark.parametrize("command", ORDER)
def test_each_govern_command_in_the_readme_works_from_a_fresh_shell(command, checkout):
    # given the checkout after its first run, and a fresh shell with nothing exported
    words, shows = RUN_HERE[command]
    # when the command is typed as the README writes it (its example values filled in)
    done = govern(checkout, fill(words, checkout))
    # then it exits 0 and says what it is about, never asking for the key
    assert "GOVERN_HMAC_KEY is not set" not in done.stderr
    if shows is not None:
        assert shows in done.stdout, f"{command}: {shows!r} not in\n{done.stdout[-2000:]}"
    if "--json" in words:
        assert json.loads(done.stdout), "the JSON summary parses"


def test_make_clean_from_the_table_deletes_the_run_time_state(checkout):
    # given the checkout after every other command, with its run-time folder
    assert (checkout / ".govern").is_dir()
    # when `make clean` is typed in a fresh shell
    for target, _ in MAKE_HERE.values():
        make(checkout, target)
    # then .govern is gone and the declarations stay
    assert not (checkout / ".govern").exists()
    assert (checkout / "datasets" / "churn.yaml").exists()
