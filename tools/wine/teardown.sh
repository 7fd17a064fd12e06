#!/usr/bin/env bash
# Stop the wineserver (and any wine processes) of the qipc prefix only.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
qipc_find_wine || exit 0
[ -d "$WINEPREFIX" ] || exit 0
"$QIPC_WINESERVER" -k >/dev/null 2>&1 || true
exit 0
