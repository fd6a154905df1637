#!/usr/bin/env bash
# hack/demo.sh: the main job end to end on local defaults, as a GitLab CI job would run it.
# Brings up the local bed (buildkitd, registries, and a keyless Sigstore stack shaped as public-good
# Sigstore: an OIDC issuer, Fulcio with a CT log, Rekor v2, a timestamp authority), builds hallmark,
# mints a GitLab-shaped ID token, then runs
#   hallmark release   build + push Dockerfile.test, sign the digest keyless as a Sigstore bundle
#                      (cosign v3's format) with the 11 GitLab provenance annotations, logged in
#                      Rekor, and verify it with every check on; by default BuildKit's SLSA v1
#                      provenance of the build is checked against the job and signed as an attestation
#                      (the tag and IMAGE_REF name the index of the image and its attestation manifest)
#   hallmark verify    the tutorial's check, printing the verification JSON (| jq .), then the
#                      provenance (--provenance: source, revision, builder, trigger, materials)
#   cosign verify      the same check by cosign v3.1.3, the tutorial's line
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bed_env=$(hack/testbed.sh up)
eval "$bed_env"
echo "demo: building hallmark" >&2
go build -o bin/hallmark .
cp "$HALLMARK_TEST_BUSYBOX" testdata/build/busybox

# A GitLab job's environment, with the bed's OIDC issuer standing in for the GitLab server.
sha=$(git rev-parse HEAD 2>/dev/null || echo 0123456789abcdef0123456789abcdef01234567)
export GITLAB_CI=true CI=true
export CI_SERVER_URL=$HALLMARK_TEST_OIDC_ISSUER
export CI_PROJECT_PATH=group/app CI_PROJECT_URL=$HALLMARK_TEST_OIDC_ISSUER/group/app
export CI_REGISTRY=$HALLMARK_TEST_REGISTRY_PLAIN CI_REGISTRY_IMAGE=$HALLMARK_TEST_REGISTRY_PLAIN/group/app
export CI_COMMIT_SHA=$sha CI_COMMIT_SHORT_SHA=${sha:0:8} CI_COMMIT_REF_NAME=main
export CI_PIPELINE_ID=4004 CI_PIPELINE_URL=$CI_PROJECT_URL/-/pipelines/4004
export CI_JOB_ID=5005 CI_JOB_URL=$CI_PROJECT_URL/-/jobs/5005 GITLAB_USER_NAME="Hallmark Demo"
SIGSTORE_ID_TOKEN=$(curl -fsS "$HALLMARK_TEST_OIDC_MINT?project_path=group/app&ref=main&sha=$sha")
export SIGSTORE_ID_TOKEN

# The local Sigstore stack is shaped as public-good Sigstore: Fulcio certificates carry SCTs from a
# CT log, signatures go to a Rekor v2 log (whose entries need a TSA timestamp) and the trusted root
# lists them all. No insecure flag on either side: every check is on. Rekor v2 serves its checkpoint and
# tiles at its URL as public-good's logs do (the bed's rekor-front), so release checks the checkpoint's
# signature. The bed's OIDC issuer has a private CA: --sigstore-ca-cert lets release's checks read its
# discovery document, as Fulcio does.
sigstore=(--fulcio-url "$HALLMARK_TEST_FULCIO_URL" --timestamp-server-url "$HALLMARK_TEST_TSA_URL"
	--rekor-url "$HALLMARK_TEST_REKOR_URL" --rekor-version 2 --trusted-root "$HALLMARK_TEST_SIGSTORE_TRUSTED_ROOT"
	--sigstore-ca-cert "$HALLMARK_TEST_TLS_CA")
trust=(--trusted-root "$HALLMARK_TEST_SIGSTORE_TRUSTED_ROOT")

echo "demo: hallmark release" >&2
bin/hallmark release --insecure-registry "$CI_REGISTRY" --addr "$HALLMARK_TEST_BUILDKIT_UNIX" \
	--context testdata/build -f Dockerfile.test "${sigstore[@]}" --dotenv bin/release.env
# shellcheck source=/dev/null
. bin/release.env

echo "demo: hallmark verify $IMAGE_REF | jq ." >&2
bin/hallmark verify --insecure-registry "$CI_REGISTRY" "${trust[@]}" \
	--annotations "tag=$CI_COMMIT_SHORT_SHA" \
	--certificate-identity "$CI_PROJECT_URL//.gitlab-ci.yml@refs/heads/$CI_COMMIT_REF_NAME" \
	--certificate-oidc-issuer "$CI_SERVER_URL" "$IMAGE_REF" | jq .

echo "demo: hallmark verify --provenance $IMAGE_REF" >&2
bin/hallmark verify --provenance --insecure-registry "$CI_REGISTRY" "${trust[@]}" \
	--certificate-identity "$CI_PROJECT_URL//.gitlab-ci.yml@refs/heads/$CI_COMMIT_REF_NAME" \
	--certificate-oidc-issuer "$CI_SERVER_URL" "$IMAGE_REF" >/dev/null

# The tutorial's verify line with cosign v3.1.3, plus only what this private bed needs: its trusted
# root (the public-good one comes from Sigstore's TUF repository) and plain HTTP to the local registry.
echo "demo: cosign v3 verify $IMAGE_REF | jq ." >&2
"$HALLMARK_TEST_COSIGN3" verify --allow-http-registry "${trust[@]}" \
	--annotations "tag=$CI_COMMIT_SHORT_SHA" \
	--certificate-identity "$CI_PROJECT_URL//.gitlab-ci.yml@refs/heads/$CI_COMMIT_REF_NAME" \
	--certificate-oidc-issuer "$CI_SERVER_URL" "$IMAGE_REF" | jq .
