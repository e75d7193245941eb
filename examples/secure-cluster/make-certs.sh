#!/usr/bin/env bash
# Makes a throw-away CA and a certificate for 127.0.0.1 (used by the client and the cluster
# ports) under certs/. For a real deployment use your own CA and host names.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p certs
cd certs
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=polaris example CA" \
  -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr \
  2>/dev/null
echo "subjectAltName=IP:127.0.0.1" > san.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
  -extfile san.ext -out server.pem 2>/dev/null
chmod 600 ./*.key
echo "certificates in $(pwd)"
