package pool

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hallmark-dev/hallmark/builder"
	"github.com/hallmark-dev/hallmark/internal/limits"
)

// fileNode is one node of a builder file.
type fileNode struct {
	Name      string   `yaml:"name"`
	Addr      string   `yaml:"addr"`
	Platforms []string `yaml:"platforms"`
	TLS       *struct {
		CACert     string `yaml:"cacert"`
		Cert       string `yaml:"cert"`
		Key        string `yaml:"key"`
		ServerName string `yaml:"servername"`
	} `yaml:"tls"`
	InsecureTCP bool `yaml:"insecure-tcp"`
}

// LoadFile reads a builder file, YAML or JSON, and returns its nodes and
// its balance:
//
//	max-load-factor: 1.25                # bounded loads (Balance); default 0: off
//	nodes:
//	  - addr: tcp://10.0.0.1:1234        # required
//	    name: arm-1                      # default: addr; the hashing's node identity
//	    platforms: [linux/arm64]         # default: what its workers report
//	    tls: {cacert: ca.pem, cert: client.pem, key: client-key.pem, servername: buildkitd}
//	    insecure-tcp: false              # allow tcp:// without TLS
//
// Relative TLS paths are relative to the file's directory. defaults
// completes each node's connection options (the runtime directory, the
// timeout) and gives the TLS of nodes without their own.
func LoadFile(path string, defaults builder.ConnectOptions) ([]Node, Balance, error) {
	data, err := limits.ReadFile(path, 0)
	if err != nil {
		return nil, Balance{}, fmt.Errorf("builder file: %w", err)
	}
	var f struct {
		MaxLoadFactor float64    `yaml:"max-load-factor"`
		Nodes         []fileNode `yaml:"nodes"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		// yaml.v3 lists type errors one per line: one line here.
		return nil, Balance{}, fmt.Errorf("builder file %s: %s", path, strings.Join(strings.Fields(err.Error()), " "))
	}
	if len(f.Nodes) == 0 {
		return nil, Balance{}, fmt.Errorf("builder file %s lists no nodes: want nodes: [{addr: ...}]", path)
	}
	if err := checkFactor(f.MaxLoadFactor); err != nil {
		return nil, Balance{}, fmt.Errorf("builder file %s: max-load-factor %w", path, err)
	}
	dir := filepath.Dir(path)
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	nodes := make([]Node, 0, len(f.Nodes))
	for i, fn := range f.Nodes {
		if fn.Addr == "" {
			return nil, Balance{}, fmt.Errorf("builder file %s: node %d has no addr", path, i+1)
		}
		c := forAddr(defaults, fn.Addr)
		c.AllowInsecureTCP = fn.InsecureTCP || defaults.AllowInsecureTCP
		if fn.TLS != nil {
			c.TLS = builder.TLS{CACert: rel(fn.TLS.CACert), Cert: rel(fn.TLS.Cert), Key: rel(fn.TLS.Key), ServerName: fn.TLS.ServerName}
		}
		nodes = append(nodes, Node{Name: fn.Name, Connect: c, Platforms: fn.Platforms, File: path})
	}
	return nodes, Balance{MaxLoadFactor: f.MaxLoadFactor}, nil
}
