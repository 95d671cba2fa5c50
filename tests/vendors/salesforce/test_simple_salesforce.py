"""simple-salesforce, an independent client, drives the Salesforce sandbox as it drives an org:
its instance URL is the sandbox's Salesforce port, nothing in the client is patched.

The client only speaks https (it builds `https://{host}/services/data/...` from the instance
URL's host and port), so the sandbox is started with TLS here and the client's own requests
session trusts a CA made for the test.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from reconciler.sandbox import Sandbox

VERSION = "60.0"
GROUP, USER, ROLE = "00G5e000001SaLsEAK", "0055e000003JaNeAAK", "00E5e000001SaMgEAK"
ORG = "00D5e000000AcMeEAK"
FOLDERS = [f"00l5e{i:010d}" for i in range(1, 24)]  # 23: three pages of ten
NAMES = {GROUP: "Sales Team", USER: "Jane Doe", ROLE: "Sales Managers"}


def _folder(i: int, fid: str) -> dict[str, Any]:
    return {"id": fid, "label": f"F {i}", "name": f"F_{i}", "type": "report", "shares": []}


STATE: dict[str, Any] = {
    "salesforce": {
        "org_id": ORG,
        "org_name": "Acme Inc.",
        "labels": NAMES,
        "folders": [_folder(i, fid) for i, fid in enumerate(FOLDERS)],
    }
}


def _ca_and_server(where: Path) -> tuple[Path, Path, Path]:
    """A CA certificate, and a server certificate for 127.0.0.1 it signed (with its key)."""
    now = datetime.datetime.now(datetime.UTC)

    def cert(
        subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, signer: Any, ca: bool
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        )
        if ca:
            usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        else:
            usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            ).add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), False
            )
        return builder.add_extension(usage, critical=True).sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sandbox test CA")])
    ca = cert("sandbox test CA", ca_key, ca_name, ca_key, ca=True)
    server = cert("127.0.0.1", key, ca_name, ca_key, ca=False)
    paths = where / "ca.pem", where / "server.pem", where / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture(scope="module")
def tls_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, Path]]:
    ca, server, key = _ca_and_server(tmp_path_factory.mktemp("tls"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(server, key)
    sb = Sandbox(STATE, retry_after=0)
    sb.start(tls=context)
    try:
        yield sb, ca
    finally:
        sb.stop()


@pytest.fixture
def sb(tls_sandbox: tuple[Sandbox, Path]) -> Sandbox:
    tls_sandbox[0].reset()
    return tls_sandbox[0]


def _client(
    tls_sandbox: tuple[Sandbox, Path], token: str | None = None, version: str = VERSION
) -> Salesforce:
    sandbox, ca = tls_sandbox
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would win over `verify`
    session.headers["Connection"] = "close"  # none left open when the module's sandbox stops
    session.verify = str(ca)
    return Salesforce(
        instance_url=sandbox.base_urls()["salesforce"],
        session_id=token or sandbox.credentials()["salesforce"],
        version=version,
        session=session,
    )


@pytest.fixture
def sf(sb: Sandbox, tls_sandbox: tuple[Sandbox, Path]) -> Iterator[Salesforce]:
    client = _client(tls_sandbox)
    yield client
    client.session.close()


def _code(exc: SalesforceError) -> str:
    """The errorCode of the answer's error array (the client types `content` as an int)."""
    content: Any = exc.content
    return str(content[0]["errorCode"])


def test_the_instance_url_is_the_port_root_and_the_client_keeps_it(sb: Sandbox) -> None:
    instance = sb.base_urls()["salesforce"]
    assert instance == f"https://127.0.0.1:{sb.ports['salesforce']}"


def test_folders_page_by_next_page_url(sb: Sandbox, sf: Salesforce) -> None:
    page = sf.restful("folders")
    assert page is not None and page["totalSize"] == len(FOLDERS)
    seen = [f["id"] for f in page["folders"]]
    pages = 1
    while page["nextPageUrl"]:
        # The client's own way to follow a link an answer gives from the instance root.
        page = sf.query_more(page["nextPageUrl"], identifier_is_url=True)
        seen += [f["id"] for f in page["folders"]]
        pages += 1
    assert seen == FOLDERS and pages == 3
    assert [r.query for r in sb.requests("salesforce")] == [
        "",
        "page=2&pageSize=10",
        "page=3&pageSize=10",
    ]


def test_shares_get_post_patch_delete(sb: Sandbox, sf: Salesforce) -> None:
    fid = FOLDERS[0]
    assert sf.restful(f"folders/{fid}/shares") == {"shares": []}
    body = {"shares": [{"accessType": "View", "shareType": "Group", "shareWithId": GROUP[:15]}]}
    added = sf.restful(f"folders/{fid}/shares", method="POST", json=body)
    assert added is not None
    [share] = added["shares"]
    assert (share["accessType"], share["shareType"], share["sharedWithId"]) == (
        "view",
        "group",
        GROUP,
    )
    assert share["sharedWithLabel"] == "Sales Team"
    sid = share["shareId"]
    assert sf.restful(f"folders/{fid}/shares/{sid}") == share
    patched = sf.restful(f"folders/{fid}/shares/{sid}", method="PATCH", json={"accessType": "edit"})
    assert patched is not None and patched["accessType"] == "edit"
    assert sf.restful(f"folders/{fid}/shares/{sid}", method="DELETE") is None  # 204
    assert sf.restful(f"folders/{fid}/shares") == {"shares": []}
    assert [(w.method, w.status) for w in sb.writes("salesforce")] == [
        ("POST", 200),
        ("PATCH", 200),
        ("DELETE", 204),
    ]


def test_a_bad_session_is_salesforce_expired_session(tls_sandbox: tuple[Sandbox, Path]) -> None:
    tls_sandbox[0].reset()
    sf = _client(tls_sandbox, token="not-the-token")
    with pytest.raises(SalesforceExpiredSession) as caught, sf.session:
        sf.restful("folders")
    assert caught.value.status == 401
    assert _code(caught.value) == "INVALID_SESSION_ID"


def test_a_second_share_for_one_recipient_is_malformed_duplicate_value(
    sb: Sandbox, sf: Salesforce
) -> None:
    fid = FOLDERS[1]
    body = {"shares": [{"accessType": "view", "shareType": "user", "shareWithId": USER}]}
    sf.restful(f"folders/{fid}/shares", method="POST", json=body)
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful(f"folders/{fid}/shares", method="POST", json=body)
    assert caught.value.status == 400
    assert _code(caught.value) == "DUPLICATE_VALUE"
    assert len(sb.state["salesforce"]["folders"][1]["shares"]) == 1


def test_the_client_reads_sforce_limit_info(sb: Sandbox, sf: Salesforce) -> None:
    sb.state["salesforce"]["daily_limit"] = 5000
    sf.restful("folders")
    sf.restful(f"folders/{FOLDERS[0]}/shares")
    usage = sf.api_usage["api-usage"]
    assert (usage.used, usage.total) == (2, 5000)


def test_the_folder_list_is_not_found_before_v43(tls_sandbox: tuple[Sandbox, Path]) -> None:
    tls_sandbox[0].reset()
    old, new = _client(tls_sandbox, version="42.0"), _client(tls_sandbox, version="43.0")
    with old.session, new.session:
        with pytest.raises(SalesforceResourceNotFound) as caught:
            old.restful("folders")
        assert _code(caught.value) == "NOT_FOUND"
        assert old.restful(f"folders/{FOLDERS[0]}/shares") == {"shares": []}
        assert new.restful("folders") is not None


def test_shared_with_label_is_the_recipients_name(sb: Sandbox, sf: Salesforce) -> None:
    fid = FOLDERS[2]
    body = {
        "shares": [
            {"accessType": "view", "shareType": "user", "shareWithId": USER},
            {"accessType": "edit", "shareType": "roleandsubordinates", "shareWithId": ROLE},
            {"accessType": "view", "shareType": "organization", "shareWithId": ""},
        ]
    }
    answer = sf.restful(f"folders/{fid}/shares", method="PUT", json=body)
    assert answer is not None
    labels = {s["sharedWithId"]: s["sharedWithLabel"] for s in answer["shares"]}
    assert labels == {USER: "Jane Doe", ROLE: "Sales Managers", ORG: "Acme Inc."}
