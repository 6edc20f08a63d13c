#!/bin/sh
# Add the app's CA certificates to Java's trust store and to the system bundle.
# Usage: trust.sh CA_DIR JAVA_HOME OUT — writes OUT/JAVA_HOME/lib/security/cacerts,
# OUT/etc/ssl/certs/ca-certificates.crt and OUT/usr/local/share/ca-certificates/aurora/*.crt.
# The store is written as PKCS12 without a MAC or encryption of the (public) certificates:
# those use a fresh random salt on every write, and a JKS store records each entry's import
# time, so either would give other bytes on every build. This one gives the same bytes from the
# same certificates.
set -eu
ca=$1 java=$2 out=$3
store="$out$java/lib/security/cacerts"
mkdir -p "$(dirname "$store")" "$out/etc/ssl/certs" "$out/usr/local/share/ca-certificates/aurora" /tmp/aurora-ca
keytool() {
  "$java/bin/keytool" -J-Dkeystore.pkcs12.certProtectionAlgorithm=NONE -J-Dkeystore.pkcs12.macAlgorithm=NONE "$@"
}
keytool -importkeystore -noprompt -srckeystore "$java/lib/security/cacerts" -srcstorepass changeit \
        -destkeystore "$store" -deststoretype PKCS12 -deststorepass changeit >/dev/null 2>&1
bundle="$out/etc/ssl/certs/ca-certificates.crt"
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then cp /etc/ssl/certs/ca-certificates.crt "$bundle"; else : > "$bundle"; fi
for pem in "$ca"/*.crt; do
  name=$(basename "$pem" .crt)
  cp "$pem" "$out/usr/local/share/ca-certificates/aurora/$name.crt"
  # One file may hold several certificates; keytool takes one at a time.
  awk -v prefix="/tmp/aurora-ca/$name-" '/-----BEGIN CERTIFICATE-----/ { n++ } n { print > (prefix n ".pem") } /-----END CERTIFICATE-----/ { close(prefix n ".pem") }' "$pem"
  for one in /tmp/aurora-ca/"$name"-*.pem; do
    alias="aurora-$(basename "$one" .pem)"
    said=$(keytool -importcert -noprompt -keystore "$store" -storepass changeit -alias "$alias" -file "$one" 2>&1) \
      || { echo "aurora: keytool could not add $one: $said" >&2; exit 1; }
    cat "$one" >> "$bundle"
    echo "aurora: trusted $alias"
  done
done
chmod 0644 "$store" "$bundle"
