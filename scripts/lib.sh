# shellcheck shell=bash
# scripts/lib.sh - shared helpers for the kvm-quanta rig scripts (source it, do not run it).
#
# Provides:
#   KQ_CACHE            cache root (default /var/cache/kvm-quanta), exported
#   KQ_REPO             repository root (directory above scripts/), exported
#   KQ_SUITES           the suites the rig knows: bookworm trixie sid
#   kq_log/kq_warn/kq_die   logging to stderr
#   kq_mirror           Debian mirror URI, read from the machine's apt configuration
#   kq_security_mirror  Debian security mirror URI (may be empty)
#   kq_check_suite S    dies unless S is a known suite (or "debug": the debug kernel that
#                       scripts/debug-kernel.sh builds; not in KQ_SUITES, `make stress` uses it)
#   kq_apt_dir S        per-suite apt state directory under $KQ_CACHE/apt/S
#   kq_apt S ARGS...    run apt-get with suite S's private lists (never touches /etc/apt)
#   kq_apt_cache S ARGS...  same for apt-cache
#   kq_apt_update S [force]  refresh suite S's private lists if missing or older than 1 day
#   kq_lock FILE        take an exclusive flock on FILE for the rest of the shell (fd 9)
# No mirror host name is written here: it always comes from /etc/apt.

KQ_CACHE=${KQ_CACHE:-/var/cache/kvm-quanta}
export KQ_CACHE
KQ_SUITES="bookworm trixie sid"
KQ_APT_SOURCES=${KQ_APT_SOURCES:-/etc/apt/sources.list.d/debian.sources}
# Lists older than this (seconds) are refreshed by kq_apt_update.
KQ_APT_MAX_AGE=${KQ_APT_MAX_AGE:-86400}

_kq_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KQ_REPO=${KQ_REPO:-$(cd "$_kq_lib_dir/.." && pwd)}
export KQ_REPO

kq_log() { printf '[kq %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
kq_warn() { printf '[kq %s] WARNING: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
kq_die() {
	printf '[kq %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2
	exit 1
}

kq_check_suite() {
	case "${1:-}" in
	bookworm | trixie | sid | debug) ;;
	*) kq_die "unknown suite '${1:-}' (expected one of: $KQ_SUITES debug)" ;;
	esac
}

# _kq_uri_for SUITE_PATTERN: print the URIs: value of the first deb822 stanza (or
# one-line "deb" entry) whose suites match the awk regex SUITE_PATTERN.
_kq_uri_for() {
	local pat=$1 f uri=""
	for f in "$KQ_APT_SOURCES" /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		uri=$(awk -v pat="$pat" '
			function flush() { if (uri != "" && suites ~ pat && types ~ /(^|[ \t])deb([ \t]|$)/) { print uri; found=1; exit } uri=""; suites=""; types="" }
			/^[ \t]*$/ { flush(); next }
			/^[ \t]*#/ { next }
			tolower($1) == "uris:"   { uri=$2 }
			tolower($1) == "suites:" { $1=""; suites=$0 }
			tolower($1) == "types:"  { $1=""; types=$0 }
			END { if (!found) flush() }' "$f")
		[ -n "$uri" ] && break
	done
	if [ -z "$uri" ]; then
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
			[ -r "$f" ] || continue
			uri=$(awk -v pat="$pat" '$1 == "deb" { i=2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i+1) ~ pat) { print $i; exit } }' "$f")
			[ -n "$uri" ] && break
		done
	fi
	printf '%s\n' "${uri%/}"
}

kq_mirror() {
	local uri
	uri=${KQ_MIRROR:-$(_kq_uri_for '(^|[ \t])[a-z]+([ \t]|$)')}
	[ -n "$uri" ] || kq_die "no Debian mirror found in $KQ_APT_SOURCES (URIs: line)"
	printf '%s\n' "$uri"
}

kq_security_mirror() {
	printf '%s\n' "${KQ_SECURITY_MIRROR:-$(_kq_uri_for '-security')}"
}

kq_apt_dir() { printf '%s/apt/%s\n' "$KQ_CACHE" "$1"; }

# Writes the per-suite sources list (bookworm also gets -updates and -security,
# trixie likewise; sid has neither).
_kq_apt_setup() {
	local suite=$1 dir mirror sec list
	dir=$(kq_apt_dir "$suite")
	mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/etc/preferences.d"
	mirror=$(kq_mirror)
	sec=$(kq_security_mirror)
	list="deb $mirror $suite main"
	if [ "$suite" != sid ]; then
		list+=$'\n'"deb $mirror $suite-updates main"
		[ -n "$sec" ] && list+=$'\n'"deb $sec $suite-security main"
	fi
	if [ ! -f "$dir/sources.list" ] || [ "$(cat "$dir/sources.list")" != "$list" ]; then
		printf '%s\n' "$list" >"$dir/sources.list"
		rm -f "$dir/updated.stamp"
	fi
}

_kq_apt_opts() {
	local dir
	dir=$(kq_apt_dir "$1")
	printf '%s\n' \
		-o "Dir::Etc::sourcelist=$dir/sources.list" \
		-o "Dir::Etc::sourceparts=-" \
		-o "Dir::Etc::preferencesparts=$dir/etc/preferences.d" \
		-o "Dir::State::Lists=$dir/lists" \
		-o "Dir::Cache=$dir/cache" \
		-o "APT::Get::List-Cleanup=0" \
		-o "APT::Sandbox::User=root" \
		-o "Debug::NoLocking=1"
}

kq_apt() {
	local suite=$1
	shift
	local -a opts
	mapfile -t opts < <(_kq_apt_opts "$suite")
	apt-get -q "${opts[@]}" "$@"
}

kq_apt_cache() {
	local suite=$1
	shift
	local -a opts
	mapfile -t opts < <(_kq_apt_opts "$suite")
	apt-cache "${opts[@]}" "$@"
}

kq_apt_update() {
	local suite=$1 force=${2:-} dir stamp now age
	_kq_apt_setup "$suite"
	dir=$(kq_apt_dir "$suite")
	stamp="$dir/updated.stamp"
	now=$(date +%s)
	if [ -z "$force" ] && [ -f "$stamp" ]; then
		age=$((now - $(stat -c %Y "$stamp")))
		[ "$age" -lt "$KQ_APT_MAX_AGE" ] && return 0
	fi
	kq_log "apt update for $suite"
	if ! kq_apt "$suite" update >"$dir/update.log" 2>&1; then
		cat "$dir/update.log" >&2
		# Stale lists still resolve a (possibly older) kernel: better than no rig at all.
		if [ -f "$stamp" ]; then
			kq_warn "apt-get update for $suite failed; using the cached lists"
			return 0
		fi
		kq_die "apt-get update for $suite failed"
	fi
	touch "$stamp"
}

kq_lock() {
	mkdir -p "$(dirname "$1")"
	exec 9>"$1"
	flock 9
}
