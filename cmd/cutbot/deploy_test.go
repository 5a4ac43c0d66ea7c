package main

import (
	"errors"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestDeployUsesDocumentedSettings: the Kubernetes manifests set only settings cutbot has
// (or a secret's _FILE), probe the paths the health server serves, and expose its port.
func TestDeployUsesDocumentedSettings(t *testing.T) {
	f, err := os.Open("../../deploy/kubernetes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	known := map[string]bool{}
	for _, s := range settings {
		known[s.Env] = true
		if s.Secret {
			known[s.Env+"_FILE"] = true
		}
	}
	var kinds []string
	dec := yaml.NewDecoder(f)
	for {
		var doc struct {
			Kind string
			Spec struct {
				Template struct {
					Spec struct{ Containers []map[string]any }
				}
			}
		}
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, doc.Kind)
		for _, raw := range doc.Spec.Template.Spec.Containers {
			out, _ := yaml.Marshal(raw)
			var c struct {
				Env   []struct{ Name, Value string }
				Ports []struct {
					ContainerPort int `yaml:"containerPort"`
				}
				LivenessProbe struct {
					HTTPGet struct{ Path string } `yaml:"httpGet"`
				} `yaml:"livenessProbe"`
				ReadinessProbe struct {
					HTTPGet struct{ Path string } `yaml:"httpGet"`
				} `yaml:"readinessProbe"`
			}
			if err := yaml.Unmarshal(out, &c); err != nil {
				t.Fatal(err)
			}
			addr := ":8080"
			for _, e := range c.Env {
				if !known[e.Name] {
					t.Errorf("deploy/kubernetes.yaml sets %s, which is not one of cutbot's settings", e.Name)
				}
				if e.Name == "CUTBOT_HTTP_ADDR" {
					addr = e.Value
				}
			}
			if len(c.Ports) != 1 || !strings.HasSuffix(addr, ":"+strconv.Itoa(c.Ports[0].ContainerPort)) {
				t.Errorf("container ports %+v do not match CUTBOT_HTTP_ADDR %s", c.Ports, addr)
			}
			if c.LivenessProbe.HTTPGet.Path != "/livez" || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
				t.Errorf("probes %q %q, want /livez and /readyz", c.LivenessProbe.HTTPGet.Path, c.ReadinessProbe.HTTPGet.Path)
			}
		}
	}
	if got := strings.Join(kinds, ","); got != "PersistentVolumeClaim,Deployment,Service,ServiceMonitor,PrometheusRule" {
		t.Errorf("kinds = %s", got)
	}
}

// TestSlackManifest: the app manifest turns on what cutbot uses: Socket Mode, the command,
// interactivity (buttons, modals), the Home tab and its app_home_opened event, and the scopes.
func TestSlackManifest(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/slack-app-manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Features struct {
			AppHome struct {
				HomeTab bool `yaml:"home_tab_enabled"`
			} `yaml:"app_home"`
			SlashCommands []struct{ Command string } `yaml:"slash_commands"`
		}
		OAuth struct {
			Scopes struct{ Bot []string }
		} `yaml:"oauth_config"`
		Settings struct {
			Events struct {
				BotEvents []string `yaml:"bot_events"`
			} `yaml:"event_subscriptions"`
			Interactivity struct {
				Enabled bool `yaml:"is_enabled"`
			}
			SocketMode bool `yaml:"socket_mode_enabled"`
		}
	}
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if !m.Features.AppHome.HomeTab || !slices.Contains(m.Settings.Events.BotEvents, "app_home_opened") || !m.Settings.Interactivity.Enabled || !m.Settings.SocketMode {
		t.Errorf("manifest: home tab %v, events %v, interactivity %v, socket mode %v", m.Features.AppHome.HomeTab, m.Settings.Events.BotEvents, m.Settings.Interactivity.Enabled, m.Settings.SocketMode)
	}
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/release" {
		t.Errorf("slash commands: %+v", m.Features.SlashCommands)
	}
	for _, s := range []string{"commands", "chat:write", "channels:history", "groups:history", "channels:read", "groups:read", "usergroups:read"} {
		if !slices.Contains(m.OAuth.Scopes.Bot, s) {
			t.Errorf("the manifest lacks the %s scope", s)
		}
	}
}
