"""Facts about the code and environment a model was built with: git commit, lock file hash."""

import hashlib
import subprocess
from pathlib import Path


def git_state(root: Path) -> dict[str, str]:
    """Commit and dirtiness of the checkout at ``root``; 'unknown' outside a git checkout."""

    def run(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = run("rev-parse", "HEAD")
    if commit is None:
        return {"git_commit": "unknown", "git_dirty": "unknown"}
    status = run("status", "--porcelain", "--untracked-files=no")
    return {"git_commit": commit, "git_dirty": "true" if status else "false"}


def lock_sha256(root: Path) -> str:
    lock = root / "requirements.lock"
    return hashlib.sha256(lock.read_bytes()).hexdigest() if lock.is_file() else "missing"


def code_state(root: Path) -> dict[str, str]:
    """The code a model is built with: lock file hash, git commit and dirtiness."""
    return {"requirements_lock_sha256": lock_sha256(root), **git_state(root)}
