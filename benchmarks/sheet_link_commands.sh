#!/bin/sh
# The link commands of labs/udp-loss.md, run as a student runs them, on either backend:
#   sh benchmarks/sheet_link_commands.sh            # the lab as shipped (seeded: userspace on every kernel)
#   sh benchmarks/sheet_link_commands.sh netem      # the same lab without its seed: netem where the kernel has it
# Prints each command and its output; stops at the first command that fails; takes the lab down.
set -eu
SOCKLAB=${SOCKLAB:-.venv/bin/socklab}
TMP=$(mktemp -d)
LAB=labs/udp-loss.yaml
if [ "${1:-}" = netem ]; then
    sed -e '/^    seed: 1$/d' labs/udp-loss.yaml > "$TMP/udp-loss.yaml"
    LAB="$TMP/udp-loss.yaml"
fi
run() { echo "\$ $*"; "$@"; }
trap '$SOCKLAB down udp-loss >/dev/null' EXIT
run $SOCKLAB up "$LAB"
run $SOCKLAB link set udp-loss wan --loss 60%
run $SOCKLAB link set udp-loss wan --loss 0% --delay 50ms
run $SOCKLAB link show udp-loss
run $SOCKLAB link set udp-loss wan --loss 30% --delay 0ms
for round in 1 2; do
    run $SOCKLAB link set udp-loss wan --seed 7
    for i in 1 2 3 4 5 6; do
        $SOCKLAB exec udp-loss client -- udp-client --host server --message "hello $i" --json --source-port 4000$i || true
    done | grep -o '"attempts": [0-9]*, "outcome": "[a-z-]*"' | cut -d' ' -f2,4 | tr -d '",' | tr '\n' ' ' > "$TMP/round$round"
    echo "seed 7, round $round, attempts and outcome per request: $(cat "$TMP/round$round")"
done
if cmp -s "$TMP/round1" "$TMP/round2"; then
    echo "replay: seed 7 twice, same source ports: the same attempts and outcomes"
else
    echo "replay: seed 7 twice: the attempts DIFFER"
fi
run $SOCKLAB link show udp-loss
