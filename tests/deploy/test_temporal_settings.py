"""Any Temporal: the client is built from the settings (namespace, TLS, API key, codec, metrics),
and `coopflow temporal setup` makes a bare cluster's namespace ready."""

from __future__ import annotations

import asyncio
import datetime
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.service import TLSConfig

from domain import InvalidRequest
from services.codec import EncryptionCodec, new_key
from services.devstack import free_port
from services.temporal import client_options, connect
from settings import get_settings
from tests.conftest import temporal_cli


def pem_pair(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "coopflow-worker")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "client.pem", tmp_path / "client.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_the_dev_server_needs_nothing_but_an_address():
    options = client_options(get_settings())
    assert options["namespace"] == "default" and "tls" not in options and "api_key" not in options
    assert not isinstance(options["data_converter"].payload_codec, EncryptionCodec), "no key, no encryption"


def test_mutual_tls_with_a_private_ca(tmp_path: Path):
    cert, key = pem_pair(tmp_path)
    options = client_options(get_settings(temporal_namespace="coopflow.a1b2c", temporal_tls_ca=str(cert),
                                          temporal_tls_cert=str(cert), temporal_tls_key=str(key),
                                          temporal_tls_server_name="temporal.internal"))
    tls = options["tls"]
    assert isinstance(tls, TLSConfig) and options["namespace"] == "coopflow.a1b2c"
    assert tls.server_root_ca_cert == cert.read_bytes() and tls.client_cert == cert.read_bytes()
    assert tls.client_private_key == key.read_bytes() and tls.domain == "temporal.internal"


def test_tls_with_the_systems_cas_and_an_api_key_for_temporal_cloud():
    assert client_options(get_settings(temporal_tls=True))["tls"] == TLSConfig()
    options = client_options(get_settings(temporal_api_key="tcld-key"))
    assert options["api_key"] == "tcld-key" and options["tls"] is True


def test_tls_mistakes_are_named(tmp_path: Path):
    cert, _ = pem_pair(tmp_path)
    with pytest.raises(InvalidRequest, match="needs its key"):
        client_options(get_settings(temporal_tls_cert=str(cert)))
    with pytest.raises(InvalidRequest, match=r"Cannot read .*missing\.pem"):
        client_options(get_settings(temporal_tls_ca=str(tmp_path / "missing.pem")))


def test_codec_keys_switch_encryption_on():
    codec = client_options(get_settings(codec_keys=f"{new_key('k2')},{new_key('k1')}"))["data_converter"].payload_codec
    assert isinstance(codec, EncryptionCodec) and codec.current == "k2"


async def test_a_client_with_every_option_the_dev_server_accepts_works(temporal_client: Client):
    """The real server: a client built by `connect` with a codec, an API key header and a metrics
    runtime answers, and the SDK's metrics appear at COOPFLOW_METRICS_BIND."""
    bind = f"127.0.0.1:{free_port()}"
    target = temporal_client.service_client.config.target_host
    settings = get_settings(temporal_address=target, codec_keys=new_key(), metrics_bind=bind)
    client = await connect(settings)
    await client.workflow_service.get_system_info(GetSystemInfoRequest())
    text = await asyncio.to_thread(lambda: urllib.request.urlopen(f"http://{bind}/metrics", timeout=5).read())
    assert b"temporal_request" in text, text[:500]


def test_temporal_setup_readies_a_bare_cluster_and_is_safe_to_repeat(tmp_path: Path):
    port = free_port()
    server = subprocess.Popen([temporal_cli(), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
                               "--port", str(port), "--http-port", str(free_port()),
                               "--metrics-port", str(free_port()), "--log-level", "error"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {"COOPFLOW_TEMPORAL_ADDRESS": f"127.0.0.1:{port}", "COOPFLOW_TEMPORAL_NAMESPACE": "coopflow-prod",
           "COOPFLOW_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    coopflow = [sys.executable, "-m", "cli", "temporal", "setup", "--json"]
    try:
        for _ in range(100):
            first = subprocess.run(coopflow, env=env, capture_output=True, text=True, timeout=120)
            if "Cannot reach Temporal" not in first.stderr:
                break
        assert first.returncode == 0, first.stderr
        assert '"namespace_created": true' in first.stdout
        assert "CoopflowPhase" in first.stdout and "CoopflowLead" in first.stdout
        again = subprocess.run(coopflow, env=env, capture_output=True, text=True, timeout=120)
        assert again.returncode == 0 and '"search_attributes_added": []' in again.stdout, again.stderr
        assert '"namespace_created": false' in again.stdout
        assert '"digests": "started"' in first.stdout and '"digests": "running"' in again.stdout  # once
    finally:
        server.terminate()
        server.wait(timeout=30)
