#!/usr/bin/env bash
# Boot a kiosk image in qemu-system-aarch64 (`virt`, virtio-gpu so the app draws through KMS/DRM, two
# networks: the office LAN with the gateway on the host, and the management network) and check it from
# outside the guest, one line per check; any failed check fails the run:
#   1. first boot makes the data partition and provisions against the gateway (the token is spent, the
#      gateway holds the kiosk's certificate but never its key; the enrolment file is gone);
#   2. loket-kiosk.service is READY under its hardened unit, and the screen (QEMU's screendump, read
#      with tesseract) shows the idle screen;
#   3. the app stopped with SIGSTOP is restarted by systemd's watchdog within WatchdogSec plus a margin;
#   4. the root is read-only (and the console's Ctrl+Alt+Delete and SysRq are off), and a power cut (QEMU
#      quit, no shutdown) loses no committed journal row;
#   5. /metrics and /healthz answer on the management address only;
#   6-8. field updates: a good signed bundle is installed and reported by /healthz; a bundle whose app never
#      becomes READY is rolled back by the kiosk itself; a bundle signed by an untrusted key is refused.
# Usage: image-build/boot-test.sh IMAGE [--work DIR] [--keep]
# Needs: qemu-system-aarch64, mtools, openssl, ssh, tesseract (the kiosk's test venv: scripts/setup.sh --test).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
image=""
work="${LOKET_BOOT_WORK:-/var/tmp/loket-boot}"
keep=0
boot_timeout="${LOKET_BOOT_TIMEOUT:-1500}"   # emulated arm64 on a shared x86 host: first boot is slow
while [ $# -gt 0 ]; do
  case "$1" in
    --work) work="${2:-}"; shift 2 ;;
    --keep) keep=1; shift ;;
    -*) echo "boot-test.sh: unknown option $1" >&2; exit 2 ;;
    *) image="$1"; shift ;;
  esac
done
[ -f "$image" ] || { echo "usage: image-build/boot-test.sh IMAGE [--work DIR] [--keep]" >&2; exit 2; }
venv="$repo/.venv/bin"
[ -x "$venv/loket-gateway" ] || { echo "boot-test.sh: no $venv/loket-gateway: run scripts/setup.sh --test" >&2; exit 2; }
for tool in qemu-system-aarch64 mcopy openssl ssh scp ssh-keygen tesseract curl git; do
  command -v "$tool" >/dev/null || { echo "boot-test.sh: $tool is missing" >&2; exit 2; }
done

rm -rf "$work" && mkdir -p "$work"
failed=0
qemu_pid=""
gw_pid=""
log() { printf '%s boot-test: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
check() {  # check N ok|FAIL text
  printf 'check %s: %s: %s\n' "$1" "$2" "$3"
  [ "$2" = ok ] || failed=1
}
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  [ -z "$qemu_pid" ] || kill "$qemu_pid" 2>/dev/null || true
  [ -z "$gw_pid" ] || kill "$gw_pid" 2>/dev/null || true
  [ "$keep" = 1 ] || rm -f "$work/disk.img"
}
trap cleanup EXIT

port() { "$venv/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
gw_port="$(port)"; ssh_port="$(port)"; mgmt_port="$(port)"; lan_metrics_port="$(port)"

# -- the office: a gateway on the host, reached from the guest at 10.0.2.2 (QEMU's user network) --------
log "gateway on 127.0.0.1:$gw_port (10.0.2.2 in the guest)"
pki="$work/pki" && mkdir -p "$pki"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=Loket boot-test CA" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=gateway" \
  -keyout "$pki/gateway.key" -out "$pki/gateway.csr" 2>/dev/null
openssl x509 -req -in "$pki/gateway.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 30 \
  -extfile <(printf 'subjectAltName=IP:10.0.2.2,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n') \
  -out "$pki/gateway.crt" 2>/dev/null
db="sqlite:///$work/gateway.db"
"$venv/loket-gateway" migrate --db "$db" >/dev/null
"$venv/loket-gateway" seed --demo --db "$db" >/dev/null
kiosk_id=KUPANG-BOOT
token="$("$venv/loket-gateway" enrolment-token "$kiosk_id" --office DKP-KUPANG --db "$db" | tail -n 1)"
"$venv/loket-gateway" serve --db "$db" --listen "127.0.0.1:$gw_port" --workers 1 --threads 4 \
  --tls-cert "$pki/gateway.crt" --tls-key "$pki/gateway.key" --client-ca "$pki/ca.crt" --ca-key "$pki/ca.key" \
  > "$work/gateway.log" 2>&1 &
gw_pid=$!

# -- the disk: a copy of the image with room for the data partition, the enrolment file on its boot part --
ssh-keygen -q -t ed25519 -N "" -C boot-test -f "$work/technician"
cp --sparse=always "$image" "$work/disk.img"
truncate -s +2G "$work/disk.img"
boot_offset=$(( $(sfdisk -J "$work/disk.img" | "$venv/python" -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][0]["start"])') * 512 ))
fat="$work/disk.img@@$boot_offset"
# field-update bundles (checks 6-8): the kiosk's wheel built from this tree at two new versions, the
# second one never telling systemd it is READY, and a third signed by a key the kiosk does not trust
update_pub="$("$venv/kiosk" update make-key "$work/update.key")"
"$venv/kiosk" update make-key "$work/forger.key" >/dev/null
base_version="$("$venv/python" -c 'import kiosk; print(kiosk.__version__)')"
good_version="$base_version.post1"
broken_version="$base_version.post2"
bundle_of() {  # bundle_of VERSION NAME KEY [never-ready]
  local tree="$work/tree-$1"
  mkdir -p "$tree"
  (cd "$repo" && git ls-files --cached --others --exclude-standard kiosk loket_gateway pyproject.toml README.md | tar -cf - -T -) | tar -xf - -C "$tree"
  sed -i "s/^__version__ = .*/__version__ = \"$1\"/" "$tree/kiosk/__init__.py"
  if [ "${4:-}" = never-ready ]; then
    "$venv/python" - "$tree/kiosk/cli.py" <<'PY'
import sys
p = sys.argv[1]; s = open(p).read()
head = "def cmd_run(args: argparse.Namespace) -> int:\n"
assert head in s
open(p, "w").write(s.replace(head, head + "    import time\n\n    time.sleep(10**7)  # boot-test: never READY\n", 1))
PY
  fi
  "$venv/python" -m pip wheel -q --no-deps --no-build-isolation -w "$tree/dist" "$tree" >/dev/null 2>&1
  "$venv/kiosk" update make --key "$3" --out "$work/$2" "$tree"/dist/loket_mandiri-*.whl >/dev/null
}
bundle_of "$good_version" good.bundle "$work/update.key"
bundle_of "$broken_version" broken.bundle "$work/update.key" never-ready
bundle_of "$base_version.post3" forged.bundle "$work/forger.key"

cat > "$work/loket-enrol.toml" <<EOF
kiosk_id = "$kiosk_id"
gateway_url = "https://10.0.2.2:$gw_port"
token = "$token"
ca_file = "gateway-ca.crt"
ssh_keys = ["$(cat "$work/technician.pub")"]
ops_listen = "10.0.3.15:9101"
hardware = "sim"
update_keys = ["$update_pub"]
EOF
mcopy -o -i "$fat" "$work/loket-enrol.toml" ::loket-enrol.toml
mcopy -o -i "$fat" "$pki/ca.crt" ::gateway-ca.crt
mcopy -o -i "$fat" ::vmlinuz "$work/vmlinuz"
mcopy -o -i "$fat" ::initrd.img "$work/initrd.img"

start_qemu() {  # start_qemu LOGNAME
  qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 2 -m 2048 \
    -kernel "$work/vmlinuz" -initrd "$work/initrd.img" \
    -append "root=LABEL=LOKETROOT ro rootwait console=ttyAMA0 systemd.show_status=1 systemd.journald.forward_to_console=1" \
    -drive "file=$work/disk.img,format=raw,if=none,id=disk,cache=writeback" -device virtio-blk-pci,drive=disk \
    -netdev "user,id=lan,net=10.0.2.0/24,hostfwd=tcp:127.0.0.1:$lan_metrics_port-10.0.2.15:9101" \
    -device virtio-net-pci,netdev=lan,mac=52:54:00:00:02:15 \
    -netdev "user,id=mgmt,net=10.0.3.0/24,restrict=on,hostfwd=tcp:127.0.0.1:$ssh_port-10.0.3.15:22,hostfwd=tcp:127.0.0.1:$mgmt_port-10.0.3.15:9101" \
    -device virtio-net-pci,netdev=mgmt,mac=52:54:00:00:03:15 \
    -device virtio-gpu-pci,xres=1280,yres=800 -display none \
    -device qemu-xhci -device usb-kbd -device usb-tablet -device virtio-rng-pci \
    -device i6300esb -action watchdog=reset \
    -serial "file:$work/$1" -monitor "unix:$work/monitor.sock,server,nowait" &
  qemu_pid=$!
}
monitor() { "$venv/python" - "$work/monitor.sock" "$1" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.settimeout(30); s.connect(sys.argv[1])
s.recv(4096); s.sendall((sys.argv[2] + "\n").encode()); time.sleep(2); s.close()
EOF
}
guest() {  # guest COMMAND...: run as the technician over the management network
  ssh -q -i "$work/technician" -p "$ssh_port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o ConnectTimeout=20 -o BatchMode=yes technician@127.0.0.1 "$@"
}
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...: until COMMAND succeeds
  local end=$(( SECONDS + $1 )) what="$2"; shift 2
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $end ]; then log "gave up waiting for $what"; return 1; fi
    sleep 5
  done
}

log "first boot (serial console in $work/serial-1.log)"
t0=$SECONDS
start_qemu serial-1.log
if ! wait_for "$boot_timeout" "SSH on the management network" guest true; then
  check 1 FAIL "no SSH answer within ${boot_timeout} s; see $work/serial-1.log"
  exit 1
fi
log "SSH answered after $(( SECONDS - t0 )) s"
wait_for 900 "loket-kiosk.service active" guest systemctl is-active --quiet loket-kiosk.service || true

# 1. data partition and provisioning
parts="$(guest lsblk -n -o LABEL,MOUNTPOINTS /dev/vda | tr -s ' \n' ' ')"
provisioned="$(guest systemctl show -p Result --value loket-provision.service)"
enrol_gone="$(guest sudo test ! -e /boot/firmware/loket-enrol.toml && echo yes || echo no)"
key_mode="$(guest sudo stat -c %a:%U /etc/loket/kiosk.key 2>/dev/null || echo missing)"
spent="$("$venv/python" - "$work/gateway.db" "$kiosk_id" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
(spent,) = db.execute("select count(*) from enrolment_tokens where kiosk_id = ? and spent is not null", (sys.argv[2],)).fetchone()
print(f"token spent: {'yes' if spent == 1 else 'no'}")
EOF
)"
if [[ "$parts" == *LOKETDATA*/data* ]] && [ "$provisioned" = success ] && [ "$spent" = "token spent: yes" ] && [ "$enrol_gone" = yes ] && [[ "$key_mode" == 600:* ]]; then
  check 1 ok "data partition made ($parts); provisioned ($spent); enrolment file removed; kiosk key $key_mode on the kiosk"
else
  check 1 FAIL "partitions: $parts; provisioning: $provisioned; enrolment file gone: $enrol_gone; key: $key_mode; $spent"
fi

# 2. READY under the hardened unit, and the idle screen on the display
state="$(guest systemctl show -p ActiveState,SubState,NRestarts,MainPID loket-kiosk.service | tr '\n' ' ')"
monitor "screendump $work/screen.ppm"
"$venv/python" -c "from PIL import Image; Image.open('$work/screen.ppm').save('$work/screen.png')" 2>/dev/null || true
words="$(tesseract "$work/screen.png" - 2>/dev/null | tr '\n' ' ' || true)"
if [[ "$state" == *ActiveState=active*SubState=running* ]] && [[ "$words" == *Tunjukkan* || "$words" == *tiket* ]]; then
  check 2 ok "loket-kiosk.service READY ($state); the screen reads: ${words:0:80} ($work/screen.png)"
else
  check 2 FAIL "unit: $state; the screen reads: '${words:0:120}' ($work/screen.png)"
fi

# 3. the watchdog restarts a stopped app
watchdog_s="$(guest systemctl show -p WatchdogUSec --value loket-kiosk.service)"
pid_before="$(guest systemctl show -p MainPID --value loket-kiosk.service)"
guest sudo kill -STOP "$pid_before"
t_stop=$SECONDS
# shellcheck disable=SC2317  # called through wait_for
restarted() { local p; p="$(guest systemctl show -p MainPID --value loket-kiosk.service)"; [ "$p" != "$pid_before" ] && [ "$p" != 0 ]; }
if wait_for 240 "a new kiosk process" restarted && wait_for 300 "the kiosk READY again" guest systemctl is-active --quiet loket-kiosk.service; then
  took=$(( SECONDS - t_stop ))
  check 3 ok "SIGSTOP at pid $pid_before: restarted by the watchdog (WatchdogSec $watchdog_s) in ${took} s"
else
  check 3 FAIL "SIGSTOP at pid $pid_before: not restarted within 240 s (WatchdogSec $watchdog_s)"
fi

# 4. read-only root; a power cut loses no committed journal row
ro="$(guest findmnt -n -o OPTIONS /)"
console="sysrq $(guest cat /proc/sys/kernel/sysrq), ctrl-alt-del $(guest systemctl is-enabled ctrl-alt-del.target 2>/dev/null || true)"
wrote="$(guest sudo touch /etc/boot-test-write 2>/dev/null && echo written || echo refused)"
before="$(guest sudo /opt/loket/venv/bin/kiosk audit verify --db /var/lib/loket/kiosk.db | tail -n 1)"
guest sync || true
monitor quit
wait "$qemu_pid" 2>/dev/null || true
qemu_pid=""
log "power cut; second boot (serial console in $work/serial-2.log)"
start_qemu serial-2.log
wait_for "$boot_timeout" "SSH after the power cut" guest true || true
after="$(guest sudo /opt/loket/venv/bin/kiosk audit verify --db /var/lib/loket/kiosk.db | tail -n 1 || echo "no answer")"
rows_before="$(echo "$before" | sed -n 's/^journal: \([0-9]*\) rows.*/\1/p')"
rows_after="$(echo "$after" | sed -n 's/^journal: \([0-9]*\) rows.*/\1/p')"
if [[ "$ro" == ro,* ]] && [ "$wrote" = refused ] && [ -n "$rows_before" ] && [ -n "$rows_after" ] \
   && [ "$rows_after" -ge "$rows_before" ] && [[ "$after" == *", OK"* ]] && [ "$console" = "sysrq 0, ctrl-alt-del masked" ]; then
  check 4 ok "root mounted $ro, a write refused; $console; journal before the cut: $before; after: $after"
else
  check 4 FAIL "root: $ro, write: $wrote; $console; journal before: $before; after: $after"
fi

# 5. /metrics and /healthz on the management address only
wait_for 300 "/healthz on the management address" curl -fsS -m 10 "http://127.0.0.1:$mgmt_port/healthz" || true
metrics="$(curl -fsS -m 10 "http://127.0.0.1:$mgmt_port/metrics" | grep -c '^kiosk_' || true)"
health="$(curl -sS -m 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mgmt_port/healthz" || true)"
lan="$(curl -sS -m 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$lan_metrics_port/metrics" 2>/dev/null || true)"
if [ "${metrics:-0}" -gt 0 ] && [ "$health" = 200 ] && [ "$lan" = 000 ]; then
  check 5 ok "management address: /metrics $metrics kiosk_ series, /healthz $health; office LAN address: no answer"
else
  check 5 FAIL "management: /metrics ${metrics:-0} kiosk_ series, /healthz $health; office LAN: HTTP $lan"
fi

# 6-8. field updates (kiosk/ops/update.py): a good bundle is taken; one whose app never becomes READY is
# rolled back by the kiosk itself; one signed by a key the kiosk does not trust is refused
healthz_version() { curl -fsS -m 10 "http://127.0.0.1:$mgmt_port/healthz" | "$venv/python" -c 'import json,sys; print(json.load(sys.stdin).get("version"))'; }
# shellcheck disable=SC2317  # called through wait_for
version_is() { [ "$(healthz_version 2>/dev/null)" = "$1" ]; }
# shellcheck disable=SC2317
outcome_is() {  # outcome_is VERSION OUTCOME: the update state's newest entry
  guest cat /var/lib/loket-update/state.json | "$venv/python" -c 'import json,sys; h=json.load(sys.stdin)["history"]; sys.exit(not (h and h[-1]["version"] == sys.argv[1] and h[-1]["outcome"] == sys.argv[2]))' "$1" "$2"
}
# shellcheck disable=SC2317
refused_has() { guest test -e "/var/lib/loket-update/refused/$1"; }
drop() {  # drop BUNDLE: as an admin does, over the management network (NAME.part, then renamed)
  local name; name="$(basename "$1")"
  scp -q -i "$work/technician" -P "$ssh_port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o BatchMode=yes "$1" "technician@127.0.0.1:/var/lib/loket-update/incoming/$name.part"
  guest mv "/var/lib/loket-update/incoming/$name.part" "/var/lib/loket-update/incoming/$name"
}
image_version="$(healthz_version 2>/dev/null || echo unknown)"
t_up=$SECONDS
drop "$work/good.bundle"
if wait_for 1200 "the kiosk on $good_version" version_is "$good_version" && wait_for 120 "the commit" outcome_is "$good_version" committed; then
  check 6 ok "good bundle: $image_version -> $good_version in $(( SECONDS - t_up )) s, /healthz reports $good_version, committed"
else
  check 6 FAIL "good bundle: /healthz reports $(healthz_version 2>/dev/null || echo nothing) (wanted $good_version); last outcome: $(guest cat /var/lib/loket-update/state.json 2>/dev/null | tr -d '\n ' | cut -c1-200)"
fi
t_up=$SECONDS
drop "$work/broken.bundle"
if wait_for 1500 "the rollback of $broken_version" outcome_is "$broken_version" rolled_back && wait_for 600 "the kiosk back on $good_version" version_is "$good_version"; then
  check 7 ok "bundle $broken_version never READY: rolled back by the kiosk to $good_version in $(( SECONDS - t_up )) s"
else
  check 7 FAIL "bundle $broken_version: no rollback seen; /healthz reports $(healthz_version 2>/dev/null || echo nothing)"
fi
drop "$work/forged.bundle"
if wait_for 300 "the forged bundle refused" refused_has forged.bundle && version_is "$good_version"; then
  check 8 ok "bundle signed by an untrusted key: refused ($(guest journalctl -u loket-update.service -n 20 --no-pager -o cat | grep -m1 -o 'bad signature[^;]*' || echo refused)), still on $good_version"
else
  check 8 FAIL "forged bundle: not refused, or the kiosk left $good_version"
fi

log "done in $(( SECONDS - t0 )) s"
monitor quit || true
exit "$failed"
