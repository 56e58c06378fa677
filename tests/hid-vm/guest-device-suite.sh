# Runs inside the harness VM, chrooted into the (read-only) host root.
# python-fido2's own device test suite (tests/device of its source
# distribution, unmodified) against the Keybench virtual key on /dev/uhid,
# through the real /dev/hidrawN node, unattended: suite-controller.py stands
# in for the suite's hardware controller (power = the serve process, touch =
# the key's presence policy), started on a fresh state file because the suite
# refuses a key that has a PIN.
# Paths come from the environment file the test writes next to this script:
# KB_WORK, KB_BIN, KB_PYTHON, KB_SUITE (the extracted sdist), KB_CONTROLLER,
# KB_DESELECT (one test id per line).
set -u
. "$(dirname "$0")/guest.env"
OUT=$KB_WORK/out
t() { cut -d' ' -f1 /proc/uptime; }
echo "guest: start t=$(t)"
# The controller listens on loopback, which the guest's init leaves down.
ip link set lo up 2>/dev/null || busybox ip link set lo up || { echo "guest: cannot bring up lo"; exit 9; }
STATE=$KB_WORK/suite-key-state.json
rm -f "$STATE"
PORT=8765
# uhid has no flow control: the kernel queues at most 32 reports written to
# the hidraw node for the key to read and drops the rest ("Output queue is
# full"), where a USB endpoint would make the host wait. python-fido2 writes
# the 129 reports of a 7,609-byte request back to back, which an emulated CPU
# shared with other work does not always drain in time. So the key and the
# suite share CPU 0 and the key runs at a real-time priority: each report
# written wakes the key's reader at once, as the endpoint's flow control
# would pace it. The count of dropped reports is printed at the end.
# Batch (packed basic) attestation, as keys of the field ship: the suite's
# enterprise test compares the enterprise certificate with the ordinary one.
# A fingerprint sensor (--fingerprint, no finger enrolled: the suite refuses
# a key with UV configured), its samples and matches answered by the
# presence policy: test_bioenroll.py enrols, uses and deletes a finger.
"$KB_PYTHON" -I "$KB_CONTROLLER" "127.0.0.1:$PORT" 1 "$OUT" -- \
    taskset -c 0 chrt -f 10 "$KB_BIN" virtual-key serve --uhid --presence approve --fingerprint --attestation packed-basic --state "$STATE" \
    > "$OUT/controller.out" 2> "$OUT/controller.log" &
CONTROLLER=$!
for i in $(seq 300); do grep -q "^controller: ready" "$OUT/controller.out" 2>/dev/null && break; sleep 0.1; done
grep -q "^controller: ready" "$OUT/controller.out" || { echo "guest: the controller did not start"; cat "$OUT/controller.log"; exit 10; }
echo "guest: $(cat "$OUT/controller.out") t=$(t)"
set --
while read -r id; do [ -n "$id" ] && set -- "$@" --deselect "$id"; done < "$KB_DESELECT"
echo "--- pytest tests/device ($(( $# / 2 )) deselected)"
cd "$KB_SUITE"
# -p no:cacheprovider: nothing written into the suite's tree (the guest sees
# it read-only anyway); -rA: every test's outcome, with each skip's reason,
# which the test reads; the JUnit XML is kept in out/ for people.
PYTHONDONTWRITEBYTECODE=1 taskset -c 0 "$KB_PYTHON" -m pytest tests/device -p no:cacheprovider \
    --controller "http://127.0.0.1:$PORT" --pico-port 1 \
    -rA --junitxml "$OUT/suite.xml" -o junit_family=xunit2 "$@" > "$OUT/suite.txt" 2>&1
rc=$?
cat "$OUT/suite.txt"
echo "guest: pytest exit $rc t=$(t)"
echo "guest: uhid output queue overflows: $(dmesg | grep -c "Output queue is full")"
echo "--- controller log"
cat "$OUT/controller.log"
kill $CONTROLLER 2>/dev/null; wait $CONTROLLER 2>/dev/null
# The test judges the outcomes (pytest exits 1 on any failure); the guest
# fails only when pytest could not run at all (usage, internal error, exit).
case $rc in 0|1) exit 0 ;; *) exit $((20 + rc)) ;; esac
