// Package k8s_test decodes every Kubernetes manifest strictly into the
// Kubernetes API types and checks the deployment invariants: the auth
// service runs at least two replicas behind a PDB and an HPA with probes
// on its health endpoints and sized resources; every legacy database has
// its own connector Deployment; only the auth service reaches connectors.
package k8s_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"

	kitconfig "github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/sqlcore"
)

type manifests struct {
	deployments  map[string]*appsv1.Deployment
	services     map[string]*corev1.Service
	configMaps   map[string]*corev1.ConfigMap
	pdbs         []*policyv1.PodDisruptionBudget
	hpas         []*autoscalingv2.HorizontalPodAutoscaler
	netpols      []*networkingv1.NetworkPolicy
	secretsCount int
}

// strict decodes JSON into v, refusing fields the API type does not have.
func strict(doc []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func load(t *testing.T, dir string) *manifests {
	t.Helper()
	m := &manifests{deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{}, configMaps: map[string]*corev1.ConfigMap{}}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		base := filepath.Base(path)
		if base == "kustomization.yaml" || strings.HasSuffix(base, "-config.yaml") {
			return nil // not Kubernetes objects (kustomize input, generator files)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, part := range bytes.Split(raw, []byte("\n---\n")) {
			if len(bytes.TrimSpace(part)) == 0 {
				continue
			}
			doc, err := yaml.YAMLToJSONStrict(part)
			if err != nil {
				return fmt.Errorf("%s doc %d: %w", path, i, err)
			}
			var meta struct{ Kind, APIVersion string }
			if err := json.Unmarshal(doc, &meta); err != nil {
				return err
			}
			if err := m.add(meta.APIVersion+"/"+meta.Kind, doc); err != nil {
				return fmt.Errorf("%s doc %d (%s): %w", path, i, meta.Kind, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (m *manifests) add(kind string, doc []byte) error {
	switch kind {
	case "apps/v1/Deployment":
		var d appsv1.Deployment
		if err := strict(doc, &d); err != nil {
			return err
		}
		m.deployments[d.Name] = &d
	case "v1/Service":
		var s corev1.Service
		if err := strict(doc, &s); err != nil {
			return err
		}
		m.services[s.Name] = &s
	case "v1/ConfigMap":
		var c corev1.ConfigMap
		if err := strict(doc, &c); err != nil {
			return err
		}
		m.configMaps[c.Name] = &c
	case "policy/v1/PodDisruptionBudget":
		var p policyv1.PodDisruptionBudget
		if err := strict(doc, &p); err != nil {
			return err
		}
		m.pdbs = append(m.pdbs, &p)
	case "autoscaling/v2/HorizontalPodAutoscaler":
		var h autoscalingv2.HorizontalPodAutoscaler
		if err := strict(doc, &h); err != nil {
			return err
		}
		m.hpas = append(m.hpas, &h)
	case "networking.k8s.io/v1/NetworkPolicy":
		var n networkingv1.NetworkPolicy
		if err := strict(doc, &n); err != nil {
			return err
		}
		m.netpols = append(m.netpols, &n)
	case "v1/Secret":
		m.secretsCount++
	default:
		return fmt.Errorf("unexpected kind %q: add it to the test", kind)
	}
	return nil
}

func matches(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func TestAuthDeployment(t *testing.T) {
	m := load(t, "base")
	auth := m.deployments["trickle-auth"]
	if auth == nil {
		t.Fatal("no trickle-auth Deployment")
	}
	if auth.Spec.Replicas == nil || *auth.Spec.Replicas < 2 {
		t.Fatalf("auth replicas = %v, want >= 2", auth.Spec.Replicas)
	}
	podLabels := auth.Spec.Template.Labels
	if !matches(auth.Spec.Selector.MatchLabels, podLabels) {
		t.Fatal("auth selector does not select its own pods")
	}
	c := auth.Spec.Template.Spec.Containers[0]
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Error("auth liveness probe must GET /healthz")
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Error("auth readiness probe must GET /readyz")
	}
	req, lim := c.Resources.Requests, c.Resources.Limits
	if req.Cpu().IsZero() || req.Memory().IsZero() || lim.Memory().IsZero() {
		t.Errorf("auth resources must set cpu/memory requests and a memory limit: %+v", c.Resources)
	}
	// Hashing memory (19 MiB per concurrent argon2id) must fit the limit.
	if lim.Memory().Value() < 4*19<<20 {
		t.Errorf("memory limit %v cannot hold the hashing pool", lim.Memory())
	}
	checkHardened(t, auth)

	var pdb bool
	for _, p := range m.pdbs {
		if p.Spec.Selector != nil && matches(p.Spec.Selector.MatchLabels, podLabels) && p.Spec.MinAvailable != nil && p.Spec.MinAvailable.IntValue() >= 1 {
			pdb = true
		}
	}
	if !pdb {
		t.Error("no PodDisruptionBudget keeps an auth pod available")
	}
	var hpa bool
	for _, h := range m.hpas {
		if h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == auth.Name && h.Spec.MinReplicas != nil && *h.Spec.MinReplicas >= 2 && h.Spec.MaxReplicas > *h.Spec.MinReplicas {
			hpa = true
		}
	}
	if !hpa {
		t.Error("no HorizontalPodAutoscaler scales trickle-auth from >= 2 replicas")
	}
	if s := m.services["trickle-auth"]; s == nil || !matches(s.Spec.Selector, podLabels) {
		t.Error("no Service selects the auth pods")
	}
}

func checkHardened(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	ps := d.Spec.Template.Spec
	if ps.SecurityContext == nil || ps.SecurityContext.RunAsNonRoot == nil || !*ps.SecurityContext.RunAsNonRoot {
		t.Errorf("%s: pods must run as non-root", d.Name)
	}
	for _, c := range ps.Containers {
		sc := c.SecurityContext
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("%s/%s: needs allowPrivilegeEscalation=false and a read-only root filesystem", d.Name, c.Name)
		}
		for _, e := range c.Env {
			if e.Value != "" && (strings.Contains(strings.ToLower(e.Name), "dsn") || strings.Contains(strings.ToLower(e.Name), "token") || strings.Contains(strings.ToLower(e.Name), "password")) {
				t.Errorf("%s: secret-looking env %s has a literal value; use secretKeyRef", d.Name, e.Name)
			}
		}
	}
}

func TestOneConnectorPerLegacyDatabase(t *testing.T) {
	m := load(t, "base")
	for _, db := range []string{"mysql", "postgres", "mssql"} {
		name := "trickle-connector-" + db
		d := m.deployments[name]
		if d == nil {
			t.Errorf("no Deployment %s", name)
			continue
		}
		checkHardened(t, d)
		if s := m.services[name]; s == nil || !matches(s.Spec.Selector, d.Spec.Template.Labels) {
			t.Errorf("no Service selects %s", name)
		}
		// The embedded connector configuration must load with the
		// connector's own config type.
		cm := m.configMaps[name+"-config"]
		if cm == nil {
			t.Errorf("no ConfigMap %s-config", name)
			continue
		}
		var f sqlcore.File
		if err := kitconfig.Decode([]byte(cm.Data["config.yaml"]), &f); err != nil {
			t.Errorf("%s config: %v", name, err)
		}
	}
}

func TestOnlyAuthReachesConnectors(t *testing.T) {
	m := load(t, "base")
	authLabels := m.deployments["trickle-auth"].Spec.Template.Labels
	for name, d := range m.deployments {
		if !strings.HasPrefix(name, "trickle-connector-") {
			continue
		}
		var covered bool
		for _, np := range m.netpols {
			if !matches(np.Spec.PodSelector.MatchLabels, d.Spec.Template.Labels) {
				continue
			}
			covered = true
			for _, rule := range np.Spec.Ingress {
				for _, port := range rule.Ports {
					if port.Port == nil || port.Port.IntValue() != 7070 {
						continue
					}
					for _, peer := range rule.From {
						if peer.PodSelector == nil || !matches(peer.PodSelector.MatchLabels, authLabels) || peer.NamespaceSelector != nil || peer.IPBlock != nil {
							t.Errorf("%s: gRPC port open to a peer other than the auth pods: %+v", name, peer)
						}
					}
					if len(rule.From) == 0 {
						t.Errorf("%s: gRPC port open to everyone", name)
					}
				}
				if len(rule.Ports) == 0 {
					t.Errorf("%s: an ingress rule allows every port", name)
				}
			}
		}
		if !covered {
			t.Errorf("%s: no NetworkPolicy restricts ingress", name)
		}
	}
}

func TestNoSecretsCommitted(t *testing.T) {
	for _, dir := range []string{"base", "overlays"} {
		if m := load(t, dir); m.secretsCount != 0 {
			t.Errorf("%s holds %d Secret objects; secrets are created per environment", dir, m.secretsCount)
		}
	}
}

func TestOverlayDecodes(t *testing.T) {
	m := load(t, "overlays/example")
	for name, d := range m.deployments {
		if d.Spec.Replicas != nil && name == "trickle-auth" && *d.Spec.Replicas < 2 {
			t.Errorf("overlay lowers auth replicas below 2")
		}
	}
}
