# Runs inside the harness VM, chrooted into the (read-only) host root.
# Starts the Keybench virtual key on /dev/uhid and drives it through
# /dev/hidrawN with independent clients: libfido2's fido2-token, fido2-cred
# and fido2-assert (ES256 and EdDSA; FIDO_MAXMSG 2048 keeps them from ML-DSA),
# then python-fido2 (every algorithm, verified by its Fido2Server), then
# Keybench's own client through hidapi (devices, info, wink, PIN,
# ML-DSA-87 registration near the 7,609-byte limit, authentication,
# credential management, the key lab's comparison of the five algorithms and its probe),
# `keybench doctor` as root and as a user the hidraw node's mode shuts out,
# and `keybench bio` (enrol, list, rename, delete a finger, and a
# registration verified by the finger alone) on a key with a sensor.
# Paths come from the environment file the test writes next to this script.
set -u
. "$(dirname "$0")/guest.env"
OUT=$KB_WORK/out
t() { cut -d' ' -f1 /proc/uptime; }
echo "guest: start t=$(t)"
"$KB_BIN" virtual-key serve --uhid > "$OUT/virtual-key.log" 2>&1 &
KEY=$!
for i in $(seq 100); do ls /dev/hidraw* >/dev/null 2>&1 && break; sleep 0.1; done
HR=$(ls /dev/hidraw* 2>/dev/null | head -1)
[ -n "$HR" ] || { echo "guest: no hidraw node"; cat "$OUT/virtual-key.log"; exit 10; }
echo "guest: $HR up t=$(t)"
fail=0
echo "--- fido2-token -L"
fido2-token -L | tee "$OUT/token-L.txt" || fail=11
grep -q "^$HR: vendor=0x1209, product=0x000f" "$OUT/token-L.txt" || fail=12
echo "--- fido2-token -I $HR"
fido2-token -I "$HR" | tee "$OUT/token-I.txt" || fail=13
CDH=$(printf 'keybench-vm-client-data-hash-32b' | base64)
UID64=$(printf 'user-1' | base64)
for type in es256 eddsa; do
    echo "--- fido2-cred -M / -V, fido2-assert -G / -V ($type)"
    printf '%s\nexample.org\nalice\n%s\n' "$CDH" "$UID64" | fido2-cred -M "$HR" "$type" > "$OUT/cred-$type.out" || { fail=20; continue; }
    fido2-cred -V -o "$OUT/cred-$type.verified" "$type" < "$OUT/cred-$type.out" || { fail=21; continue; }
    sed -n '2,$p' "$OUT/cred-$type.verified" > "$OUT/cred-$type.pem"
    CRED_ID=$(sed -n 5p "$OUT/cred-$type.out")
    printf '%s\nexample.org\n%s\n' "$CDH" "$CRED_ID" | fido2-assert -G "$HR" "$type" > "$OUT/assert-$type.out" || { fail=22; continue; }
    fido2-assert -V "$OUT/cred-$type.pem" "$type" < "$OUT/assert-$type.out" || { fail=23; continue; }
    echo "guest: $type credential made, verified, asserted and assertion verified by libfido2"
done
echo "--- python-fido2 over $HR"
"$KB_PYTHON" -I "$KB_PY_SCRIPT" "$HR" | tee "$OUT/python-fido2.jsonl" || fail=30
echo "--- the Keybench client over hidapi ($HR)"
kb() { echo "\$ keybench $*"; "$KB_BIN" "$@"; }
kb devices --json | tee "$OUT/kb-devices.json" || fail=40
kb info | tee "$OUT/kb-info.txt" || fail=41
kb wink || fail=42
kb pin set --new-pin 246810 || fail=43
kb pin retries || fail=44
export KEYBENCH_PIN=246810
kb register --resident-key --algorithms ML-DSA-87 --record "$OUT/kb-traffic.jsonl" > "$OUT/kb-register.json" || fail=45
kb authenticate --uv required > "$OUT/kb-authenticate.json" || fail=46
kb credentials list | tee "$OUT/kb-credentials.txt" || fail=47
echo "guest: keybench register $(wc -c < "$OUT/kb-register.json") bytes of JSON, traffic $(wc -l < "$OUT/kb-traffic.jsonl") events"
echo "--- keybench probe over hidapi ($HR), with the PIN (its test credentials are deleted after)"
kb probe --report "$OUT/kb-probe.json" 2> "$OUT/kb-probe.err" | tee "$OUT/kb-probe.txt" || fail=48
unset KEYBENCH_PIN
echo "--- libfido2 with the PIN Keybench set: fido2-token -C (change PIN), -L -r (RPs), -L -k (credentials)"
# The tools read PINs from the terminal: script(1) gives them one, fed from
# stdin. readpassphrase flushes typed-ahead input, so each line comes after
# its prompt.
typed() { for line in "$@"; do sleep 1; echo "$line"; done; }
typed 246810 13579246 13579246 | script -qec "fido2-token -C $HR" /dev/null | tee "$OUT/token-C.txt" || fail=50
typed 13579246 | script -qec "fido2-token -L -r $HR" /dev/null | tee "$OUT/token-Lr.txt" || fail=51
typed 13579246 | script -qec "fido2-token -L -k localhost $HR" /dev/null | tee "$OUT/token-Lk.txt" || fail=52
grep -q "localhost" "$OUT/token-Lr.txt" || fail=53
"$KB_BIN" pin retries
echo "--- the key lab over $HR: keybench compare, five algorithms"
"$KB_BIN" compare "$HR" --rounds 10 --report "$OUT/kb-compare.html" 2> "$OUT/kb-compare.log" | tee "$OUT/kb-compare.txt" || fail=60
echo "--- keybench large-blobs and config over $HR"
export KEYBENCH_PIN=13579246
cat > "$OUT/lb-options.json" <<'JSON'
{"challenge": "a2V5YmVuY2gtdm0tbGFyZ2UtYmxvYi1jaGFsbGVuZ2U", "rp": {"id": "localhost", "name": "Keybench VM"},
 "user": {"id": "dm0tYmxvYi11c2Vy", "name": "blob", "displayName": "Blob"},
 "pubKeyCredParams": [{"type": "public-key", "alg": -49}],
 "authenticatorSelection": {"residentKey": "required", "userVerification": "required"},
 "extensions": {"largeBlob": {"support": "required"}}}
JSON
"$KB_BIN" register --options "$OUT/lb-options.json" > "$OUT/kb-lb-register.json" || fail=61
CRED=$("$KB_PYTHON" -I -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$OUT/kb-lb-register.json")
kb large-blobs write --id "$CRED" --data "hello over hidraw" || fail=62
kb large-blobs list --json | tee "$OUT/kb-lb-list.json" || fail=63
kb large-blobs read --id "$CRED" | tee "$OUT/kb-lb-read.txt" || fail=64
grep -qx "hello over hidraw" "$OUT/kb-lb-read.txt" || fail=65
kb large-blobs delete --id "$CRED" || fail=66
kb config enable-enterprise-attestation --json | tee "$OUT/kb-config.json" || fail=67
grep -q '"enterpriseAttestation": *true' "$OUT/kb-config.json" || fail=68
unset KEYBENCH_PIN
echo "--- hot-plug: keybench devices --watch while the key is pulled out and plugged in"
"$KB_BIN" devices --watch --json 2>/dev/null | while read -r line; do echo "$(t) $line"; done > "$OUT/kb-watch.txt" &
sleep 1
echo "guest: unplug t=$(t)"
kill $KEY; wait $KEY 2>/dev/null
sleep 1.5
echo "guest: plug t=$(t)"
"$KB_BIN" virtual-key serve --uhid > "$OUT/virtual-key-2.log" 2>&1 &
KEY=$!
# The key is plugged in when the kernel shows its hidraw node.
for i in $(seq 200); do [ -e "$HR" ] && break; sleep 0.01; done
echo "guest: node t=$(t)"
sleep 1.5
pkill -f "devices --watch"
sed 's/^/watch: /' "$OUT/kb-watch.txt"
echo "--- keybench doctor: as root, then as uid 65534 with $HR mode 0600"
ip link set lo up 2>/dev/null  # the port check binds 127.0.0.1
"$KB_BIN" doctor --json --data-dir /tmp/kb-doctor-root > "$OUT/doctor-root.json"
echo "guest: doctor as root exit=$?"
chmod 600 "$HR"
# uid 65534 can neither enter the work directory nor write $OUT: its copy of
# the binary and its data directory are on the guest's /tmp.
cp "$KB_BIN" /tmp/kb-nobody && chmod 755 /tmp/kb-nobody
mkdir -m 700 /tmp/kb-doctor-nobody && chown 65534:65534 /tmp/kb-doctor-nobody
setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=/tmp /tmp/kb-nobody doctor --json --data-dir /tmp/kb-doctor-nobody > "$OUT/doctor-nobody.json"
echo "guest: doctor as uid 65534 exit=$?"
echo "--- keybench bio over hidraw: a key with a fingerprint sensor (its presence policy is the finger)"
kill $KEY; wait $KEY 2>/dev/null
# The old key's node must be gone before the new one is looked for (under
# emulation its removal can take seconds): else the first command would
# reach the old key.
for i in $(seq 1000); do [ -e "$HR" ] || break; sleep 0.01; done
[ -e "$HR" ] && { echo "guest: the old key's $HR is still there"; fail=69; }
# A new key each run: the work directory outlives the run, and a state file
# left by the last one would already hold this PIN.
rm -f "$OUT/bio-key.state"
"$KB_BIN" virtual-key serve --uhid --fingerprint --state "$OUT/bio-key.state" > "$OUT/virtual-key-bio.log" 2>&1 &
KEY=$!
for i in $(seq 1000); do [ -e "$HR" ] && break; sleep 0.01; done
kb pin set --new-pin 97531864 || fail=70
export KEYBENCH_PIN=97531864
kb bio enroll --name "right thumb" --json | tee "$OUT/kb-bio-enroll.jsonl" || fail=71
BIO_ID=$("$KB_PYTHON" -I -c 'import json,sys; l=open(sys.argv[1]).read().split("\n"); print(json.loads("\n".join(l[l.index("{"):]))["fingerprint"]["templateId"])' "$OUT/kb-bio-enroll.jsonl") || fail=72
kb bio list | tee "$OUT/kb-bio-list.txt" || fail=73
grep -q "right thumb" "$OUT/kb-bio-list.txt" || fail=74
kb bio rename --id "$BIO_ID" --name "left index" || fail=75
kb bio list --json | tee "$OUT/kb-bio-list.json" || fail=76
grep -q '"left index"' "$OUT/kb-bio-list.json" || fail=77
# Built-in UV before the PIN: no PIN given, none to be read (stdin empty),
# so the registration's token can only come from the finger.
unset KEYBENCH_PIN
kb register --resident-key --uv required --algorithms ML-DSA-65 < /dev/null > "$OUT/kb-bio-register.json" 2> "$OUT/kb-bio-register.err" || fail=78
cat "$OUT/kb-bio-register.err"
grep -q "^registered: credential" "$OUT/kb-bio-register.err" && echo "guest: registered with UV by the finger alone, no PIN given" || fail=81
export KEYBENCH_PIN=97531864
kb bio delete --id "$BIO_ID" || fail=79
kb bio list --json | tee "$OUT/kb-bio-list-after.json" || fail=80
unset KEYBENCH_PIN
echo "guest: done t=$(t) fail=$fail"
kill $KEY 2>/dev/null
exit $fail
