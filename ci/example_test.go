package ci_test

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/hallmark-dev/hallmark/ci"
)

func ExampleDetect() {
	vars := map[string]string{
		"GITLAB_CI":           "true",
		"CI_PROJECT_URL":      "https://gitlab.com/group/app",
		"CI_COMMIT_SHA":       "4f0c2b6a9d1e8f7c3b5a2d1e0f9c8b7a6d5e4f3c",
		"CI_COMMIT_SHORT_SHA": "4f0c2b6a",
		"CI_COMMIT_REF_NAME":  "main",
		"CI_SERVER_URL":       "https://gitlab.com",
	}
	env := ci.Detect(func(k string) string { return vars[k] }) // os.Getenv in main

	ann := env.Annotations(env.DefaultTag())
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(ann)

	p, err := env.Policy()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.Identity, p.Issuer)
	// Output:
	// {
	//   "com.gitlab.ci.commit.ref.name": "main",
	//   "com.gitlab.ci.commit.sha": "4f0c2b6a9d1e8f7c3b5a2d1e0f9c8b7a6d5e4f3c",
	//   "org.opencontainers.image.revision": "4f0c2b6a9d1e8f7c3b5a2d1e0f9c8b7a6d5e4f3c",
	//   "org.opencontainers.image.source": "https://gitlab.com/group/app",
	//   "tag": "4f0c2b6a"
	// }
	// https://gitlab.com/group/app//.gitlab-ci.yml@refs/heads/main https://gitlab.com
}

func ExampleParseAnnotations() {
	_, err := ci.ParseAnnotations([]string{"team=blue", "oops"})
	fmt.Println(err)
	// Output: invalid annotation "oops": want key=value, missing '='
}
