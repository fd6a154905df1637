package examples_test

// The subset of Kubernetes' core/v1 Pod the example uses, with the API's
// field names. The manifest is decoded strictly, so a misspelt or misplaced
// field fails the test instead of being ignored as the API server would
// reject it. (k8s.io/api is in the module graph but not required by
// go.mod; these few types avoid adding it.)

type pod struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       podSpec    `yaml:"spec"`
}

type objectMeta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type podSpec struct {
	RestartPolicy                string              `yaml:"restartPolicy"`
	AutomountServiceAccountToken *bool               `yaml:"automountServiceAccountToken"`
	ServiceAccountName           string              `yaml:"serviceAccountName"`
	SecurityContext              *podSecurityContext `yaml:"securityContext"`
	HostNetwork                  *bool               `yaml:"hostNetwork"`
	HostPID                      *bool               `yaml:"hostPID"`
	HostIPC                      *bool               `yaml:"hostIPC"`
	InitContainers               []container         `yaml:"initContainers"`
	Containers                   []container         `yaml:"containers"`
	Volumes                      []volume            `yaml:"volumes"`
}

type podSecurityContext struct {
	RunAsUser      *int64          `yaml:"runAsUser"`
	RunAsGroup     *int64          `yaml:"runAsGroup"`
	RunAsNonRoot   *bool           `yaml:"runAsNonRoot"`
	FSGroup        *int64          `yaml:"fsGroup"`
	SeccompProfile *seccompProfile `yaml:"seccompProfile"`
}

type container struct {
	Name            string           `yaml:"name"`
	Image           string           `yaml:"image"`
	Command         []string         `yaml:"command"`
	Args            []string         `yaml:"args"`
	WorkingDir      string           `yaml:"workingDir"`
	Env             []envVar         `yaml:"env"`
	Ports           []containerPort  `yaml:"ports"`
	Resources       *resources       `yaml:"resources"`
	VolumeMounts    []volumeMount    `yaml:"volumeMounts"`
	StartupProbe    *probe           `yaml:"startupProbe"`
	ReadinessProbe  *probe           `yaml:"readinessProbe"`
	LivenessProbe   *probe           `yaml:"livenessProbe"`
	RestartPolicy   string           `yaml:"restartPolicy"`
	SecurityContext *securityContext `yaml:"securityContext"`
}

type envVar struct {
	Name      string        `yaml:"name"`
	Value     string        `yaml:"value"`
	ValueFrom *envVarSource `yaml:"valueFrom"`
}

type envVarSource struct {
	SecretKeyRef *struct {
		Name     string `yaml:"name"`
		Key      string `yaml:"key"`
		Optional *bool  `yaml:"optional"`
	} `yaml:"secretKeyRef"`
	FieldRef *struct {
		FieldPath string `yaml:"fieldPath"`
	} `yaml:"fieldRef"`
}

type containerPort struct {
	Name          string `yaml:"name"`
	ContainerPort int32  `yaml:"containerPort"`
	Protocol      string `yaml:"protocol"`
}

type resources struct {
	Requests map[string]string `yaml:"requests"`
	Limits   map[string]string `yaml:"limits"`
}

type volumeMount struct {
	Name      string `yaml:"name"`
	MountPath string `yaml:"mountPath"`
	SubPath   string `yaml:"subPath"`
	ReadOnly  bool   `yaml:"readOnly"`
}

type probe struct {
	Exec *struct {
		Command []string `yaml:"command"`
	} `yaml:"exec"`
	TCPSocket *struct {
		Port int32 `yaml:"port"`
	} `yaml:"tcpSocket"`
	InitialDelaySeconds int32 `yaml:"initialDelaySeconds"`
	PeriodSeconds       int32 `yaml:"periodSeconds"`
	TimeoutSeconds      int32 `yaml:"timeoutSeconds"`
	FailureThreshold    int32 `yaml:"failureThreshold"`
}

type securityContext struct {
	RunAsUser                *int64           `yaml:"runAsUser"`
	RunAsGroup               *int64           `yaml:"runAsGroup"`
	RunAsNonRoot             *bool            `yaml:"runAsNonRoot"`
	Privileged               *bool            `yaml:"privileged"`
	AllowPrivilegeEscalation *bool            `yaml:"allowPrivilegeEscalation"`
	ReadOnlyRootFilesystem   *bool            `yaml:"readOnlyRootFilesystem"`
	Capabilities             *capabilities    `yaml:"capabilities"`
	SeccompProfile           *seccompProfile  `yaml:"seccompProfile"`
	AppArmorProfile          *appArmorProfile `yaml:"appArmorProfile"`
}

type capabilities struct {
	Add  []string `yaml:"add"`
	Drop []string `yaml:"drop"`
}

type seccompProfile struct {
	Type             string `yaml:"type"`
	LocalhostProfile string `yaml:"localhostProfile"`
}

type appArmorProfile struct {
	Type             string `yaml:"type"`
	LocalhostProfile string `yaml:"localhostProfile"`
}

type volume struct {
	Name      string                 `yaml:"name"`
	Secret    *secretVolumeSource    `yaml:"secret"`
	ConfigMap *configMapVolumeSource `yaml:"configMap"`
	EmptyDir  *emptyDirVolumeSource  `yaml:"emptyDir"`
}

// source is the kind (Secret, ConfigMap) and name of what the volume
// projects; "" for other volumes.
func (v volume) source() (kind, name string) {
	switch {
	case v.Secret != nil:
		return "Secret", v.Secret.SecretName
	case v.ConfigMap != nil:
		return "ConfigMap", v.ConfigMap.Name
	}
	return "", ""
}

// items are the keys a Secret or ConfigMap volume projects, if it names
// them.
func (v volume) items() []keyToPath {
	switch {
	case v.Secret != nil:
		return v.Secret.Items
	case v.ConfigMap != nil:
		return v.ConfigMap.Items
	}
	return nil
}

type secretVolumeSource struct {
	SecretName  string      `yaml:"secretName"`
	Items       []keyToPath `yaml:"items"`
	DefaultMode *int32      `yaml:"defaultMode"`
	Optional    *bool       `yaml:"optional"`
}

type configMapVolumeSource struct {
	Name        string      `yaml:"name"`
	Items       []keyToPath `yaml:"items"`
	DefaultMode *int32      `yaml:"defaultMode"`
	Optional    *bool       `yaml:"optional"`
}

type keyToPath struct {
	Key  string `yaml:"key"`
	Path string `yaml:"path"`
	Mode *int32 `yaml:"mode"`
}

type emptyDirVolumeSource struct {
	Medium    string `yaml:"medium"`
	SizeLimit string `yaml:"sizeLimit"`
}

// secret is a v1 Secret manifest, as create-certs.sh writes them.
type secret struct {
	APIVersion string            `yaml:"apiVersion"`
	Kind       string            `yaml:"kind"`
	Metadata   objectMeta        `yaml:"metadata"`
	Type       string            `yaml:"type"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
}

// The workloads of the pool example (apps/v1 StatefulSet, v1 Service,
// batch/v1 Job, v1 ConfigMap), as few fields as it uses, decoded strictly
// too.

type podTemplate struct {
	Metadata objectMeta `yaml:"metadata"`
	Spec     podSpec    `yaml:"spec"`
}

type labelSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type statefulSet struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       struct {
		ServiceName         string        `yaml:"serviceName"`
		Replicas            *int32        `yaml:"replicas"`
		PodManagementPolicy string        `yaml:"podManagementPolicy"`
		Selector            labelSelector `yaml:"selector"`
		Template            podTemplate   `yaml:"template"`
	} `yaml:"spec"`
}

type service struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       struct {
		ClusterIP                string            `yaml:"clusterIP"`
		Selector                 map[string]string `yaml:"selector"`
		PublishNotReadyAddresses bool              `yaml:"publishNotReadyAddresses"`
		Ports                    []servicePort     `yaml:"ports"`
	} `yaml:"spec"`
}

type servicePort struct {
	Name       string `yaml:"name"`
	Port       int32  `yaml:"port"`
	TargetPort any    `yaml:"targetPort"`
	Protocol   string `yaml:"protocol"`
}

type job struct {
	APIVersion string     `yaml:"apiVersion"`
	Kind       string     `yaml:"kind"`
	Metadata   objectMeta `yaml:"metadata"`
	Spec       struct {
		BackoffLimit            *int32      `yaml:"backoffLimit"`
		TTLSecondsAfterFinished *int32      `yaml:"ttlSecondsAfterFinished"`
		ActiveDeadlineSeconds   *int64      `yaml:"activeDeadlineSeconds"`
		Template                podTemplate `yaml:"template"`
	} `yaml:"spec"`
}

type configMap struct {
	APIVersion string            `yaml:"apiVersion"`
	Kind       string            `yaml:"kind"`
	Metadata   objectMeta        `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
}
