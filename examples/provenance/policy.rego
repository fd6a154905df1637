# cosign verify-attestation --type slsaprovenance1 --policy policy.rego:
# the provenance hallmark release signs (by default) must name the job as
# builder and its repository and commit. Fill in the values with envsubst
# (GitLab: BUILDER_ID=$CI_JOB_URL SOURCE=$CI_PROJECT_URL REVISION=$CI_COMMIT_SHA).
package signature

default allow = false

allow {
	input.predicateType == "https://slsa.dev/provenance/v1"
	input.predicate.runDetails.builder.id == "${BUILDER_ID}"
	input.predicate.runDetails.metadata.buildkit_metadata.vcs.source == "${SOURCE}"
	input.predicate.runDetails.metadata.buildkit_metadata.vcs.revision == "${REVISION}"
}
