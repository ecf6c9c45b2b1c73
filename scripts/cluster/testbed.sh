#!/bin/sh
# Multi-host test bed (issue 18): PostgreSQL in one network namespace, three "host" namespaces
# linked to it by veth pairs (see src/run/testing/testbed.ts). Needs root and ip netns.
#   scripts/cluster/testbed.sh up [PREFIX]    start it; Ctrl-C tears it down
#   scripts/cluster/testbed.sh down [PREFIX]  remove namespaces a killed run left behind
cd "$(dirname "$0")/../.." && exec node --import tsx src/run/testing/testbed.ts "$@"
