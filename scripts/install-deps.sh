# Sourced by scripts/test.sh and scripts/bench.sh: installs the Debian packages
# given as arguments that are missing (apt-get, with sudo unless root).
#
# Usage (from a script that defines `step`): install_packages liburing-dev wrk

install_packages() {
  local missing=()
  local package
  for package in "$@"; do
    if ! dpkg -s "$package" 2>/dev/null | grep -q '^Status: install ok installed'; then
      missing+=("$package")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    step "installed: $* (liburing-dev $(dpkg-query -W -f='${Version}' liburing-dev 2>/dev/null || echo '?'))"
    return
  fi
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  step "installing ${missing[*]}"
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
}
