#!/usr/bin/env bash
# The systemd unit of the Debian package, unpacked into ROOT by deb.cmake:
# 1. `systemd-analyze verify` accepts it (directives, hardening options, commands, the man page
#    named in Documentation=), with the program path mapped into ROOT, as the only change;
# 2. its ExecStart command, run as an unprivileged user (when this runs as root) with a
#    configuration file that user can read only through its group, as the installation guide
#    says (docs/OPERATIONS.md), starts a registry node; ExecReload (SIGHUP) reloads it; SIGTERM
#    (systemctl stop) ends it with status 0.
# Usage: systemd_unit.sh ROOT WORK_DIR
set -euo pipefail
root=$1
work=$2
unit=$root/usr/lib/systemd/system/polaris-registry@.service
fail() { echo "systemd unit: $*" >&2; exit 1; }

rm -rf "$work"
mkdir -p "$work/units"
# Readable by the unprivileged user below: the work folder may be under a private home.
chmod 755 "$work" "$work/units"

if ! command -v systemd-analyze >/dev/null; then
  echo "systemd unit: SKIPPED the verification: systemd-analyze is not installed (package systemd)"
else
  sed "s|/usr/bin/polaris|$root/usr/bin/polaris|g" "$unit" > "$work/units/polaris-registry@.service"
  # The man page of Documentation=man:polaris(1) is the package's.
  if ! out=$(MANPATH=$root/usr/share/man systemd-analyze verify \
               "$work/units/polaris-registry@.service" 2>&1) || [ -n "$out" ]; then
    fail "systemd-analyze verify: $out"
  fi
fi

# ExecStart, as systemd would run it for the instance "test".
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
[ -n "$exec_start" ] || fail "no ExecStart"
read -r -a argv <<< "${exec_start//%i/test}"
[ "${argv[0]}" = /usr/bin/polaris ] || fail "ExecStart does not run /usr/bin/polaris: $exec_start"
[ "${argv[3]:-}" = /etc/polaris/test.yaml ] || fail "unexpected ExecStart: $exec_start"
argv[0]=$root/usr/bin/polaris
config=$work/etc/polaris/test.yaml
argv[3]=$config
mkdir -p "$work/etc/polaris"
chmod 755 "$work/etc" "$work/etc/polaris"
cat > "$config" <<'EOF'
auth:
  users:
    - name: ops
      password_hash: "$2b$08$6TrFrx4N1uwkiLbJ8FLNbeu2ryO6XnXPIxa3M6e9X/hSpNkkoJVt6"
      role: admin
EOF

run_as=()
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null && getent passwd nobody >/dev/null; then
  group=$(id -gn nobody)
  # As installed: root's file, readable by the service's group only (install -m 0640 -g polaris).
  chown root:"$group" "$config"
  chmod 0640 "$config"
  run_as=(setpriv --reuid=nobody --regid="$group" --clear-groups --)
  echo "systemd unit: running ExecStart as nobody:$group"
else
  chmod 0600 "$config"
  echo "systemd unit: running ExecStart as $(id -un) (not root: no unprivileged user to switch to)"
fi

# Flags a drop-in would add (OPERATIONS.md): any free port, a ready file to wait for.
# The service's only writable places are its private /tmp and what a drop-in grants.
mkdir -p "$work/run"
chmod 777 "$work/run"
ready=$work/run/ready.json
"${run_as[@]}" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "${argv[@]}" --port 0 \
  --ready-file "$ready" > "$work/registry.log" 2>&1 &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 300); do
  [ -s "$ready" ] && break
  kill -0 "$pid" 2>/dev/null || fail "the registry exited: $(cat "$work/registry.log")"
  sleep 0.1
done
[ -s "$ready" ] || fail "the registry did not become ready: $(cat "$work/registry.log")"

kill -HUP "$pid"  # ExecReload
for _ in $(seq 100); do
  grep -q "SIGHUP: reloading" "$work/registry.log" && break
  sleep 0.1
done
grep -q "SIGHUP: reloading" "$work/registry.log" || fail "SIGHUP was not taken as a reload"
kill -0 "$pid" 2>/dev/null || fail "the registry died on SIGHUP: $(cat "$work/registry.log")"

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
trap - EXIT
[ "$status" -eq 0 ] || fail "SIGTERM ended it with status $status: $(cat "$work/registry.log")"
echo "systemd unit: ok"
