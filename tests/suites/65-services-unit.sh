#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Unit tests of the agent's Services -> frontends model (agent/svcmodel.c,
# tests/unit/svcmodel_test.c): frontends per Service type (ClusterIP,
# NodePort, externalIPs, LoadBalancer ingress; headless, ExternalName and
# SCTP skipped), backends by port name from ready addresses only with node
# IPs and locality, affinity, and fingerprints that change exactly when the
# maps must be reprogrammed. No root.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
exec "$BUILD/tests/unit/svcmodel_test"
