package registry

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ExplainRefusal adds to err, when registry host refused a request for
// lack of credentials or permission (401 or 403), which credential source
// was used, never the secret; what names the request ("push", "signing
// request"). Other errors, and nil, are returned as they are.
func (r *Registry) ExplainRefusal(err error, host, what string) error {
	if err == nil || !refused(err) {
		return err
	}
	return fmt.Errorf("%w (registry %s refused the %s; credentials used: %s)", err, host, what, r.CredentialSource(host))
}

// refused reports whether err is a registry's 401 or 403: a
// go-containerregistry transport error, or the text of one relayed by
// buildkitd.
func refused(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden
	}
	msg := strings.ToLower(err.Error())
	for _, hint := range []string{"401", "403", "unauthorized", "denied", "forbidden", "authorization"} {
		if strings.Contains(msg, hint) {
			return true
		}
	}
	return false
}
