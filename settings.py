"""Settings from the environment (prefix ``COOPFLOW_``); nothing is read at import time."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:
    from activities.sender import Smtp
    from evidence.notes import Signer, Verifier
    from services.sealing import KeyEncryptionKeys


class Settings(BaseSettings):
    """Every setting of coopflow; ``COOPFLOW_DATABASE_URL`` sets ``database_url`` and so on."""

    model_config = SettingsConfigDict(env_prefix="COOPFLOW_", extra="ignore")

    data_dir: Path = Path(".coopflow")
    database_url: str = ""
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    task_queue: str = "coopflow"
    # a cluster other than the dev server: TLS (a CA for a private server certificate; a client
    # certificate and key for mTLS) and/or an API key (Temporal Cloud)
    temporal_tls: bool = False  # TLS with the system's CAs; implied by any of the three files below
    temporal_tls_ca: str = ""  # path of the server's CA certificate (PEM)
    temporal_tls_cert: str = ""  # path of the client certificate (PEM), for mTLS
    temporal_tls_key: str = ""  # path of the client certificate's private key (PEM)
    temporal_tls_server_name: str = ""  # the name the server certificate is checked against, if not the host
    temporal_api_key: str = ""  # Temporal Cloud API key (implies TLS)
    # payload encryption: "id:base64key,…", the first one current (`coopflow temporal new-key`)
    codec_keys: str = ""
    # with keys: decode payloads in clear too (histories from before the codec was switched on); off, a
    # command in clear (from someone with Temporal access and no key) is refused
    codec_accept_plain: bool = False
    # key-encryption keys of personal data, in the same form (`coopflow personal-data new-key`); empty: the
    # file personal-data.keys in the data dir (`coopflow dev` makes it); web and commands need them, workers not
    personal_data_keys: str = ""
    codec_origins: str = ""  # origins (comma-separated) of Temporal UIs that may call /codec
    metrics_bind: str = ""  # host:port where a worker serves the Temporal SDK's Prometheus metrics
    otel_endpoint: str = ""  # OTLP/HTTP traces endpoint; empty: no tracing (needs the otel extra)
    metrics_token: str = ""  # /metrics from another machine needs "Authorization: Bearer <this>"
    # folders of more templates (``*.yaml``) besides the built-in ones, ``:``-separated
    template_dirs: Annotated[list[Path], NoDecode] = []
    secret_key: str = ""  # signs session cookies; empty: a key kept in the data dir
    public_url: str = "http://127.0.0.1:8000"  # where people reach the web app (links in mail, cookie security)
    secure_cookies: bool | None = None  # default: true when public_url is https
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"
    # how long a caller (API, page, CLI) waits for Temporal before it answers 503
    update_timeout: float = Field(default=30.0, gt=0)
    # how long one attempt of a store write may take before Temporal tries it again (a crashed
    # worker's write is noticed after this long)
    write_timeout: float = Field(default=10.0, gt=0)
    # how long a workflow waits for the worker that last ran it before any worker may take it (a killed
    # worker holds its workflows this long: 10 s, the SDK's default, put p99 of completions under worker kills
    # at 12 s in bench/chaos.py; another worker replays a short history instead)
    sticky_timeout: float = Field(default=3.0, gt=0)
    # how long a workflow task may run before Temporal gives it to another worker (a crashed
    # worker's task is noticed after this long)
    workflow_task_timeout: float = Field(default=10.0, gt=0, le=120)
    faults: str = ""  # crash on purpose (tests and bench/chaos.py only): see faults.py
    # mail: without a host, mail stays in the outbox (`coopflow mail list`)
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    mail_from: str = "coopflow@localhost"
    # documents: the largest upload, and the folder of their content (default: $data_dir/documents)
    max_document_mb: float = Field(default=20.0, gt=0, le=1024)
    document_dir: Path | None = None
    # signed checkpoints: PRIVATE+KEY+<name>+<key id>+<key> (`coopflow audit new-key`); empty: a key
    # generated once in $data_dir/signing.key; its name is coopflow/<deployment> (default: the public URL's host)
    signing_key: str = ""
    # the verifier key of that signing key (`coopflow audit public-key`): all the web app needs, which
    # checks checkpoints and never signs; set, a process without the signing key never makes one
    verifier_key: str = ""
    deployment: str = ""

    @field_validator("template_dirs", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        """``COOPFLOW_TEMPLATE_DIRS=/a:/b``, as PATH is written (empty parts left out)."""
        return [part for part in value.split(":") if part.strip()] if isinstance(value, str) else value

    @property
    def cookies_secure(self) -> bool:
        """Cookies only over HTTPS when the public URL is HTTPS (or when set explicitly)."""
        return self.secure_cookies if self.secure_cookies is not None else self.public_url.startswith("https://")

    def smtp(self) -> Smtp | None:
        """Where mail goes, or None when it stays in the outbox."""
        from activities.sender import Smtp

        if not self.smtp_host:
            return None
        return Smtp(self.smtp_host, self.smtp_port, self.smtp_user, self.smtp_password, self.smtp_starttls,
                    self.mail_from)

    @property
    def max_document_bytes(self) -> int:
        return int(self.max_document_mb * 1024 * 1024)

    @property
    def documents_path(self) -> Path:
        return self.document_dir or self.data_dir / "documents"

    def signer(self) -> Signer:
        """The deployment's signing key (``COOPFLOW_SIGNING_KEY``, or the one kept in the data dir)."""
        from evidence.signing import load_signer

        return load_signer(signing_key=self.signing_key, data_dir=self.data_dir, deployment=self.deployment,
                           public_url=self.public_url, verifier_key=self.verifier_key)

    def verifier(self) -> Verifier:
        """The key checkpoints are checked with: ``COOPFLOW_VERIFIER_KEY``, else the signing key's (read
        once, only its public half kept)."""
        from evidence.notes import Verifier

        return Verifier.parse(self.verifier_key) if self.verifier_key else self.signer().verifier

    def key_encryption_keys(self) -> KeyEncryptionKeys | None:
        """The keys that wrap personal data's keys: the setting, or the data dir's file, or None."""
        from services.sealing import load_keks

        return load_keks(setting=self.personal_data_keys, data_dir=self.data_dir)

    @property
    def store_url(self) -> str:
        """The configured database, or the embedded SQLite file in the data dir."""
        return self.database_url or f"sqlite:///{self.data_dir / 'coopflow.db'}"


def get_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
