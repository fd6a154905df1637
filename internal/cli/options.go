package cli

import (
	"regexp"
)

// Library messages and hints refer to the options they are about as
// {package.Type.Field} (e.g. "give {builder.TLS.Key}"), never by a flag:
// a library does not know how its callers expose its options. The CLI
// renders each reference as the flag that sets the option.

// optionFlags are the flags that set the options library messages refer
// to. TestOptionFlags checks that each flag exists and that every
// reference in the libraries is here.
var optionFlags = map[string]string{
	"builder.ConnectOptions.Addr":              "--addr / BUILDKIT_HOST",
	"builder.ConnectOptions.AllowInsecureTCP":  "--insecure-buildkit-tcp",
	"pool.Balance.MaxLoadFactor":               "--max-load-factor",
	"builder.TLS.CACert":                       "--tlscacert",
	"builder.TLS.Cert":                         "--tlscert",
	"builder.TLS.Key":                          "--tlskey",
	"builder.TLS.ServerName":                   "--tlsservername",
	"builder.Request.Dockerfile":               "-f",
	"builder.Request.Insecure":                 "--insecure-registry",
	"builder.Request.Progress":                 "--progress",
	"builder.Request.Platforms":                "--platform",
	"builder.Request.CacheFrom":                "--cache-from",
	"builder.Request.CacheTo":                  "--cache-to",
	"builder.Request.Secrets":                  "--secret",
	"builder.Request.SSH":                      "--ssh",
	"builder.Request.Annotations":              "--annotation",
	"builder.Request.Provenance":               "--provenance",
	"registry.Config.Insecure":                 "--insecure-registry",
	"registry.Config.SkipTLSVerify":            "--registry-skip-tls-verify",
	"builder.Request.SkipTLSVerify":            "--registry-skip-tls-verify",
	"doctor.Options.Image":                     "--image",
	"signer.Options.Key":                       "--key",
	"signer.Options.IdentityToken":             "--identity-token / --identity-token-file",
	"signer.Options.FulcioURL":                 "--fulcio-url",
	"signer.Options.InsecureSkipSCT":           "--insecure-skip-verify",
	"signer.Options.Mode":                      "--registry-referrers-mode",
	"signer.Options.Bundle":                    "--new-bundle-format",
	"signer.Options.RekorVersion":              "--rekor-version",
	"signer.Options.RekorURL":                  "--rekor-url",
	"signer.Options.SkipTlogUpload":            "--tlog-upload=false",
	"signer.Options.ServiceCACert":             "--sigstore-ca-cert",
	"signer.Options.TimestampServerURL":        "--timestamp-server-url",
	"signer.Options.SigningConfig":             "--signing-config",
	"signer.Options.TrustedRoot":               "--trusted-root",
	"signer.Options.TUFMirror":                 "--tuf-mirror",
	"signer.Options.TUFRoot":                   "--tuf-root",
	"verifier.Policy.Key":                      "--key",
	"verifier.Policy.Identity":                 "--certificate-identity",
	"verifier.Policy.Issuer":                   "--certificate-oidc-issuer",
	"verifier.Trust.TrustedRoot":               "--trusted-root",
	"verifier.Trust.CARoots":                   "--ca-roots",
	"verifier.Trust.CAIntermediates":           "--ca-intermediates",
	"verifier.Trust.IgnoreTlog":                "--insecure-ignore-tlog",
	"verifier.Trust.IgnoreSCT":                 "--insecure-ignore-sct",
	"verifier.Options.AllowUnboundAnnotations": "--allow-unbound-annotations",
}

// optionRef matches an option reference in a library message.
var optionRef = regexp.MustCompile(`\{([a-z]+(?:\.[A-Z][A-Za-z]*){2,})\}`)

// renderOptions replaces the option references in s with their flags;
// a reference to an option without a flag stays as it is.
func renderOptions(s string) string {
	return optionRef.ReplaceAllStringFunc(s, func(ref string) string {
		if f, ok := optionFlags[ref[1:len(ref)-1]]; ok {
			return f
		}
		return ref
	})
}
