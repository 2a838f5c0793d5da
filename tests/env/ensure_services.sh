#!/usr/bin/env bash
# Make sure the services the tests and benchmarks need are installed.
# On Debian as root: installs what is missing with apt. Elsewhere: says what is missing;
# the tests that need it are then skipped with that reason (under CI=true they fail).
set -u

# binary-or-file  debian-package
NEEDS=(
  "pg_ctl:/usr/lib/postgresql/*/bin/pg_ctl postgresql"
  "redis-server redis-server"
  "dockerd docker.io"
  "docker-compose docker-compose"
  # the CNCF distribution registry: the deploy tests pull from it over plain HTTP
  "docker-registry docker-registry"
  "sshd:/usr/sbin/sshd openssh-server"
  # the test image needs a statically linked busybox (Debian's "busybox" is dynamic)
  "static:busybox busybox-static"
  "openssl openssl"
  # a login shell that is not POSIX, for the SSH tests (commands must go through sh -c)
  "tcsh tcsh"
  "Xvfb xvfb"
  # an HTTP load generator for the server benchmark (api_requests_per_s)
  "wrk wrk"
  "xauth xauth"
  "lib:libxcb-icccm.so.4 libxcb-icccm4"
  "lib:libxcb-keysyms.so.1 libxcb-keysyms1"
  "lib:libEGL.so.1 libegl1"
  "lib:libGL.so.1 libgl1"
  "lib:libxkbcommon.so.0 libxkbcommon0"
  "lib:libfontconfig.so.1 libfontconfig1"
  "lib:libdbus-1.so.3 libdbus-1-3"
)

present() {
  local what=$1
  case "$what" in
    lib:*) ldconfig -p 2>/dev/null | grep -q "${what#lib:}" ;;
    static:*) command -v "${what#static:}" >/dev/null 2>&1 &&
              ! ldd "$(command -v "${what#static:}")" >/dev/null 2>&1 ;;
    *:*) command -v "${what%%:*}" >/dev/null 2>&1 || compgen -G "${what#*:}" >/dev/null ;;
    *) command -v "$what" >/dev/null 2>&1 ;;
  esac
}

missing=()
for entry in "${NEEDS[@]}"; do
  read -r what pkg <<<"$entry"
  present "$what" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && { echo "services: all present"; exit 0; }

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "services: installing ${missing[*]} with apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  still=()
  for entry in "${NEEDS[@]}"; do
    read -r what pkg <<<"$entry"
    present "$what" || still+=("$pkg")
  done
  if [ ${#still[@]} -gt 0 ]; then
    echo "services: still missing after apt: ${still[*]}" >&2
    [ "${CI:-}" = true ] && exit 1
  fi
else
  echo "services: missing ${missing[*]} (install them, e.g. apt-get install ${missing[*]});" \
       "the tests that need them will be skipped" >&2
  [ "${CI:-}" = true ] && exit 1
fi
exit 0
