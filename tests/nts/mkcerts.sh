#!/bin/bash
# mkcerts.sh DIR NAME: a test CA (DIR/NAME-ca.pem) and a server
# certificate it signed for 127.0.0.1 and localhost (DIR/NAME.pem, key
# DIR/NAME.key), ECDSA P-256, made fresh by each test run.
set -eu
dir=$1 name=$2
cd "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$name-ca.key" -out "$name-ca.pem" -days 2 \
	-subj "/CN=udpd test CA $name" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$name.key" -out "$name.csr" -subj /CN=localhost 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
	>"$name.ext"
openssl x509 -req -in "$name.csr" -CA "$name-ca.pem" -CAkey "$name-ca.key" \
	-CAcreateserial -days 2 -extfile "$name.ext" -out "$name.pem" \
	2>/dev/null
chmod 0640 "$name.key"
rm -f "$name.csr" "$name.ext"
