package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// probeDigest is the subject of the referrers probe: the digest of no
// bytes, which no registry needs to hold.
const probeDigest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// checkRegistry checks the image's registry in order: reachable (the /v2/
// ping and the token exchange for push scope), push allowed (an upload
// started and cancelled), referrers API (pull access suffices). Checks
// that cannot run after a failure are skipped.
func checkRegistry(ctx context.Context, o Options) []Check {
	reach, push, refs := newCheck(CheckRegistry, StageBuild), newCheck(CheckPush, StageBuild), newCheck(CheckReferrers, StageBuild)
	if o.Image == "" {
		const why = "no image repository: give {doctor.Options.Image} REGISTRY/REPOSITORY (in GitLab CI $CI_REGISTRY_IMAGE, on GitHub Actions ghcr.io/$GITHUB_REPOSITORY is the default)"
		return []Check{reach.skip(why), push.skip("no image repository"), refs.skip("no image repository")}
	}
	repo, err := o.Registry.ParseRepository(o.Image)
	if err != nil {
		return []Check{reach.fail(err.Error(), "give {doctor.Options.Image} as REGISTRY/REPOSITORY, without a tag"),
			push.skip("no valid image repository"), refs.skip("no valid image repository")}
	}
	host := repo.RegistryStr()
	source := o.Registry.CredentialSource(host)
	for _, c := range []*Check{&reach, &push, &refs} {
		c.Facts["registry"], c.Facts["repository"] = host, repo.RepositoryStr()
	}
	push.Facts["credentials"] = source

	scheme, err := ping(ctx, o, repo)
	if err != nil {
		return []Check{reach.fail(fmt.Sprintf("cannot reach %s: %s", host, oneLine(err)), reachHint(o, host)),
			push.skip(host + " unreachable"), refs.skip(host + " unreachable")}
	}
	reach.Facts["scheme"] = scheme
	reach = reach.ok(fmt.Sprintf("%s answers /v2/ over %s", host, scheme))
	tr, err := pushTransport(ctx, o, repo)
	if err != nil {
		return []Check{reach, push.fail(fmt.Sprintf("authorizing a push to %s with the credentials from %s: %s", repo.RepositoryStr(), source, oneLine(err)),
			credentialsHint(host, source)), refs.skip("no access to " + repo.RepositoryStr())}
	}
	client := &http.Client{Transport: tr}
	base := fmt.Sprintf("%s://%s/v2/%s", scheme, host, repo.RepositoryStr())
	push = checkPush(ctx, o, client, base, push, host, source, repo.RepositoryStr())
	return []Check{reach, push, checkReferrers(ctx, o, client, base, refs)}
}

// ping asks the registry's /v2/ endpoint for its authentication
// challenge and returns the scheme that answered.
func ping(ctx context.Context, o Options, repo name.Repository) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	pr, err := transport.Ping(ctx, repo.Registry, o.Registry.Transport())
	if err != nil {
		return "", err
	}
	if pr.Insecure {
		return "http", nil
	}
	return "https", nil
}

// pushTransport authorizes the credentials found for push scope, as a push
// would: for a token registry this is the token exchange.
func pushTransport(ctx context.Context, o Options, repo name.Repository) (http.RoundTripper, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	auth, err := authn.Resolve(ctx, o.Registry.Keychain(), repo)
	if err != nil {
		return nil, fmt.Errorf("reading credentials: %w", err)
	}
	return transport.NewWithContext(ctx, repo.Registry, auth, o.Registry.Transport(), []string{repo.Scope(transport.PushScope)})
}

// checkPush starts a blob upload (202 means the credentials may push) and
// cancels it, as ggcr's remote.CheckPushPermission does.
func checkPush(ctx context.Context, o Options, client *http.Client, base string, c Check, host, source, repo string) Check {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	resp, err := do(ctx, client, http.MethodPost, base+"/blobs/uploads/", "")
	if err != nil {
		return c.fail(fmt.Sprintf("starting an upload to %s: %s", repo, oneLine(err)), "")
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusAccepted:
		if loc := resp.Header.Get("Location"); loc != "" {
			cancelUpload(ctx, client, resp.Request.URL, loc)
		}
		if strings.HasPrefix(source, "none") {
			return c.ok(fmt.Sprintf("anonymous push to %s allowed (no credentials for %s)", repo, host))
		}
		return c.ok(fmt.Sprintf("credentials from %s may push to %s", source, repo))
	case http.StatusUnauthorized, http.StatusForbidden:
		return c.fail(fmt.Sprintf("%s refused a push to %s (%s) with the credentials from %s", host, repo, resp.Status, source),
			credentialsHint(host, source))
	}
	return c.fail(fmt.Sprintf("%s answered a push to %s with %s", host, repo, resp.Status), "")
}

// cancelUpload deletes the upload session checkPush started; failures do
// not matter.
func cancelUpload(ctx context.Context, client *http.Client, base *url.URL, loc string) {
	u, err := base.Parse(loc)
	if err != nil {
		return
	}
	if resp, err := do(ctx, client, http.MethodDelete, u.String(), ""); err == nil {
		resp.Body.Close()
	}
}

// checkReferrers asks for the referrers of a digest: an OCI index means
// the registry has the referrers API; 404 means it has not, and OCI 1.1
// signatures use the sha256-<hex> fallback tag instead. Neither fails.
func checkReferrers(ctx context.Context, o Options, client *http.Client, base string, c Check) Check {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	resp, err := do(ctx, client, http.MethodGet, base+"/referrers/"+probeDigest, string(types.OCIImageIndex))
	if err != nil {
		c.Facts["supported"] = "unknown"
		return c.warn("not checked: asking for referrers: "+oneLine(err), "")
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		var idx struct {
			MediaType string `json:"mediaType"`
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(body, &idx) == nil && (idx.MediaType == string(types.OCIImageIndex) ||
			strings.HasPrefix(resp.Header.Get("Content-Type"), string(types.OCIImageIndex))) {
			c.Facts["supported"] = "true"
			return c.ok("OCI 1.1 referrers API supported")
		}
		c.Facts["supported"] = "false"
		return c.warn("the referrers endpoint answered 200 without an OCI image index", "OCI 1.1 signatures ({signer.Options.Mode} oci-1-1) may not be found by verifiers")
	case http.StatusNotFound:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if registryErrorCode(body) == "NAME_UNKNOWN" {
			c.Facts["supported"] = "unknown"
			return c.skip("not checked: the repository does not exist yet (404 NAME_UNKNOWN), so the registry cannot be asked; run doctor again after the first push. Signing works either way")
		}
		c.Facts["supported"] = "false"
		return c.ok("no OCI 1.1 referrers API (404): oci-1-1 signatures use the sha256-<hex> fallback tag; the default legacy .sig tag is unaffected")
	}
	c.Facts["supported"] = "unknown"
	return c.warn(fmt.Sprintf("not checked: the referrers endpoint answered %s", resp.Status), "")
}

// registryErrorCode returns the first code of a registry error body
// ({"errors":[{"code":...}]}), or "".
func registryErrorCode(body []byte) string {
	var e struct {
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil || len(e.Errors) == 0 {
		return ""
	}
	return e.Errors[0].Code
}

func do(ctx context.Context, client *http.Client, method, u, accept string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	return client.Do(req)
}

func credentialsHint(host, source string) string {
	if strings.HasPrefix(source, "none") {
		return fmt.Sprintf("no credentials for %s: log in (docker login %s writes the docker config hallmark reads); in CI set CI_REGISTRY_USER/CI_REGISTRY_PASSWORD or CI_JOB_TOKEN (GitLab), GITHUB_TOKEN with packages: write (GitHub Actions)", host, host)
	}
	return fmt.Sprintf("the credentials from %s lack push access to this repository: check the user's permissions, or log in to %s as another user", source, host)
}

func reachHint(o Options, host string) string {
	if !o.Registry.IsInsecure(host) {
		return "check the host name and the network; a registry without TLS must be named with {registry.Config.Insecure} " + host
	}
	return "check the host name and the network"
}

// oneLine folds an error into one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}
