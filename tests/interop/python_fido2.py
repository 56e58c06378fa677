"""python-fido2 (an independent CTAP client and relying party) drives the
Keybench virtual key over UDP: one datagram carries one 64-byte CTAPHID report.

python-fido2's own CTAPHID layer (CtapHidDevice) talks to the key; its
Fido2Client makes and gets credentials; its Fido2Server verifies them; its
PackedAttestation verifies the self-attestation signatures.

Usage: python_fido2.py HOST PORT   (prints one JSON line per algorithm)
       python_fido2.py /dev/hidrawN   (the same over a real HID device)
       python_fido2.py pcsc READER [ext]   (the same over PC/SC with
           python-fido2's CtapPcscDevice and pyscard: the first reader whose
           name contains READER; short APDUs with command chaining, or
           extended APDUs with "ext"; each line also counts the APDUs)
"""

import json
import socket
import sys

from fido2.attestation import PackedAttestation
from fido2.client import DefaultClientDataCollector, Fido2Client, UserInteraction
from fido2.ctap2 import Ctap2
from fido2.hid import CtapHidDevice
from fido2.hid.base import CtapHidConnection, HidDescriptor
from fido2.server import Fido2Server
from fido2.webauthn import (
    PublicKeyCredentialParameters,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialType,
    PublicKeyCredentialUserEntity,
    UserVerificationRequirement,
)


class UdpConnection(CtapHidConnection):
    def __init__(self, host, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect((host, port))
        self.sock.settimeout(10)

    def write_packet(self, data):
        # python-fido2 writes the report id 0 followed by 64 bytes, as hidraw wants.
        packet = data[1:] if len(data) == 65 else data
        self.sock.send(packet)

    def read_packet(self):
        return self.sock.recv(64)

    def close(self):
        self.sock.close()


class ApduCounter:
    """Counts the APDUs python-fido2 exchanges and their bytes on the wire."""

    def __init__(self, device):
        self.reset()
        inner = device.apdu_exchange

        def counted(apdu, protocol=None):
            resp, sw1, sw2 = inner(apdu, protocol)
            self.apdus += 1
            self.chained += bool(apdu[0] & 0x10)
            self.get_responses += apdu[1] == 0xC0
            self.bytes_out += len(apdu)
            self.bytes_in += len(resp) + 2
            return resp, sw1, sw2

        device.apdu_exchange = counted

    def reset(self):
        self.apdus = self.chained = self.get_responses = self.bytes_out = self.bytes_in = 0

    def take(self):
        out = {
            "apdus": self.apdus,
            "chained_commands": self.chained,
            "get_responses": self.get_responses,
            "bytes_out": self.bytes_out,
            "bytes_in": self.bytes_in,
        }
        self.reset()
        return out


def open_device():
    if sys.argv[1] == "pcsc":
        from fido2.pcsc import CtapPcscDevice

        devices = list(CtapPcscDevice.list_devices(sys.argv[2]))
        if not devices:
            sys.exit(f"no FIDO card on a reader named like {sys.argv[2]!r}")
        device = devices[0]
        device.use_ext_apdu = len(sys.argv) > 3 and sys.argv[3] == "ext"
        return device
    if len(sys.argv) == 2:
        from fido2.hid.linux import get_descriptor, open_connection

        descriptor = get_descriptor(sys.argv[1])
        return CtapHidDevice(descriptor, open_connection(descriptor))
    host, port = sys.argv[1], int(sys.argv[2])
    descriptor = HidDescriptor(f"udp:{host}:{port}", 0x1209, 0x000F, 64, 64, "Keybench virtual key", None)
    return CtapHidDevice(descriptor, UdpConnection(host, port))


def main():
    device = open_device()
    counter = ApduCounter(device) if sys.argv[1] == "pcsc" else None
    info = Ctap2(device).get_info()
    print(json.dumps({"getInfo": {"versions": info.versions, "algorithms": [a["alg"] for a in info.algorithms], "max_msg_size": info.max_msg_size}}), flush=True)

    rp = PublicKeyCredentialRpEntity(id="example.org", name="Example")
    credentials = []
    client = Fido2Client(device, DefaultClientDataCollector("https://example.org"), UserInteraction())
    for alg in (-7, -8, -48, -49, -50):
        if counter:
            counter.reset()
        server = Fido2Server(rp)
        server.allowed_algorithms = [PublicKeyCredentialParameters(type=PublicKeyCredentialType.PUBLIC_KEY, alg=alg)]
        user = PublicKeyCredentialUserEntity(id=f"user{alg}".encode(), name="alice", display_name="Alice")
        # No PIN is set: python-fido2 refuses "preferred" UV on a key that
        # offers clientPin but has none, as a browser would ask to set one.
        options, state = server.register_begin(user, user_verification=UserVerificationRequirement.DISCOURAGED)
        registration = client.make_credential(options.public_key)
        auth_data = server.register_complete(state, registration)
        credential = auth_data.credential_data
        credentials.append(credential)

        att = registration.response.attestation_object
        client_data_hash = registration.response.client_data.hash
        PackedAttestation().verify(att.att_stmt, att.auth_data, client_data_hash)

        wire = {"registration_wire": counter.take()} if counter else {}

        options, state = server.authenticate_begin([credential], user_verification=UserVerificationRequirement.DISCOURAGED)
        assertion = client.get_assertion(options.public_key).get_response(0)
        server.authenticate_complete(state, [credential], assertion)
        if counter:
            wire["authentication_wire"] = counter.take()
        print(json.dumps({
            **wire,
            "alg": alg,
            "fmt": att.fmt,
            "public_key_alg": credential.public_key[3],
            "registration_bytes": len(bytes(att)),
            "sign_count": assertion.response.authenticator_data.counter,
            "verified": True,
        }), flush=True)

    if counter:
        # One assertion allowing all five credentials: a request over 255
        # bytes, so short APDUs carry it as an ISO 7816-4 command chain.
        server = Fido2Server(rp)
        options, state = server.authenticate_begin(credentials, user_verification=UserVerificationRequirement.DISCOURAGED)
        counter.reset()
        assertion = client.get_assertion(options.public_key).get_response(0)
        server.authenticate_complete(state, credentials, assertion)
        print(json.dumps({"allow_list": len(credentials), "verified": True, "authentication_wire": counter.take()}), flush=True)


if __name__ == "__main__":
    main()
