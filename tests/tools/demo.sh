#!/usr/bin/env bash
# The main job: every implemented flow, through the grantkit CLI, against the
# bundled local identity provider (oidc-provider on 127.0.0.1), printing the
# decoded tokens. Run through `make demo`, which builds pkg/ first.
set -euo pipefail
cd "$(dirname "$0")/../.."

workdir=$(mktemp -d)
idp_pid=
acp_pid=
cleanup() {
  [ -n "$idp_pid" ] && kill "$idp_pid" 2>/dev/null && wait "$idp_pid" 2>/dev/null
  [ -n "$acp_pid" ] && kill "$acp_pid" 2>/dev/null && wait "$acp_pid" 2>/dev/null
  rm -rf "$workdir"
}
trap cleanup EXIT

# Starts a local server (its script prints a ready file of JSON) and sets
# server_pid; `ready_field NAME FIELD` then reads a field of that file.
start_server() {
  local name=$1 script=$2
  node "$script" --port 0 --ready-file "$workdir/$name.json" > "$workdir/$name.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    [ -s "$workdir/$name.json" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "$name did not start"; cat "$workdir/$name.log"; exit 1
}
ready_field() {
  node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1]))[process.argv[2]])' "$workdir/$1.json" "$2"
}

# Device codes are polled every second here (the IdP's default is 5 s).
GRANTKIT_IDP_DEVICE_INTERVAL=1 start_server idp tests/idp/server.mjs
idp_pid=$server_pid
token_endpoint=$(ready_field idp tokenEndpoint)
echo "local identity provider: $token_endpoint"

grantkit() { node pkg/bin/grantkit.js "$@"; }
show() {
  local title=$1 token=$2
  echo
  echo "== $title"
  echo "$token"
  printf '%s' "$token" | grantkit decode
}

# Client credentials, HTTP Basic; the secret (with ':+%& ~*', form-encoded before
# base64 per RFC 6749 §2.3.1) comes from
# the environment, never from argv.
export DEMO_CC_SECRET='s3cret:+%& ~*/basic'
token=$(grantkit client-credentials --token-endpoint "$token_endpoint" \
  --client-id cc-basic --client-secret-env DEMO_CC_SECRET --scope api:read)
show "client credentials (client_secret_basic), access token" "$token"

# Client credentials, secret in the form body; the secret comes from a file.
printf 'post-secret-123\n' > "$workdir/cc-post.secret"
token=$(grantkit client-credentials --token-endpoint "$token_endpoint" \
  --client-id cc-post --client-secret-file "$workdir/cc-post.secret" --client-auth post --scope api:write)
show "client credentials (client_secret_post), access token" "$token"

# Password grant; the password comes from standard input, the client secret
# from the environment; --json prints the whole token set.
export DEMO_PW_CLIENT_SECRET=pw-secret
tokens=$(printf 'wonderland-42\n' | grantkit password --token-endpoint "$token_endpoint" \
  --client-id pw-client --client-secret-env DEMO_PW_CLIENT_SECRET \
  --username alice --password-stdin --scope "openid offline_access api:read" --json)
field() { node -e 'const t = JSON.parse(process.argv[1]); process.stdout.write(String(t[process.argv[2]] ?? ""))' "$tokens" "$1"; }
echo
echo "== password grant (alice): token_type $(field token_type), expires_in $(field expires_in), scope \"$(field scope)\", refresh token $( [ -n "$(field refresh_token)" ] && echo issued || echo 'not issued')"
show "password grant, access token" "$(field access_token)"
show "password grant, ID token" "$(field id_token)"

# Token exchange (RFC 8693): alice's access token from the password grant,
# traded by the confidential client "exchanger" for one with another audience.
export DEMO_EXCHANGER_SECRET=exchanger-secret DEMO_SUBJECT_TOKEN="$(field access_token)"
token=$(grantkit token-exchange --token-endpoint "$token_endpoint" --client-id exchanger \
  --client-secret-env DEMO_EXCHANGER_SECRET --subject-token-env DEMO_SUBJECT_TOKEN --audience urn:grantkit:orders)
show "token exchange (alice's token for audience urn:grantkit:orders), access token" "$token"
# Revocation (RFC 7009) of alice's refresh token, then introspection (RFC 7662)
# of it: the server reports it inactive.
export DEMO_REFRESH_TOKEN="$(field refresh_token)"
grantkit revoke --token-endpoint "$token_endpoint" --client-id pw-client --client-secret-env DEMO_PW_CLIENT_SECRET \
  --revocation-endpoint "$(ready_field idp revocationEndpoint)" --token-env DEMO_REFRESH_TOKEN
echo
echo "== revoked alice's refresh token; introspection now says:"
grantkit introspect --token-endpoint "$token_endpoint" --client-id pw-client --client-secret-env DEMO_PW_CLIENT_SECRET \
  --introspection-endpoint "$(ready_field idp introspectionEndpoint)" --token-env DEMO_REFRESH_TOKEN
# Discovery: only the issuer is given; the token endpoint comes from its
# /.well-known/openid-configuration. Client authentication client_secret_jwt
# (an HS256 assertion keyed with the secret, RFC 7523 §2.2).
export DEMO_CSJWT_SECRET=csjwt-secret-0123456789-abcdefghij
token=$(grantkit client-credentials --issuer "$(ready_field idp issuer)" --client-id csjwt-client \
  --client-auth client_secret_jwt --client-secret-env DEMO_CSJWT_SECRET --scope api:read)
show "client credentials (issuer discovery, client_secret_jwt), access token" "$token"
# DPoP (RFC 9449): the token is bound to a key pair the CLI makes for this
# run (its decoded claims carry cnf.jkt, the key's thumbprint); each token
# request carries a proof signed with it.
tokens=$(grantkit client-credentials --token-endpoint "$token_endpoint" \
  --client-id cc-basic --client-secret-env DEMO_CC_SECRET --scope api:read --dpop --json)
echo
echo "== client credentials with DPoP: token_type $(field token_type)"
show "client credentials (DPoP-bound), access token" "$(field access_token)"
# JWT bearer grant (RFC 7523), as PingOne AIC service accounts use it: an
# RS256 assertion signed with the account's key (a JWK file), exchanged by
# the public client "service-account".
token=$(grantkit jwt-bearer --token-endpoint "$token_endpoint" --client-id service-account \
  --key tests/fixtures/rsa2048.jwk.json --issuer svc-fixture --scope api:read)
show "JWT bearer grant (service account svc-fixture), access token" "$token"

# Client credentials with private_key_jwt client authentication (RFC 7523
# §2.2): a PS256 client assertion from a PEM key, with the certificate's
# x5t#S256 in its header (Entra's certificate credentials).
token=$(grantkit client-credentials --token-endpoint "$token_endpoint" --client-id pkjwt-client \
  --client-auth private_key_jwt --private-key tests/fixtures/rsa2048.pkcs8.pem \
  --certificate tests/fixtures/rsa2048.cert.pem --algorithm PS256 --scope api:read)
show "client credentials (private_key_jwt), access token" "$token"

# Device authorization grant (RFC 8628): the CLI prints the code to enter on
# standard error and polls; a script plays the user, approving the code as
# alice through the provider's own pages, as a browser would.
device_endpoint=$(ready_field idp deviceAuthorizationEndpoint)
grantkit device --token-endpoint "$token_endpoint" --device-authorization-endpoint "$device_endpoint" \
  --client-id device-public --scope "openid offline_access" --json \
  > "$workdir/device.json" 2> "$workdir/device.prompt" &
device_pid=$!
uri=
for _ in $(seq 100); do
  uri=$(sed -n 's/^(or open \(.*\))$/\1/p' "$workdir/device.prompt")
  [ -n "$uri" ] && break
  kill -0 "$device_pid" 2>/dev/null || break
  sleep 0.1
done
echo
echo "== device authorization grant; the CLI says on standard error:"
sed 's/^/   | /' "$workdir/device.prompt"
[ -n "$uri" ] || { echo "no device prompt"; exit 1; }
echo "   (approving as alice: $(node tests/idp/device_approve.mjs --uri "$uri" --user alice))"
wait "$device_pid"
tokens=$(cat "$workdir/device.json")
echo "device grant: token_type $(field token_type), expires_in $(field expires_in), refresh token $( [ -n "$(field refresh_token)" ] && echo issued || echo 'not issued')"
show "device grant (alice), access token" "$(field access_token)"
show "device grant, ID token" "$(field id_token)"

# ACP session login against the bundled reference ACP server (five calls in
# one cookie session; the password goes RSA-encrypted with a single-use ts).
start_server acp tests/acp/server.mjs
acp_pid=$server_pid
platform_url=$(ready_field acp platformUrl)
echo
echo "reference ACP server: $platform_url"
export DEMO_ACP_PASSWORD='Adm1n-pass!'
token=$(grantkit acp --platform-url "$platform_url" --username admin --password-env DEMO_ACP_PASSWORD)
show "ACP session login (admin), access token" "$token"

echo
echo "demo finished: 9 flows (one with DPoP), revocation and introspection, 12 tokens decoded"
