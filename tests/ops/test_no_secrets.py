"""No secret is committed: credentials reach the platform only through Airflow connections or
environment variables (CSP_WAREHOUSE_URL, CSP_PSEUDONYM_KEY, AIRFLOW_CONN_*), never through a
file of the repository.

The scan reads every file git tracks (and every new file it would track: untracked but not
ignored), so a secret is caught before the commit that would publish it. The patterns are few
and each names a kind of secret; a value may be allowed only by being listed in
ALLOWED_VALUES (test-only values), never by its file."""
from __future__ import annotations

import math
import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]

# Secret-ish names: a long random-looking value assigned to one of these is a secret.
_SECRET_NAME = (r"(?:password|passwd|pwd|secret|token|api_?key|access_?key|private_?key|fernet_?key|jwt_?secret"
                r"|pseudonym_?key|client_?secret)")
PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "AWS secret access key": re.compile(r"aws_secret_access_key\s*[=:]\s*['\"]?([A-Za-z0-9/+=]{40})\b", re.I),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    # Airflow's fernet_key: 32 bytes, url-safe base64 (44 characters ending in '=').
    "Fernet key": re.compile(r"fernet_?key\s*[=:]\s*['\"]?([A-Za-z0-9_-]{43}=)", re.I),
    # The password part of user:password@host in a connection URL.
    "password in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/:@'\"]+:([^\s@/'\"{}$<>]+)@", re.I),
    # A quoted literal assigned to a password key (code, TOML, YAML, ini), not a lookup.
    "password literal": re.compile(r"\b(?:password|passwd|pwd)['\"]?\s*[=:]\s*['\"]([^'\"\s{}$<>]{4,})['\"]", re.I),
    "secret-named token": re.compile(
        rf"\b\w*{_SECRET_NAME}\w*['\"]?\s*[=:]\s*['\"]([A-Za-z0-9+/_=.-]{{20,}})['\"]", re.I),
}
HIGH_ENTROPY_BITS = 3.5  # per character: random base64/hex tokens; words and paths fall below
RANDOM_CHECKED = {"secret-named token"}  # the other patterns are specific enough on their own
ALLOWED_VALUES = {
    "test-only-pseudonymisation-key",  # tests/conftest.py: the test suite's pseudonymisation key
    "airflow",  # Airflow's published docker-compose default, planted in tests/ops/test_compose.py
    "wrong",  # tests/ops/test_real_services.py: the password that must be refused
}
# Values that stand for a secret rather than being one: .env.example's CHANGE-ME-... values,
# and upper-case names in documented forms such as smtp://USER:PASSWORD@HOST:PORT.
TEMPLATE_VALUE = re.compile(r"^(?:CHANGE-ME\b|[A-Z][A-Z_]*$)")
SKIPPED_SUFFIXES = {".parquet", ".png", ".pdf", ".duckdb", ".ico", ".woff", ".woff2", ".zip", ".gz"}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str

    def __str__(self) -> str:  # names the place and kind, never the value itself
        return f"{self.path}:{self.line}: {self.kind}"


def entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def looks_random(value: str) -> bool:
    """A generated token: letters and digits mixed, high entropy. Identifiers made of words
    (community_safety_api_key_name) have no digits; they are names, not secrets."""
    return (any(c.isdigit() for c in value) and any(c.isalpha() for c in value)
            and entropy(value) >= HIGH_ENTROPY_BITS)


def scan_text(name: str, text: str) -> list[Finding]:
    findings = []
    for number, line in enumerate(text.splitlines(), start=1):
        for kind, pattern in PATTERNS.items():
            for match in pattern.finditer(line):
                value = match.group(1) if pattern.groups else match.group(0)
                if value in ALLOWED_VALUES or TEMPLATE_VALUE.match(value):
                    continue
                if kind in RANDOM_CHECKED and not looks_random(value):
                    continue
                findings.append(Finding(name, number, kind))
    return findings


def scan_files(root: Path, names: list[str]) -> list[Finding]:
    findings = []
    for name in names:
        path = root / name
        if path.suffix.lower() in SKIPPED_SUFFIXES or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:  # binary
            continue
        findings += scan_text(name, data.decode("utf-8", errors="replace"))
    return findings


def repository_files(root: Path) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=root, capture_output=True, check=True,
    ).stdout.decode()
    return sorted({name for name in listed.split("\0") if name})


def test_no_secret_is_committed(capsys):
    names = repository_files(PROJECT_DIR)
    assert len(names) > 100  # the scan really read the repository
    findings = scan_files(PROJECT_DIR, names)
    with capsys.disabled():
        print(f"\nsecret scan: {len(names)} files, {len(PATTERNS)} patterns, {len(findings)} findings")
    assert findings == [], "secret-like strings committed:\n" + "\n".join(map(str, findings))


# Planted secrets, assembled at run time so this file itself holds none of them.
PLANTED = {
    "private key": "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEow...\n",
    "AWS access key id": "aws_access_key_id = " + "AKIA" + "Q3EGRVXYLZ7TNM2P\n",
    "AWS secret access key": "aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq9T4uHdWs" + "\n",
    "GitHub token": "token: " + "ghp_" + "r4Nd0mR4nd0mR4nd0mR4nd0mR4nd0mR4nd0m\n",
    "Fernet key": "AIRFLOW__CORE__FERNET_KEY=x\nfernet_key = " + "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycHk" + "=\n",
    "password in a URL": "CSP_WAREHOUSE_URL=postgresql://csp:" + "Tr0ub4dor&3" + "@db:5432/warehouse\n",
    "password literal": 'conn = connect(password="' + "hunter2-prod" + '")\n',
    "secret-named token": 'JWT_SECRET = "' + "q8Zr2LxT0vN5mW7yK3pB9sD1fH6jG4cA" + '"\n',
}


def test_the_scan_finds_every_planted_secret(tmp_path):
    for kind, text in PLANTED.items():
        (tmp_path / f"{kind.replace(' ', '_')}.env").write_text(text)
    findings = scan_files(tmp_path, sorted(p.name for p in tmp_path.iterdir()))
    assert {f.kind for f in findings} >= set(PLANTED)
    for kind in PLANTED:  # each planted in its own file, and found there
        assert any(f.kind == kind and f.path.startswith(kind.replace(" ", "_")) for f in findings), kind


def test_lookups_and_test_only_values_are_not_secrets():
    clean = "\n".join([
        'key = os.environ["CSP_PSEUDONYM_KEY"]',
        'os.environ.setdefault("CSP_PSEUDONYM_KEY", "test-only-pseudonymisation-key")',
        "POSTGRES_ADMIN_URL = 'postgresql+psycopg://postgres@127.0.0.1:5432/postgres'",
        "url = f'postgresql://{user}:{password}@{host}/db'",
        'password = "${WAREHOUSE_PASSWORD}"',
        "#   smtp://USER:PASSWORD@HOST:PORT",
        "AIRFLOW_CONN_SMTP_DEFAULT=smtp://csp-alerts:CHANGE-ME-fake-smtp-password@smtp.example.org:587",
        'api_key_name = "community_safety_partnership_api_key_name"',  # a word, not random
        "file_sha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'",
    ])
    assert scan_text("clean.py", clean) == []
