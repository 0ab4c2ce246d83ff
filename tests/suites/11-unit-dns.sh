#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Cluster DNS renderer unit tests (agent/dns/dns.c, tests/unit/dns_test.c):
# A records, headless multi-A, SRV for named ports, ExternalName, not-ready
# endpoints excluded, invalid names rejected, determinism, pod resolv.conf.
# No root, no dnsmasq.
set -eu
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
exec "$BUILD/tests/unit/dns_test"
