package ci

import (
	"bufio"
	"bytes"
	"net"
	"strings"
)

// remoteURL returns the url of remote "origin" in a git config file, else
// the url of the first remote, else "". It understands the subset of the
// git config syntax remotes use: [remote "name"] sections, case-insensitive
// keys, quoted values and # or ; comments. Includes are not followed.
func remoteURL(cfg []byte) string {
	var first, origin, section string
	sc := bufio.NewScanner(bytes.NewReader(cfg))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			section = parseSection(line)
			continue
		}
		name, ok := strings.CutPrefix(section, "remote\x00")
		if !ok {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "url") {
			continue
		}
		v = configValue(v)
		if first == "" {
			first = v
		}
		if name == "origin" && origin == "" {
			origin = v
		}
	}
	if origin != "" {
		return origin
	}
	return first
}

// parseSection returns "section\x00subsection" for a [section "subsection"]
// header, with the section lower-cased.
func parseSection(line string) string {
	line = strings.TrimPrefix(line, "[")
	end := strings.LastIndex(line, "]")
	if end < 0 {
		return ""
	}
	line = line[:end]
	sec, sub, ok := strings.Cut(line, " ")
	sec = strings.ToLower(sec)
	if !ok {
		return sec
	}
	sub = strings.TrimSpace(sub)
	sub = strings.TrimSuffix(strings.TrimPrefix(sub, `"`), `"`)
	return sec + "\x00" + strings.ReplaceAll(sub, `\"`, `"`)
}

// configValue unquotes a git config value and drops a trailing comment.
func configValue(v string) string {
	var b strings.Builder
	quoted := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			quoted = !quoted
		case c == '\\' && i+1 < len(v):
			i++
			switch v[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			default:
				b.WriteByte(v[i])
			}
		case (c == '#' || c == ';') && !quoted:
			return strings.TrimSpace(b.String())
		default:
			b.WriteByte(c)
		}
	}
	return strings.TrimSpace(b.String())
}

// StripCredentials removes credentials from a git remote URL. For http(s)
// and other URL schemes the whole user-info part goes, since tokens are
// often passed as the user name (https://TOKEN@host/..., GitLab's
// https://gitlab-ci-token:TOKEN@host/...); for ssh URLs only a password is
// removed, as the user name (git@) is an account, not a secret. scp-like
// remotes (git@host:path) and local paths are returned unchanged, except
// that a password before '@' is removed.
func StripCredentials(remote string) string {
	scheme, rest, ok := strings.Cut(remote, "://")
	if !ok {
		at := strings.Index(remote, "@")
		if at < 0 || strings.Contains(remote[:at], "/") {
			return remote
		}
		user, _, _ := strings.Cut(remote[:at], ":")
		return user + remote[at:]
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return remote
	}
	host := rest[at+1:]
	if s := strings.ToLower(scheme); s == "ssh" || s == "git+ssh" || s == "ssh+git" {
		if user, _, _ := strings.Cut(rest[:at], ":"); user != "" {
			host = user + "@" + host
		}
	}
	return scheme + "://" + host
}

// SourceURL returns the web (https) URL of a git remote, for
// org.opencontainers.image.source, which is a URL people and tools open:
// http(s) remotes as they are (credentials already stripped), ssh://,
// git+ssh://, git:// and scp-like (git@host:group/app.git) remotes as
// https://host/group/app.git (an ssh port is not the web server's, so it
// is dropped). false for a local path, a file:// URL or anything else
// without a host.
func SourceURL(remote string) (string, bool) {
	scheme, rest, ok := strings.Cut(remote, "://")
	if !ok {
		// scp-like: [user@]host:path, where host has no '/' before the ':'.
		host, path, ok := strings.Cut(remote, ":")
		if !ok || host == "" || path == "" || strings.Contains(host, "/") || strings.HasPrefix(path, "//") {
			return "", false
		}
		if at := strings.LastIndex(host, "@"); at >= 0 {
			host = host[at+1:]
		}
		if host == "" {
			return "", false
		}
		return "https://" + host + "/" + strings.TrimPrefix(path, "/"), true
	}
	switch strings.ToLower(scheme) {
	case "http", "https":
		if host, _, _ := strings.Cut(rest, "/"); host == "" {
			return "", false
		}
		return remote, true
	case "ssh", "git+ssh", "ssh+git", "git":
		hostport, path, _ := strings.Cut(rest, "/")
		if at := strings.LastIndex(hostport, "@"); at >= 0 {
			hostport = hostport[at+1:]
		}
		host := hostport
		if h, _, err := net.SplitHostPort(hostport); err == nil {
			host = h
		}
		if host == "" {
			return "", false
		}
		if strings.Contains(host, ":") { // an IPv6 literal
			host = "[" + host + "]"
		}
		return "https://" + host + "/" + path, true
	}
	return "", false
}
