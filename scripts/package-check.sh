#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The Debian package, checked end to end (tests/run stage `package`; Debian 12, as root):
#   scripts/package-check.sh [WORKDIR]        (default build/package)
# Copies the source tree (the files git knows, with their working-tree edits, and untracked files
# that are not ignored; PKG_CHECK_SRC=DIR takes another tree) to WORKDIR/src, so that the build
# leaves nothing in the checkout, and there:
#   - builds the binary package: dpkg-buildpackage -b -us -uc with DEB_BUILD_OPTIONS="nocheck
#     parallel=N" (PKG_CHECK_JOBS, default 2): the unit tests have stages of their own;
#   - runs lintian on the .changes: no error, no warning (overrides in
#     debian/clusterd.lintian-overrides, each with its reason);
#   - installs the .deb (purging an installed clusterd first, so that the check can run again)
#     and checks what it installed: conffile, user, directory modes, programs, manual pages,
#     completion, the unit (not enabled, not started, systemd-analyze verify), the daemon runs;
#   - upgrades to the same package built again with a bumped version (a changelog entry in the
#     copy only): the maintainer scripts run, a local edit of the conffile stays;
#   - purges it: nothing of it is left but what Debian leaves (the user clusterd, which this
#     script then removes if it created it).
# One line per check, "PASS: ...", "FAIL: ..." or "SKIP: ...", then a summary; exit status 0 when
# nothing failed.  It will not touch a machine where clusterd is configured (a cluster key in
# /etc/clusterd) or running: the install checks are skipped there, saying so.
# shellcheck disable=SC2317  # the checks' functions run through check(), which shellcheck misses
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
src_in=${PKG_CHECK_SRC:-$top}
work=${1:-$top/build/package}
jobs=${PKG_CHECK_JOBS:-2}
pass=0 fail=0 skip=0
t0=$SECONDS
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

ok() { echo "PASS: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
skp() { echo "SKIP: $*"; skip=$((skip + 1)); }
# check DESCRIPTION COMMAND...: one check, passed when COMMAND succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }
finish()
{
	echo "package-check: $pass passed, $fail failed, $skip skipped in $((SECONDS - t0)) s"
	[ "$fail" -eq 0 ]
	exit
}
# log FILE: the end of a command's output, indented, after a failure
show() { tail -n "${2:-30}" "$1" | sed 's/^/    /'; }

# --- the copy and the build ---------------------------------------------------------------------

for tool in dpkg-buildpackage lintian fakeroot; do
	command -v "$tool" >/dev/null || { bad "$tool is missing (scripts/install-deps.sh)"; finish; }
done
# the tree is a git checkout of its own (not a directory that a checkout ignores)
gittree=
[ "$(git -C "$src_in" rev-parse --show-toplevel 2>/dev/null)" = "$(cd "$src_in" && pwd -P)" ] && gittree=1
# The build must leave the checkout as it was: what git ignores under debian/ (the debhelper
# build products) and the parent directory's packages, before and after.
products()
{
	if [ -n "$gittree" ]; then
		git -C "$src_in" status --porcelain --ignored -- debian configure 2>/dev/null
	fi
	ls -d "$src_in"/../clusterd_* 2>/dev/null
}
before=$(products)

# WORKDIR is emptied first: never the tree itself
case $(realpath -m "$work") in
/ | "$(realpath "$src_in")" | "$(realpath "$src_in")"/debian* | "$top")
	bad "WORKDIR $work: not a scratch directory"
	finish
	;;
esac
rm -rf "$work"
mkdir -p "$work/src"
if [ -n "$gittree" ]; then
	# files deleted in the working tree are still in the index: skip them
	(cd "$src_in" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			[ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"
		done | tar cf - --null --no-recursion -T -) | tar xf - -C "$work/src"
else
	(cd "$src_in" && tar cf - --exclude=./build .) | tar xf - -C "$work/src"
fi
if [ ! -f "$work/src/debian/control" ]; then
	bad "copy of $src_in into $work/src: no debian/control"
	finish
fi

# build DIR LOG: the binary package of the tree DIR
build()
{
	(cd "$1" && DEB_BUILD_OPTIONS="nocheck parallel=$jobs" dpkg-buildpackage -b -us -uc) \
		>"$2" 2>&1
}
s=$SECONDS
if build "$work/src" "$work/build.log"; then
	ok "dpkg-buildpackage -b -us -uc ($((SECONDS - s)) s)"
else
	bad "dpkg-buildpackage -b -us -uc; the end of $work/build.log:"
	show "$work/build.log"
	finish
fi
ver=$(cd "$work/src" && dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=$work/clusterd_${ver}_${arch}.deb
changes=$work/clusterd_${ver}_${arch}.changes
check "the build leaves the checkout clean (no build products in $src_in)" \
	test "$(products)" = "$before"
check "the build made $(basename "$deb") and its .changes" test -f "$deb" -a -f "$changes"

# lintian unpacks what it checks: not as root when it can help it
asuser=()
if [ "$(id -u)" = 0 ] && id -u nobody >/dev/null 2>&1 &&
	runuser -u nobody -- test -r "$changes" 2>/dev/null; then
	asuser=(runuser -u nobody -- env HOME=/nonexistent)
fi
if "${asuser[@]}" lintian --fail-on error,warning --display-info --tag-display-limit 0 "$changes" \
	>"$work/lintian.log" 2>&1; then
	ok "lintian --fail-on error,warning: $(grep -c '^[EWI]: ' "$work/lintian.log") tags (I: only)"
else
	bad "lintian --fail-on error,warning:"
	show "$work/lintian.log" 60
fi
# debian/clusterd.service is a link to systemd/clusterd.service: the one unit of the project
check "the packaged unit is systemd/clusterd.service" \
	cmp -s "$work/src/debian/clusterd/lib/systemd/system/clusterd.service" \
	"$work/src/systemd/clusterd.service"

# --- install ------------------------------------------------------------------------------------

if [ "$(id -u)" != 0 ]; then
	skp "install, upgrade, purge: not root"
	finish
fi
for tool in apt-get dpkg-statoverride; do
	command -v "$tool" >/dev/null || { skp "install, upgrade, purge: no $tool"; finish; }
done
# running DAEMON: some process runs that program (the integration tests' daemons are elsewhere)
running()
{
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = "$1" ] && return 0
	done
	return 1
}
if [ -e /etc/clusterd/cluster.key ] || running /usr/sbin/clusterd; then
	skp "install, upgrade, purge: this machine runs or is configured for clusterd" \
		"(/etc/clusterd/cluster.key or /usr/sbin/clusterd running): not purging it"
	finish
fi
apt_get() { apt-get -y -q --no-install-recommends "$@" </dev/null; }
if dpkg-query -W -f='${Status}\n' clusterd 2>/dev/null | grep -qv 'not-installed'; then
	echo "package-check: purging the clusterd installed here first"
	apt_get purge clusterd >"$work/purge0.log" 2>&1 || { show "$work/purge0.log"; }
fi
user_before=$(getent passwd clusterd)
group_before=$(getent group clusterd)
# what this script may have to clean up after a broken package: what is not there now
absent=()
for f in /etc/clusterd.conf /etc/clusterd /var/lib/clusterd; do
	[ -e "$f" ] || absent+=("$f")
done

if apt_get install "$deb" >"$work/install.log" 2>&1 &&
	[ "$(dpkg-query -W -f='${Status} ${Version}' clusterd 2>/dev/null)" = "install ok installed $ver" ]; then
	ok "apt-get install ./$(basename "$deb")"
else
	bad "apt-get install ./$(basename "$deb"); the end of $work/install.log:"
	show "$work/install.log"
	apt_get purge clusterd >/dev/null 2>&1
	finish
fi

# conffile PATH: dpkg lists PATH among the package's conffiles (not obsolete)
conffile()
{
	dpkg-query -W -f='${Conffiles}\n' clusterd | awk -v f="$1" '$1 == f && $3 != "obsolete" { x = 1 } END { exit !x }'
}
check "/etc/clusterd.conf is a conffile" conffile /etc/clusterd.conf
sysuser()
{
	[ "$(id -gn clusterd 2>/dev/null)" = clusterd ] && [ "$(id -u clusterd)" -lt 1000 ] &&
		case $(getent passwd clusterd | cut -d: -f7) in */nologin | */false) ;; *) false ;; esac
}
check "the system user clusterd exists, in the group clusterd, no login" sysuser
hasgroup() { getent group clusterd >/dev/null; }
check "the group clusterd exists" hasgroup
check "/etc/clusterd is root:clusterd 0750" test "$(stat -c '%U:%G %a' /etc/clusterd 2>&1)" = "root:clusterd 750"
check "/etc/clusterd has its statoverride" \
	test "$(dpkg-statoverride --list /etc/clusterd)" = "root clusterd 750 /etc/clusterd"
check "/etc/clusterd.conf: root:root 0644" test "$(stat -c '%U:%G %a' /etc/clusterd.conf 2>&1)" = "root:root 644"
check "the programs: /usr/sbin/clusterd, /usr/bin/clusterctl" test -x /usr/sbin/clusterd -a -x /usr/bin/clusterctl
mans="/usr/share/man/man8/clusterd.8.gz /usr/share/man/man8/clusterctl.8.gz /usr/share/man/man5/clusterd.conf.5.gz"
# shellcheck disable=SC2086
if ls $mans >/dev/null 2>&1; then
	ok "the manual pages clusterd(8), clusterctl(8), clusterd.conf(5)"
elif grep -rqs 'path-exclude.*/usr/share/man' /etc/dpkg/dpkg.cfg.d/; then
	skp "the manual pages: dpkg excludes /usr/share/man on this machine (/etc/dpkg/dpkg.cfg.d)"
else
	bad "the manual pages: missing among $mans"
fi
check "the bash completion /usr/share/bash-completion/completions/clusterctl" \
	test -s /usr/share/bash-completion/completions/clusterctl
unit=/lib/systemd/system/clusterd.service
check "the unit $unit, the same as systemd/clusterd.service" cmp -s "$unit" "$work/src/systemd/clusterd.service"
notify_unit()
{
	grep -qx Type=notify "$unit" && grep -qx NotifyAccess=main "$unit" &&
		grep -q "^WatchdogSec=" "$unit" &&
		grep -qx "ConditionFileNotEmpty=/etc/clusterd/cluster.key" "$unit"
}
check "the unit is Type=notify with a watchdog and waits for the key" notify_unit
# enabled: a link in some *.wants directory, which systemctl is-enabled reads (offline too)
disabled()
{
	! ls /etc/systemd/system/*.wants/clusterd.service >/dev/null 2>&1 &&
		[ "$(systemctl is-enabled clusterd.service 2>/dev/null)" = disabled ]
}
check "the unit is not enabled (no .wants link; systemctl is-enabled: disabled)" disabled
if [ -d /run/systemd/system ]; then
	check "the service is not started (systemctl is-active)" \
		bash -c '! systemctl is-active --quiet clusterd.service'
else
	if running /usr/sbin/clusterd; then
		bad "the service is not started: a /usr/sbin/clusterd runs"
	else
		ok "the service is not started (no systemd here: no /usr/sbin/clusterd process)"
	fi
fi
if command -v systemd-analyze >/dev/null; then
	# Documentation=man:...: checked when man is here to look them up
	man=--man=no
	command -v man >/dev/null && man=--man=yes
	if (cd / && systemd-analyze verify $man "$unit") >"$work/verify.log" 2>&1 &&
		! grep -q clusterd "$work/verify.log"; then
		ok "systemd-analyze verify $man $unit"
	else
		bad "systemd-analyze verify $man $unit:"
		show "$work/verify.log"
	fi
else
	skp "systemd-analyze verify: no systemd-analyze (package systemd)"
fi
check "the postinst restarts a running clusterd after an upgrade (try-restart)" \
	bash -c 'dpkg-query --control-show clusterd postinst | grep -q "deb-systemd-invoke try-restart .*clusterd.service"'
upver=$(grep -m1 '^AC_INIT' "$work/src/configure.ac" | sed 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/')
says_version() { /usr/sbin/clusterd --version 2>&1 | grep -qF -- "$upver"; }
check "clusterd --version says $upver" says_version
# The shipped example with a key of the test's own, checked as the unit's user, as the
# ExecStartPre does.  Node d1: the example's first node.
tmp=$(mktemp -d)
chmod 0755 "$tmp"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/cluster.key"
chown clusterd:clusterd "$tmp/cluster.key"
chmod 0600 "$tmp/cluster.key"
sed "s|/etc/clusterd/cluster.key|$tmp/cluster.key|" /etc/clusterd.conf >"$tmp/clusterd.conf" 2>/dev/null
if runuser -u clusterd -- /usr/sbin/clusterd --check-config -f "$tmp/clusterd.conf" -n d1 \
	>"$work/check-config.log" 2>&1; then
	ok "clusterd --check-config of the shipped /etc/clusterd.conf (a test key), as clusterd"
else
	bad "clusterd --check-config of the shipped /etc/clusterd.conf (a test key), as clusterd:"
	show "$work/check-config.log"
fi
rm -rf "$tmp"

# --- upgrade ------------------------------------------------------------------------------------

# The same package with a higher version: a changelog entry in the copy (-nc: no clean, the
# programs are already built).
newver=$ver+pkgcheck1
{
	printf 'clusterd (%s) unstable; urgency=medium\n\n  * package-check: upgrade test.\n\n' "$newver"
	printf ' -- package-check <dev@clusterd.invalid>  %s\n\n' "$(date -R)"
	cat "$work/src/debian/changelog"
} >"$work/changelog.new"
mv "$work/changelog.new" "$work/src/debian/changelog"
newdeb=$work/clusterd_${newver}_${arch}.deb
s=$SECONDS
if ! (cd "$work/src" && DEB_BUILD_OPTIONS="nocheck parallel=$jobs" dpkg-buildpackage -b -us -uc -nc) \
	>"$work/build2.log" 2>&1 || [ ! -f "$newdeb" ]; then
	bad "upgrade: dpkg-buildpackage of $newver; the end of $work/build2.log:"
	show "$work/build2.log"
else
	# what an operator and a daemon leave: a local edit of the conffile, the boot epoch
	[ -f /etc/clusterd.conf ] && echo "# package-check: a local edit" >>/etc/clusterd.conf
	install -d -o clusterd -g clusterd -m 0755 /var/lib/clusterd
	echo 1 >/var/lib/clusterd/epoch
	if apt_get install "$newdeb" >"$work/upgrade.log" 2>&1 &&
		[ "$(dpkg-query -W -f='${Status} ${Version}' clusterd)" = "install ok installed $newver" ]; then
		ok "upgrade to $newver (built in $((SECONDS - s)) s): the maintainer scripts ran"
	else
		bad "upgrade to $newver; the end of $work/upgrade.log:"
		show "$work/upgrade.log"
	fi
	if grep -qs "^# package-check: a local edit" /etc/clusterd.conf && conffile /etc/clusterd.conf; then
		ok "upgrade: the local edit of /etc/clusterd.conf is kept, still a conffile"
	else
		bad "upgrade: the local edit of /etc/clusterd.conf is lost, or it is no conffile any more"
	fi
	check "upgrade: /etc/clusterd still root:clusterd 0750, /var/lib/clusterd kept" \
		test "$(stat -c '%U:%G %a' /etc/clusterd 2>&1)" = "root:clusterd 750" -a -f /var/lib/clusterd/epoch
fi

# --- purge --------------------------------------------------------------------------------------

files=$(dpkg -L clusterd 2>/dev/null | grep -v '^/\.$')
if apt_get purge clusterd >"$work/purge.log" 2>&1; then
	ok "apt-get purge clusterd"
else
	bad "apt-get purge clusterd; the end of $work/purge.log:"
	show "$work/purge.log"
fi
forgotten()
{
	! dpkg -L clusterd >/dev/null 2>&1 &&
		! dpkg-query -W -f='${Conffiles}' clusterd 2>/dev/null | grep -q .
}
check "purge: dpkg knows nothing of clusterd (dpkg -L empty)" forgotten
left=
for f in $files; do
	# directories shared with other packages stay
	[ -d "$f" ] && dpkg -S "$f" >/dev/null 2>&1 && continue
	[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done
check "purge: none of the package's files is left${left:+ (left:$left)}" test -z "$left"
check "purge: /etc/clusterd.conf, /etc/clusterd and /var/lib/clusterd are gone" \
	test ! -e /etc/clusterd.conf -a ! -e /etc/clusterd -a ! -e /var/lib/clusterd
check "purge: the statoverride of /etc/clusterd is gone" \
	bash -c '! dpkg-statoverride --list /etc/clusterd >/dev/null 2>&1'
check "purge: no systemd state of the unit is left" \
	bash -c '! ls /var/lib/systemd/deb-systemd-helper-enabled/clusterd.service.dsh-also \
		/etc/systemd/system/*.wants/clusterd.service >/dev/null 2>&1'
# The machine as it was before this script, even after a broken package (the checks above said
# what it left).  Debian leaves system users behind on purge: this script created it, it goes.
dpkg-statoverride --list /etc/clusterd >/dev/null 2>&1 && dpkg-statoverride --remove /etc/clusterd
rm -f /etc/systemd/system/*.wants/clusterd.service
for f in "${absent[@]}"; do
	rm -rf "$f"
done
if [ -z "$user_before" ] && getent passwd clusterd >/dev/null; then
	userdel clusterd 2>/dev/null || echo "package-check: could not remove the user clusterd"
fi
if [ -z "$group_before" ] && getent group clusterd >/dev/null; then
	groupdel clusterd 2>/dev/null || echo "package-check: could not remove the group clusterd"
fi
finish
