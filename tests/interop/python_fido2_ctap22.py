"""python-fido2 (an independent CTAP 2.1/2.2 client) drives the Keybench
virtual key's enterprise attestation, persistent read-only credential
management and thirdPartyPayment over UDP.

Usage: python_fido2_ctap22.py HOST PORT
Prints one JSON object per step; the Rust test asserts on them.
"""

import hashlib
import json
import socket
import sys

from fido2.ctap import CtapError
from fido2.ctap2 import Ctap2
from fido2.ctap2.config import Config
from fido2.ctap2.credman import CredentialManagement
from fido2.ctap2.pin import ClientPin, PinProtocolV2
from fido2.hid import CtapHidDevice
from fido2.hid.base import CtapHidConnection, HidDescriptor
from fido2.webauthn import PublicKeyCredentialDescriptor


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


def emit(**kw):
    print(json.dumps(kw), flush=True)


def status(fn):
    try:
        fn()
        return "OK"
    except CtapError as e:
        return e.code.name


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    descriptor = HidDescriptor(f"udp:{host}:{port}", 0x1209, 0x000F, 64, 64, "Keybench virtual key", None)
    device = CtapHidDevice(descriptor, UdpConnection(host, port))
    ctap = Ctap2(device)
    info = ctap.get_info()
    emit(step="info", options=info.options, extensions=info.extensions)

    cdh = hashlib.sha256(b"client data").digest()
    user = {"id": b"user-alice", "name": "alice"}

    def make(rp_id, alg, ep=None, extensions=None, rk=False):
        return ctap.make_credential(
            cdh,
            {"id": rp_id, "name": rp_id},
            user,
            [{"type": "public-key", "alg": alg}],
            extensions=extensions,
            options={"rk": True} if rk else None,
            enterprise_attestation=ep,
        )

    # Enterprise attestation: refused while disabled, then enabled without
    # a PIN (no token needed yet).
    disabled = status(lambda: make("corp.example", -7, ep=2))
    Config(ctap).enable_enterprise_attestation()
    enabled = Ctap2(device).get_info().options.get("ep")
    results = []
    for alg in (-7, -49):
        for ep, rp_id in ((1, "corp.example"), (1, "example.org"), (2, "example.org")):
            att = make(rp_id, alg, ep=ep)
            results.append(
                {"alg": alg, "ep": ep, "rp": rp_id, "ep_att": att.ep_att, "x5c": len(att.att_stmt.get("x5c", []))}
            )
    bad_value = status(lambda: make("example.org", -7, ep=3))
    emit(step="enterprise", disabled=disabled, enabled=enabled, results=results, bad_value=bad_value)

    # thirdPartyPayment: marked at creation, reported when asked.
    att = make("pay.example", -7, extensions={"thirdPartyPayment": True})
    cred_id = att.auth_data.credential_data.credential_id
    assertion = ctap.get_assertion(
        "pay.example",
        cdh,
        [{"type": "public-key", "id": cred_id}],
        extensions={"thirdPartyPayment": True},
    )
    emit(
        step="payment",
        created=(att.auth_data.extensions or {}).get("thirdPartyPayment"),
        asserted=(assertion.auth_data.extensions or {}).get("thirdPartyPayment"),
    )

    # Persistent read-only credential management.
    ClientPin(ctap, PinProtocolV2()).set_pin("246810")
    pin = ClientPin(ctap, PinProtocolV2())
    mixed = status(
        lambda: pin.get_pin_token(
            "246810", ClientPin.PERMISSION.PERSISTENT_CREDENTIAL_MGMT | ClientPin.PERMISSION.CREDENTIAL_MGMT
        )
    )
    token = pin.get_pin_token("246810", ClientPin.PERMISSION.MAKE_CREDENTIAL, "example.org")
    rk = ctap.make_credential(
        cdh,
        {"id": "example.org", "name": "Example"},
        user,
        [{"type": "public-key", "alg": -49}],
        options={"rk": True},
        pin_uv_param=pin.protocol.authenticate(token, cdh),
        pin_uv_protocol=pin.protocol.VERSION,
    )
    ppuat = pin.get_pin_token("246810", ClientPin.PERMISSION.PERSISTENT_CREDENTIAL_MGMT)
    info1 = Ctap2(device).get_info()
    info2 = Ctap2(device).get_info()
    cm = CredentialManagement(ctap, pin.protocol, ppuat)
    rps = cm.enumerate_rps()
    creds = cm.enumerate_creds(rps[0][4])
    delete = status(
        lambda: cm.delete_cred(
            PublicKeyCredentialDescriptor(type="public-key", id=rk.auth_data.credential_data.credential_id)
        )
    )
    emit(
        step="pcmr",
        mixed=mixed,
        identifier_len=len(info1.get_identifier(ppuat)),
        identifier_stable=info1.get_identifier(ppuat) == info2.get_identifier(ppuat),
        sealed_differ=info1.enc_identifier != info2.enc_identifier,
        store_state_len=len(info1.get_cred_store_state(ppuat)),
        existing=cm.get_metadata()[1],
        rps=[r[3]["id"] for r in rps],
        creds=len(creds),
        delete=delete,
    )


if __name__ == "__main__":
    main()
