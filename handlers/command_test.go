package handlers

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		text  string
		cmd   string
		args  []string
		flags map[string]string
	}{
		{"", "help", nil, map[string]string(nil)},
		{"   ", "help", nil, map[string]string(nil)},
		{"cut v1.31.3", "cut", []string{"v1.31.3"}, map[string]string{}},
		{"  cut    v1.31.3   ", "cut", []string{"v1.31.3"}, map[string]string{}},
		{"CUT v1.31.3", "cut", []string{"v1.31.3"}, map[string]string{}},
		{"cut\tv1.31.3\u00a0--dry-run", "cut", []string{"v1.31.3"}, map[string]string{"dry-run": "true"}},
		{"cut v1.32.0-rc.1 --type rc --branch release-1.32", "cut", []string{"v1.32.0-rc.1"}, map[string]string{"type": "rc", "branch": "release-1.32"}},
		{"cut v1.32.0-rc.1 --type=rc --branch=release-1.32", "cut", []string{"v1.32.0-rc.1"}, map[string]string{"type": "rc", "branch": "release-1.32"}},
		{"cut --no-mock-run v1.31.3", "cut", []string{"v1.31.3"}, map[string]string{"no-mock-run": "true"}},
		{"cut v1.31.3 —dry-run", "cut", []string{"v1.31.3"}, map[string]string{"dry-run": "true"}},
		{`abort v1.31.3 --reason "CVE fix must land first"`, "abort", []string{"v1.31.3"}, map[string]string{"reason": "CVE fix must land first"}},
		{`abort v1.31.3 --reason="CVE fix"`, "abort", []string{"v1.31.3"}, map[string]string{"reason": "CVE fix"}},
		{"abort v1.31.3 --reason “smart quotes from Slack”", "abort", []string{"v1.31.3"}, map[string]string{"reason": "smart quotes from Slack"}},
		{"abort v1.31.3 --reason 'single quoted'", "abort", []string{"v1.31.3"}, map[string]string{"reason": "single quoted"}},
		{"abort v1.31.3 --reason don't", "abort", []string{"v1.31.3"}, map[string]string{"reason": "don't"}},
		{`abort v1.31.3 --reason "tests &amp; builds &lt;red&gt;"`, "abort", []string{"v1.31.3"}, map[string]string{"reason": "tests & builds <red>"}},
		{"status", "status", nil, map[string]string{}},
		{"status v1.31.3", "status", []string{"v1.31.3"}, map[string]string{}},
		{"help cut", "help", []string{"cut"}, map[string]string{}},
		{"next v1.31.3", "next", []string{"v1.31.3"}, map[string]string{}},
		{`next v1.31.3 nomock-release --force "promoted by hand"`, "next", []string{"v1.31.3", "nomock-release"}, map[string]string{"force": "promoted by hand"}},
		{"retry v1.31.3", "retry", []string{"v1.31.3"}, map[string]string{}},
		{"cancel v1.31.3", "cancel", []string{"v1.31.3"}, map[string]string{}},
	} {
		t.Run(tc.text, func(t *testing.T) {
			inv, err := Parse(tc.text)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.text, err)
			}
			if inv.Command.Name != tc.cmd {
				t.Errorf("command = %s, want %s", inv.Command.Name, tc.cmd)
			}
			if diff := cmp.Diff(tc.args, inv.Args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.flags, inv.Flags); diff != "" {
				t.Errorf("flags (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		text, want string
		usage      string // the command whose usage the reply shows
	}{
		{"deploy v1.31.3", `Unknown command "deploy". Commands: cut, status, next, retry, cancel, gates, promotion, announce, schedule, reminders, freeze, thaw, log, picks, known-issues, lift, abort, help. Try ` + "`/release help`.", ""},
		{"stauts", "Did you mean `status`?", ""},
		{"cut", "`cut` needs VERSION.", "cut"},
		{"cut v1.31.3 v1.30.7", "at most 1 argument(s); unexpected \"v1.30.7\"", "cut"},
		{"cut v1.31.3 --forse x", `Unknown flag "--forse" for ` + "`cut`. `cut` takes --type, --branch, --hotfix, --embargo, --k8s-org, --k8s-repo, --k8s-ref, --no-mock-run, --mock-run, --no-start, --issue, --force, --dry-run.", "cut"},
		{"cut v1.31.3 --type", "--type needs a value: --type TYPE.", "cut"},
		{"cut v1.31.3 --type --dry-run", "--type needs a value", "cut"},
		{"cut v1.31.3 --dry-run=yes", "--dry-run is a switch and takes no value", "cut"},
		{"cut v1.31.3 --dry-run --dry-run", "--dry-run is given twice.", "cut"},
		{"cut v1.31.3 --type=", "--type needs a value", "cut"},
		{"abort v1.31.3", "`abort` needs --reason \"REASON\"", "abort"},
		{`abort v1.31.3 --reason "unterminated`, "Unterminated quote", ""},
		{"status v1.31.3 extra", "unexpected \"extra\"", "status"},
	} {
		t.Run(tc.text, func(t *testing.T) {
			_, err := Parse(tc.text)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded", tc.text)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse(%q) = %q, want it to contain %q", tc.text, err, tc.want)
			}
			reply := ParseErrorReply(err).(ErrorReply)
			got := ""
			if reply.Usage != nil {
				got = reply.Usage.Name
			}
			if got != tc.usage {
				t.Errorf("usage shown for %q, want %q", got, tc.usage)
			}
		})
	}
}

func TestUsageComesFromTheTable(t *testing.T) {
	for name, want := range map[string]string{
		"cut":       "cut VERSION [--type TYPE] [--branch BRANCH] [--hotfix] [--embargo \"CVE-…\"] [--k8s-org ORG] [--k8s-repo REPO] [--k8s-ref REF] [--no-mock-run] [--mock-run] [--no-start] [--issue NUMBER] [--force \"REASON\"] [--dry-run]",
		"status":    "status [VERSION]",
		"abort":     `abort VERSION --reason "REASON"`,
		"help":      "help [COMMAND]",
		"next":      `next VERSION [STAGE] [--force "REASON"] [--build-version VERSION]`,
		"retry":     `retry VERSION [--force "REASON"]`,
		"cancel":    "cancel VERSION",
		"gates":     "gates VERSION",
		"promotion": `promotion VERSION PR-URL [--force "REASON"]`,
		"announce":  "announce VERSION URL",
	} {
		if got := Lookup(name).Usage(); got != want {
			t.Errorf("%s usage = %q, want %q", name, got, want)
		}
	}
	for _, c := range Commands {
		if len(c.Examples) == 0 || c.Summary == "" || c.run == nil {
			t.Errorf("%s lacks examples, a summary or a handler", c.Name)
		}
		for _, ex := range c.Examples {
			inv, err := Parse(strings.TrimPrefix(ex, "/release "))
			if err != nil || inv.Command != c {
				t.Errorf("example %q of %s does not parse as %s: %v", ex, c.Name, c.Name, err)
			}
		}
	}
}

func TestReadOnly(t *testing.T) {
	for text, want := range map[string]bool{
		"cut v1.31.3":              false,
		"cut v1.31.3 --dry-run":    true,
		"status":                   true,
		"help":                     true,
		"abort v1.31.3 --reason x": false,
		"next v1.31.3":             false,
		"cancel v1.31.3":           false,
	} {
		inv, err := Parse(text)
		if err != nil {
			t.Fatal(err)
		}
		if inv.ReadOnly() != want {
			t.Errorf("%q ReadOnly = %v, want %v", text, inv.ReadOnly(), want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"cut v1.31.3", `abort v1.31.3 --reason "x y"`, "cut v1.31.3 --type=rc --dry-run", "“", "--=", "help help", "cut —", "status \"v1.31.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		inv, err := Parse(text)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("Parse(%q): empty error message", text)
			}
			return
		}
		if inv.Command == nil {
			t.Fatalf("Parse(%q): no command and no error", text)
		}
		_ = inv.ReadOnly()
		_ = inv.Key()
	})
}
