#!/usr/bin/env bash
# Runs some packages' test binaries from the workspace build that `cargo test --workspace` made,
# without building anything again.
#
#   scripts/run-tests.sh ringbook-store ringbook-server     # every test binary of these packages
#   scripts/run-tests.sh ringbook-server:kannel             # one integration test of a package
#
# Why not `cargo test -p A -p B`: cargo unifies dependency features over the packages it was asked
# for, so a narrower selection compiles many dependencies a second time (minutes on CI's two
# cores). Each binary runs in its package's folder, as `cargo test` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: $0 PACKAGE[:TEST]..." >&2; exit 2; }
plan=$(cargo test --workspace --no-run --message-format=json 2>/dev/null | python3 -c '
import json, os, sys
wanted = sys.argv[1:]
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") != "compiler-artifact" or not m.get("executable") or not m["profile"]["test"]:
        continue
    pkg = m["package_id"]
    name = m["target"]["name"]
    kinds = m["target"]["kind"]
    for w in wanted:
        p, _, t = w.partition(":")
        in_pkg = f"/{p}#" in pkg or f"#{p}@" in pkg or pkg.startswith(p + " ")
        if in_pkg and (not t or (t == name and "test" in kinds)):
            print(os.path.dirname(m["manifest_path"]) + "\t" + m["executable"])
            break
' "$@")
[ -n "$plan" ] || { echo "no test binaries found for: $*" >&2; exit 1; }
status=0
while IFS=$'\t' read -r dir exe; do
  echo "     Running $(basename "$exe") (in ${dir#"$PWD"/})"
  (cd "$dir" && "$exe") || status=1
done <<< "$plan"
exit $status
