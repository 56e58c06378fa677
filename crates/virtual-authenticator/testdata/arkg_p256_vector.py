# Generates the ARKG-P256 cross-check vector with python-fido2 2.2.1.
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ARKG_P256_PLACEHOLDER, ES256
import hashlib
def key(label):
    d = int.from_bytes(hashlib.sha256(label).digest(), "big") % (2**256 - 2**224 - 1)
    return d, ec.derive_private_key(d, ec.SECP256R1())
d_bl, sk_bl = key(b"keybench arkg vector bl")
d_kem, sk_kem = key(b"keybench arkg vector kem")
seed = ARKG_P256_PLACEHOLDER({1: -65537, 3: -65700,
    -1: dict(ES256.from_cryptography_key(sk_bl.public_key())),
    -2: dict(ES256.from_cryptography_key(sk_kem.public_key())), -3: -9})
ikm = bytes(range(32)); ctx = b"python-fido2.test_sign_extension_v4"
pk, args = seed.derive_public_key(ikm, ctx)
print("sk_bl", d_bl.to_bytes(32,"big").hex())
print("sk_kem", d_kem.to_bytes(32,"big").hex())
print("ikm", ikm.hex()); print("ctx", ctx.hex())
print("pk_x", pk[-2].hex()); print("pk_y", pk[-3].hex())
print("kh", args[-1].hex())
