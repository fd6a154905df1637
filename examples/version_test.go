package examples

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestPodKubernetesVersion: the pod example states the Kubernetes version
// its fields need — securityContext.appArmorProfile is a 1.30 field.
func TestPodKubernetesVersion(t *testing.T) {
	b, err := os.ReadFile("kubernetes/runner-pod.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	m := regexp.MustCompile(`Kubernetes >= 1\.([0-9]+)`).FindStringSubmatch(s)
	if m == nil {
		t.Fatal("the pod example does not say which Kubernetes version it needs")
	}
	minor, _ := strconv.Atoi(m[1])
	if strings.Contains(s, "appArmorProfile:") && minor < 30 {
		t.Errorf("says Kubernetes >= 1.%d, but appArmorProfile needs 1.30", minor)
	}
}
