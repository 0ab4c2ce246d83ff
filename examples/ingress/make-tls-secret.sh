#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Creates a self-signed certificate for the helloworld hosts with openssl and
# writes a kubernetes.io/tls Secret manifest for it:
#   examples/ingress/make-tls-secret.sh [OUTDIR]    (default: current dir)
# Output: OUTDIR/helloworld.crt, OUTDIR/helloworld.key (0600) and
# OUTDIR/helloworld-tls-secret.yaml; then
#   gannetctl apply -f OUTDIR/helloworld-tls-secret.yaml -f examples/ingress/tls/
set -euo pipefail
out=${1:-.}
name=helloworld
hosts=(helloworld-v1.example.com helloworld-v2.example.com)
san=$(printf 'DNS:%s,' "${hosts[@]}")
mkdir -p "$out"
umask 077
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=${hosts[0]}" \
	-addext "subjectAltName=${san%,}" \
	-keyout "$out/$name.key" -out "$out/$name.crt" 2>/dev/null
cat >"$out/$name-tls-secret.yaml" <<YAML
apiVersion: v1
kind: Secret
metadata:
  name: $name-tls
  namespace: default
type: kubernetes.io/tls
data:
  tls.crt: $(base64 -w0 <"$out/$name.crt")
  tls.key: $(base64 -w0 <"$out/$name.key")
YAML
echo "wrote $out/$name.crt, $out/$name.key, $out/$name-tls-secret.yaml"
