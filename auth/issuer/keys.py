"""The issuer's RS256 signing key and its cookie secret, created once under ``<var>/oidc``.

Both files are written with mode 0600 in a 0700 folder and reused on every start, so tokens
signed before a restart still validate. Several processes starting at once (gunicorn workers)
agree on one key: each writes its candidate to a temporary file and links it into place only
if no key exists yet; the losers read the winner's key.
"""

from __future__ import annotations

import json
import logging
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc.jwk import RSAKey

from kentra.platform.core.files import write_once

ALGORITHM = "RS256"
KEY_SIZE = 2048
KEY_FILE = "signing-key.json"
COOKIE_SECRET_FILE = "cookie-secret"  # noqa: S105 - a file name
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SigningKey:
    key: RSAKey
    kid: str  # RFC 7638 thumbprint of the public key

    def public_jwk(self) -> dict[str, Any]:
        """The public half only (``kty``, ``n``, ``e``) with ``kid``, ``use`` and ``alg``."""
        return {**self.key.as_dict(private=False), "kid": self.kid, "use": "sig", "alg": ALGORITHM}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk()]}


def key_folder(var_dir: Path) -> Path:
    return var_dir / "oidc"


def _private_folder(var_dir: Path) -> Path:
    folder = key_folder(var_dir)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if stat.S_IMODE(folder.stat().st_mode) & 0o077:
        folder.chmod(0o700)
    return folder


def _read_private(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("tightening permissions of the issuer's key file to 0600")
        path.chmod(0o600)
    return path.read_bytes()


def load_or_create_signing_key(var_dir: Path) -> SigningKey:
    """The persisted signing key; a new 2048-bit RSA key on first use."""
    path = _private_folder(var_dir) / KEY_FILE
    if not path.exists():
        candidate = RSAKey.generate_key(KEY_SIZE, private=True)
        write_once(path, json.dumps(candidate.as_dict(private=True)).encode())
        log.info("created the embedded issuer's signing key")
    key = RSAKey.import_key(json.loads(_read_private(path)))
    if not key.is_private:
        raise RuntimeError(f"{path} does not hold a private RSA key")
    return SigningKey(key=key, kid=key.thumbprint())


def load_or_create_cookie_secret(var_dir: Path) -> bytes:
    """A random secret for the issuer's login cookie (used when KENTRA_SECRET_KEY is unset)."""
    path = _private_folder(var_dir) / COOKIE_SECRET_FILE
    if not path.exists():
        write_once(path, secrets.token_urlsafe(48).encode())
    return _read_private(path).strip()
