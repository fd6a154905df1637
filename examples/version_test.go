package examples

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestPodKubernetesVersion: the Kubernetes examples with rootless buildkitd
// state the Kubernetes version their fields need —
// securityContext.appArmorProfile is a 1.30 field.
func TestPodKubernetesVersion(t *testing.T) {
	for _, file := range []string{"kubernetes/runner-pod.yaml", "kubernetes/buildkitd-pool.yaml"} {
		t.Run(file, func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			s := string(b)
			m := regexp.MustCompile(`Kubernetes >= 1\.([0-9]+)`).FindStringSubmatch(s)
			if m == nil {
				t.Fatal("the example does not say which Kubernetes version it needs")
			}
			minor, _ := strconv.Atoi(m[1])
			if strings.Contains(s, "appArmorProfile:") && minor < 30 {
				t.Errorf("says Kubernetes >= 1.%d, but appArmorProfile needs 1.30", minor)
			}
		})
	}
}
