"""python-fido2 (an independent CTAP 2.1 client) drives the Keybench virtual
key's PIN, extension, credential-management and config features over UDP,
and verifies packed basic attestation up to the key's root certificate.

Usage: python_fido2_pin.py HOST PORT ROOT_CERT_HEX
Prints one JSON object per step; the Rust test asserts on them.
"""

import json
import socket
import sys

from fido2.attestation import AttestationVerifier
from fido2.client import DefaultClientDataCollector, Fido2Client, UserInteraction
from fido2.ctap import CtapError
from fido2.ctap2 import Ctap2
from fido2.ctap2.config import Config
from fido2.ctap2.credman import CredentialManagement
from fido2.ctap2.extensions import (
    CredBlobExtension,
    CredProtectExtension,
    HmacSecretExtension,
    MinPinLengthExtension,
)
from fido2.ctap2.pin import ClientPin, PinProtocolV1, PinProtocolV2
from fido2.hid import CtapHidDevice
from fido2.hid.base import CtapHidConnection, HidDescriptor
from fido2.server import Fido2Server
from fido2.webauthn import (
    AttestationConveyancePreference,
    PublicKeyCredentialDescriptor,
    PublicKeyCredentialParameters,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialType,
    PublicKeyCredentialUserEntity,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)


class UdpConnection(CtapHidConnection):
    def __init__(self, host, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect((host, port))
        self.sock.settimeout(10)

    def write_packet(self, data):
        self.sock.send(data[1:] if len(data) == 65 else data)

    def read_packet(self):
        return self.sock.recv(64)

    def close(self):
        self.sock.close()


class PinInteraction(UserInteraction):
    def __init__(self, pin):
        self.pin = pin

    def request_pin(self, permissions, rp_id):
        return self.pin


class RootVerifier(AttestationVerifier):
    def __init__(self, root):
        super().__init__()
        self.root = root

    def ca_lookup(self, result, auth_data):
        return self.root


def emit(**kw):
    print(json.dumps(kw), flush=True)


def status(fn):
    try:
        fn()
        return "OK"
    except CtapError as e:
        return e.code.name


def main():
    host, port, root = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
    descriptor = HidDescriptor(f"udp:{host}:{port}", 0x1209, 0x000F, 64, 64, "Keybench virtual key", None)
    device = CtapHidDevice(descriptor, UdpConnection(host, port))
    ctap = Ctap2(device)
    info = ctap.get_info()
    emit(step="info", options=info.options, extensions=info.extensions, pin_protocols=info.pin_uv_protocols)

    # PIN: set with protocol 2, change with protocol 1, wrong PINs count down.
    ClientPin(ctap, PinProtocolV2()).set_pin("1234")
    ClientPin(ctap, PinProtocolV1()).change_pin("1234", "246810")
    v2 = ClientPin(ctap, PinProtocolV2())
    wrong = status(lambda: v2.get_pin_token("999999"))
    emit(step="pin", wrong=wrong, retries=v2.get_pin_retries()[0], option=Ctap2(device).get_info().options.get("clientPin"))

    rp = PublicKeyCredentialRpEntity(id="example.org", name="Example")
    server = Fido2Server(rp, attestation=AttestationConveyancePreference.DIRECT, verify_attestation=RootVerifier(root))
    server.allowed_algorithms = [PublicKeyCredentialParameters(type=PublicKeyCredentialType.PUBLIC_KEY, alg=-49)]
    client = Fido2Client(
        device,
        DefaultClientDataCollector("https://example.org"),
        PinInteraction("246810"),
        extensions=[HmacSecretExtension(allow_hmac_secret=True), CredProtectExtension(), CredBlobExtension(), MinPinLengthExtension()],
    )
    user = PublicKeyCredentialUserEntity(id=b"user-alice", name="alice", display_name="Alice")
    options, state = server.register_begin(
        user,
        resident_key_requirement=ResidentKeyRequirement.REQUIRED,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    public_key = dict(options.public_key)
    public_key["extensions"] = {
        "credentialProtectionPolicy": "userVerificationOptionalWithCredentialIDList",
        "enforceCredentialProtectionPolicy": True,
        "credBlob": b"keybench-blob",
        "prf": {},
    }
    registration = client.make_credential(public_key)
    auth_data = server.register_complete(state, registration)
    att = registration.response.attestation_object
    emit(
        step="register",
        fmt=att.fmt,
        x5c=len(att.att_stmt.get("x5c", [])),
        uv=auth_data.is_user_verified(),
        bytes=len(bytes(att)),
        extensions=dict(att.auth_data.extensions or {}),
        client_extensions=dict(registration.client_extension_results),
    )
    credential = auth_data.credential_data

    def prf(salt):
        options, state = server.authenticate_begin([credential], user_verification=UserVerificationRequirement.REQUIRED)
        pk = dict(options.public_key)
        pk["extensions"] = {"prf": {"eval": {"first": salt}}, "getCredBlob": True}
        response = client.get_assertion(pk).get_response(0)
        server.authenticate_complete(state, [credential], response)
        results = response.client_extension_results
        return response, results["prf"]["results"]["first"]

    a1, out1 = prf(b"A" * 32)
    _, out2 = prf(b"A" * 32)
    _, out3 = prf(b"B" * 32)
    emit(
        step="prf",
        uv=a1.response.authenticator_data.is_user_verified(),
        same=out1 == out2,
        differs=out1 != out3,
        length=len(out1) if isinstance(out1, bytes) else len(str(out1)),
        cred_blob=a1.response.authenticator_data.extensions["credBlob"].hex(),
    )

    # credProtect level 2: no discoverable assertion without UV.
    silent = status(lambda: ctap.get_assertion("example.org", b"\0" * 32))
    emit(step="credProtect", discoverable_without_uv=silent)

    # Credential management with a cm token.
    pin = ClientPin(ctap, PinProtocolV2())
    token = pin.get_pin_token("246810", ClientPin.PERMISSION.CREDENTIAL_MGMT)
    cm = CredentialManagement(ctap, pin.protocol, token)
    meta = cm.get_metadata()
    rps = cm.enumerate_rps()
    creds = cm.enumerate_creds(rps[0][4])
    cred_id = creds[0][7]
    cm.update_user_info(
        PublicKeyCredentialDescriptor(type="public-key", id=cred_id["id"]),
        PublicKeyCredentialUserEntity(id=b"user-alice", name="alice@example.org", display_name="Alice A."),
    )
    updated = cm.enumerate_creds(rps[0][4])[0][6]
    cm.delete_cred(PublicKeyCredentialDescriptor(type="public-key", id=cred_id["id"]))
    emit(
        step="credMgmt",
        existing=meta[1],
        remaining=meta[2],
        rps=[r[3]["id"] for r in rps],
        creds=len(creds),
        cred_protect=creds[0].get(10),
        public_key_alg=creds[0][8][3],
        updated_name=updated.get("name"),
        after_delete=cm.get_metadata()[1],
    )

    # authenticatorConfig with an acfg token: a longer minimum forces a PIN change.
    token = pin.get_pin_token("246810", ClientPin.PERMISSION.AUTHENTICATOR_CFG)
    Config(ctap, pin.protocol, token).set_min_pin_length(8, rp_ids=["example.org"])
    info = Ctap2(device).get_info()
    blocked = status(lambda: pin.get_pin_token("246810", ClientPin.PERMISSION.GET_ASSERTION, "example.org"))
    emit(step="config", min_pin_length=info.min_pin_length, force_pin_change=info.force_pin_change, token_while_forced=blocked)


if __name__ == "__main__":
    main()
