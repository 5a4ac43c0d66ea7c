package handlers

import (
	"fmt"
	"html"
	"slices"
	"strings"
	"unicode"

	"sigs.k8s.io/cutbot"
)

// Access says who may run a command.
type Access int

// Who may run a command.
const (
	Anyone Access = iota
	ReleaseManagers
)

// Flag is one --flag of a command.
type Flag struct {
	Name     string // without dashes
	Value    string // placeholder for its value, e.g. "TYPE"; "" for a switch
	Help     string
	Required bool
}

// Arg is one positional argument of a command.
type Arg struct {
	Name     string // placeholder, e.g. "VERSION"
	Required bool
}

// Command is one /release subcommand: its name, arguments, flags, help, and who may run it.
// The parser, the authorization check and /release help all read this one table.
type Command struct {
	Name     string
	Summary  string
	Args     []Arg
	Flags    []Flag
	Examples []string
	Access   Access
	// WhoNote qualifies Access in help, e.g. that --dry-run is open to anyone.
	WhoNote string
	// ReadOnlyIf, if set, says which invocations change nothing and are open to anyone.
	ReadOnlyIf func(Invocation) bool

	run func(h *Handlers, x *execution) (Reply, error)
}

// Usage is the command's synopsis, e.g. `cut VERSION [--type TYPE] [--dry-run]`.
func (c *Command) Usage() string {
	parts := []string{c.Name}
	for _, a := range c.Args {
		if a.Required {
			parts = append(parts, a.Name)
		} else {
			parts = append(parts, "["+a.Name+"]")
		}
	}
	for _, f := range c.Flags {
		s := "--" + f.Name
		if f.Value != "" {
			s += " " + f.Value
		}
		if !f.Required {
			s = "[" + s + "]"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// WhoCanUse says in words who may run the command.
func (c *Command) WhoCanUse() string {
	s := "anyone"
	if c.Access == ReleaseManagers {
		s = "release managers"
	}
	if c.WhoNote != "" {
		s += " (" + c.WhoNote + ")"
	}
	return s
}

func (c *Command) flag(name string) *Flag {
	for i := range c.Flags {
		if c.Flags[i].Name == name {
			return &c.Flags[i]
		}
	}
	return nil
}

// Invocation is a parsed /release command line.
type Invocation struct {
	Command *Command
	Args    []string
	Flags   map[string]string // switches map to "true"
}

// Has reports whether the flag was given.
func (inv Invocation) Has(flag string) bool { _, ok := inv.Flags[flag]; return ok }

// Arg returns the i-th positional argument, or "".
func (inv Invocation) Arg(i int) string {
	if i < len(inv.Args) {
		return inv.Args[i]
	}
	return ""
}

// ReadOnly reports whether this invocation changes nothing: the command is open to anyone,
// or it is a --dry-run.
func (inv Invocation) ReadOnly() bool {
	return inv.Command.Access == Anyone || inv.Has("dry-run") || (inv.Command.ReadOnlyIf != nil && inv.Command.ReadOnlyIf(inv))
}

// Key is the lane the invocation runs on: the version of the cut it acts on, or the branch
// whose freeze it acts on. Everything about one cut (or one branch's freeze) runs on its
// lane, one at a time, in the order it arrived; "" runs at once.
func (inv Invocation) Key() string {
	if inv.Command == nil || len(inv.Command.Args) == 0 || inv.Arg(0) == "" {
		return ""
	}
	switch inv.Command.Args[0].Name {
	case "VERSION":
		return inv.Arg(0)
	case "BRANCH":
		return freezeLane(inv.Arg(0))
	}
	return ""
}

// freezeLane is the lane of a branch's cherry-pick freezes.
func freezeLane(branch string) string { return "freeze:" + branch }

// Commands is the command table, in the order help lists it.
var Commands []*Command

func init() {
	Commands = []*Command{
		{
			Name:    "cut",
			Summary: "Open a release cut: the thread in the release channel with its plan of stages.",
			Args:    []Arg{{Name: "VERSION", Required: true}},
			Flags: []Flag{
				{Name: "type", Value: "TYPE", Help: "alpha, beta, rc or official; inferred from VERSION, and must agree with it"},
				{Name: "branch", Value: "BRANCH", Help: "master, release-X.Y or a hotfix branch release-X.Y.Z; inferred from VERSION (alpha and beta: master, rc and official: release-X.Y)"},
				{Name: "hotfix", Help: "a hotfix of a patch release: cut vX.Y.Z+1 from the branch release-X.Y.Z made from the tag vX.Y.Z (cutbot offers to create it), leaving out what merged on release-X.Y since"},
				{Name: "embargo", Value: `"CVE-…"`, Help: "an embargoed security release: the cut lives in the private channel, nothing about it is public until `/release lift`"},
				{Name: "k8s-org", Value: "ORG", Help: "build Kubernetes from this GitHub org (krel's _K8S_ORG), e.g. a private security fork"},
				{Name: "k8s-repo", Value: "REPO", Help: "… this repository (_K8S_REPO)"},
				{Name: "k8s-ref", Value: "REF", Help: "… at this ref (_K8S_REF)"},
				{Name: "no-mock-run", Help: "skip the mock stage and mock release"},
				{Name: "mock-run", Help: "run the mock stage and mock release on a patch cut although CUTBOT_PATCH_MOCK_RUN=off"},
				{Name: "no-start", Help: "no autopilot for this cut: start every stage by hand"},
				{Name: "issue", Value: "NUMBER", Help: "track the cut in this existing issue of the issue repository instead of opening one"},
				{Name: "force", Value: `"REASON"`, Help: "cut a version that is not the one krel builds next from its branch (or when GitHub cannot be asked), or a patch less than two weeks after the branch's last release; the reason is recorded"},
				{Name: "dry-run", Help: "show the plan and change nothing"},
			},
			Examples: []string{"/release cut v1.31.3", "/release cut v1.32.0-rc.1 --dry-run", "/release cut v1.32.0-beta.1 --branch release-1.32", "/release cut v1.31.3 --no-mock-run", "/release cut v1.36.0-rc.1 --issue 2995", "/release cut v1.31.4 --hotfix", `/release cut v1.31.5 --embargo "CVE-2026-1234" --k8s-org kubernetes-security`},
			Access:   ReleaseManagers,
			WhoNote:  "--dry-run: anyone",
			run:      (*Handlers).cut,
		},
		{
			Name:     "status",
			Summary:  "List the active cuts, or show one cut's stages.",
			Args:     []Arg{{Name: "VERSION"}},
			Examples: []string{"/release status", "/release status v1.31.3"},
			Access:   Anyone,
			run:      (*Handlers).status,
		},
		{
			Name:    "next",
			Summary: "Start the next stage of a cut on Cloud Build, or the stage named. No-mock stages ask their requester to confirm first.",
			Args:    []Arg{{Name: "VERSION", Required: true}, {Name: "STAGE"}},
			Flags: []Flag{{Name: "force", Value: `"REASON"`, Help: "start it although earlier stages have not succeeded; the reason is recorded and shown in the thread"},
				{Name: "build-version", Value: "VERSION", Help: "for a stage: build from this build version (as krel's --build-version) instead of the branch's latest CI build, e.g. for a hotfix branch, which has none"}},
			Examples: []string{"/release next v1.31.3", "/release next v1.31.3 nomock-release --force \"images promoted in kubernetes/k8s.io#9340\"", "/release next v1.31.4 --build-version v1.31.4-rc.0.3+8f0c0a4d"},
			Access:   ReleaseManagers,
			run:      (*Handlers).next,
		},
		{
			Name:     "retry",
			Summary:  "Run a failed or cancelled stage again, as a new attempt; the thread keeps the old attempt's link.",
			Args:     []Arg{{Name: "VERSION", Required: true}},
			Flags:    []Flag{{Name: "force", Value: `"REASON"`, Help: "as for next"}},
			Examples: []string{"/release retry v1.31.3"},
			Access:   ReleaseManagers,
			run:      (*Handlers).retry,
		},
		{
			Name:     "cancel",
			Summary:  "Cancel the build running for a cut (Cloud Build CancelBuild), or withdraw a confirmation request.",
			Args:     []Arg{{Name: "VERSION", Required: true}},
			Examples: []string{"/release cancel v1.31.3"},
			Access:   ReleaseManagers,
			run:      (*Handlers).cancel,
		},
		{
			Name:     "gates",
			Summary:  "Check the gates of the no-mock stage again: the publishing-bot issue is closed, the branch's release-blocking testgrid dashboard has no failing job.",
			Args:     []Arg{{Name: "VERSION", Required: true}},
			Examples: []string{"/release gates v1.31.3"},
			Access:   ReleaseManagers,
			run:      (*Handlers).gates,
		},
		{
			Name:     "promotion",
			Summary:  "Name the image-promotion PR of a cut, when cutbot did not find it by kpromo's title.",
			Args:     []Arg{{Name: "VERSION", Required: true}, {Name: "PR-URL", Required: true}},
			Flags:    []Flag{{Name: "force", Value: `"REASON"`, Help: "as for next, if the no-mock stage has not succeeded"}},
			Examples: []string{"/release promotion v1.31.3 https://github.com/kubernetes/k8s.io/pull/9340"},
			Access:   ReleaseManagers,
			run:      (*Handlers).promotion,
		},
		{
			Name:     "announce",
			Summary:  "Record the link of the release announcement (the kubernetes-dev mail); the \"is live\" message and the cut issue show it.",
			Args:     []Arg{{Name: "VERSION", Required: true}, {Name: "URL", Required: true}},
			Examples: []string{"/release announce v1.31.3 https://groups.google.com/a/kubernetes.io/g/dev/c/E14i6e2ndNc"},
			Access:   ReleaseManagers,
			run:      (*Handlers).announce,
		},
		{
			Name:     "schedule",
			Summary:  "Show what is coming in the release calendar: patch releases with their cherry-pick deadlines and target dates, branches entering maintenance mode or end of life, freezes and deadlines of the release cycle.",
			Args:     []Arg{{Name: "WEEKS"}},
			Examples: []string{"/release schedule", "/release schedule 10"},
			Access:   Anyone,
			run:      (*Handlers).schedule,
		},
		{
			Name:     "reminders",
			Summary:  "List the reminders cutbot will post, with their ids and times; mute or unmute one.",
			Args:     []Arg{{Name: "mute|unmute"}, {Name: "ID"}},
			Examples: []string{"/release reminders", "/release reminders mute cpd-20241011-3d"},
			Access:   ReleaseManagers,
			WhoNote:  "listing: anyone",
			ReadOnlyIf: func(inv Invocation) bool {
				return inv.Arg(0) == ""
			},
			run: (*Handlers).reminders,
		},
		{
			Name:    "freeze",
			Summary: "Freeze cherry-picks on a release branch: preview, then, once you confirm, take cherry-pick-approved off its open PRs that are not ready to merge, with a comment on each.",
			Args:    []Arg{{Name: "BRANCH", Required: true}},
			Flags: []Flag{
				{Name: "reason", Value: `"REASON"`, Help: "why, e.g. the cut it is for; shown on each PR", Required: true},
				{Name: "dry-run", Help: "only show which PRs would lose the label, and why"},
				{Name: "no-thaw", Help: "keep the branch frozen after its cut is live (with autopilot on, it thaws by itself then)"},
			},
			Examples: []string{`/release freeze release-1.31 --reason "v1.31.4 cut"`, `/release freeze release-1.31 --reason "v1.31.4 cut" --dry-run`, `/release freeze release-1.31 --reason "v1.31.4 cut" --no-thaw`},
			Access:   ReleaseManagers,
			WhoNote:  "--dry-run: anyone",
			run:      (*Handlers).freeze,
		},
		{
			Name:     "thaw",
			Summary:  "End a branch's cherry-pick freeze: put cherry-pick-approved back on exactly the PRs it took it from that are still open.",
			Args:     []Arg{{Name: "BRANCH", Required: true}},
			Examples: []string{"/release thaw release-1.31"},
			Access:   ReleaseManagers,
			run:      (*Handlers).thaw,
		},
		{
			Name:     "log",
			Summary:  "Show a cut's timeline: every command, confirmation, force and its reason, gate result, build and its result, PR fact and post, with who, when, and where it happened.",
			Args:     []Arg{{Name: "VERSION", Required: true}, {Name: "PAGE"}},
			Examples: []string{"/release log v1.31.3", "/release log v1.31.3 2"},
			Access:   Anyone,
			run:      (*Handlers).timeline,
		},
		{
			Name:    "picks",
			Summary: "Show the patch-release board: each branch's cherry-picks by patch release, with parents, kind, SIGs, release note, what the approval plugin still wants, disposition, the team's notes, and the same change on other branches.",
			Args:    []Arg{{Name: "BRANCH"}},
			Flags: []Flag{
				{Name: "changes", Help: "also list what changed since you last looked"},
				{Name: "refresh", Help: "read GitHub now rather than the last read (it is read every few minutes)"},
			},
			Examples: []string{"/release picks", "/release picks release-1.31", "/release picks release-1.31 --changes"},
			Access:   Anyone,
			WhoNote:  "rows marked CVE: release managers only",
			run:      (*Handlers).picks,
		},
		{
			Name:     "known-issues",
			Summary:  "List a branch's known issues (issues in the patch-release format, with introduced-in= and resolved-in= lines): what is broken, and what the next patch release resolves.",
			Args:     []Arg{{Name: "BRANCH", Required: true}},
			Examples: []string{"/release known-issues release-1.31"},
			Access:   Anyone,
			run:      (*Handlers).knownIssues,
		},
		{
			Name:     "lift",
			Summary:  "Lift the embargo of a security release once the Security Response Committee says so: the cut's public thread appears in the release channel with its history, and what waited (\"is live\", public comments) goes out.",
			Args:     []Arg{{Name: "VERSION", Required: true}},
			Examples: []string{"/release lift v1.31.5"},
			Access:   ReleaseManagers,
			run:      (*Handlers).lift,
		},
		{
			Name:     "abort",
			Summary:  "End a cut. It stays in the record with the reason.",
			Args:     []Arg{{Name: "VERSION", Required: true}},
			Flags:    []Flag{{Name: "reason", Value: `"REASON"`, Help: "why the cut ends, recorded and shown in the thread", Required: true}},
			Examples: []string{`/release abort v1.31.3 --reason "regression in kube-proxy, see #128000"`},
			Access:   ReleaseManagers,
			run:      (*Handlers).abort,
		},
		{
			Name:     "help",
			Summary:  "Show the commands, or one command in detail.",
			Args:     []Arg{{Name: "COMMAND"}},
			Examples: []string{"/release help", "/release help cut"},
			Access:   Anyone,
			run:      (*Handlers).help,
		},
	}
}

// Lookup returns the command with this name, or nil.
func Lookup(name string) *Command {
	for _, c := range Commands {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// ParseError is a malformed command line: what was wrong, and the usage that would be right.
type ParseError struct {
	Message string
	Command *Command // the command the line was for, if known, to show its usage
}

func (e *ParseError) Error() string { return e.Message }

// Parse parses the text of a /release command (everything after "/release").
func Parse(text string) (Invocation, error) {
	words, err := split(text)
	if err != nil {
		return Invocation{}, &ParseError{Message: err.Error()}
	}
	if len(words) == 0 {
		return Invocation{Command: Lookup("help")}, nil
	}
	name := strings.ToLower(words[0])
	cmd := Lookup(name)
	if cmd == nil {
		msg := fmt.Sprintf("Unknown command %q.", words[0])
		if s := suggest(name); s != "" {
			msg += fmt.Sprintf(" Did you mean `%s`?", s)
		}
		msg += " Commands: " + commandNames() + ". Try `/release help`."
		return Invocation{}, &ParseError{Message: msg}
	}
	inv := Invocation{Command: cmd, Flags: map[string]string{}}
	fail := func(format string, args ...any) (Invocation, error) {
		return Invocation{}, &ParseError{Message: fmt.Sprintf(format, args...), Command: cmd}
	}
	for i := 1; i < len(words); i++ {
		w := words[i]
		if !strings.HasPrefix(w, "--") && !isDashFlag(w) {
			if len(inv.Args) >= len(cmd.Args) {
				if len(cmd.Args) == 0 {
					return fail("`%s` takes no arguments; unexpected %q.", cmd.Name, w)
				}
				return fail("`%s` takes at most %d argument(s); unexpected %q.", cmd.Name, len(cmd.Args), w)
			}
			inv.Args = append(inv.Args, w)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(w, "-—–"), "=")
		f := cmd.flag(name)
		if f == nil {
			return fail("Unknown flag %q for `%s`. %s", "--"+name, cmd.Name, flagList(cmd))
		}
		if _, dup := inv.Flags[name]; dup {
			return fail("--%s is given twice.", name)
		}
		if f.Value == "" {
			if hasValue {
				return fail("--%s is a switch and takes no value; write just --%s.", name, name)
			}
			inv.Flags[name] = "true"
			continue
		}
		if !hasValue {
			if i+1 >= len(words) || strings.HasPrefix(words[i+1], "--") {
				return fail("--%s needs a value: --%s %s.", name, name, f.Value)
			}
			i++
			value = words[i]
		}
		if strings.TrimSpace(value) == "" {
			return fail("--%s needs a value: --%s %s.", name, name, f.Value)
		}
		inv.Flags[name] = value
	}
	for i, a := range cmd.Args {
		if a.Required && i >= len(inv.Args) {
			return fail("`%s` needs %s.", cmd.Name, a.Name)
		}
	}
	for _, f := range cmd.Flags {
		if f.Required && !inv.Has(f.Name) {
			return fail("`%s` needs --%s %s: %s.", cmd.Name, f.Name, f.Value, f.Help)
		}
	}
	return inv, nil
}

// isDashFlag catches flags whose dashes a Slack client turned into a dash character:
// "—dry-run" (em dash) or "–dry-run" (en dash).
func isDashFlag(w string) bool {
	return strings.HasPrefix(w, "—") || strings.HasPrefix(w, "–")
}

func flagList(cmd *Command) string {
	if len(cmd.Flags) == 0 {
		return fmt.Sprintf("`%s` takes no flags.", cmd.Name)
	}
	names := make([]string, len(cmd.Flags))
	for i, f := range cmd.Flags {
		names[i] = "--" + f.Name
	}
	return fmt.Sprintf("`%s` takes %s.", cmd.Name, strings.Join(names, ", "))
}

func commandNames() string {
	names := make([]string, len(Commands))
	for i, c := range Commands {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// split breaks a command line into words. Slack escapes &, < and > and some clients turn
// straight quotes into curly ones, so both are undone; a quote opens a quoted word only at
// the start of a word (or after "="), so "don't" stays one word.
func split(text string) ([]string, error) {
	text = html.UnescapeString(text)
	var (
		words []string
		cur   strings.Builder
		in    bool // inside a word
		quote rune // the closing quote we wait for, or 0
	)
	closing := map[rune][]rune{'"': {'"', '”', '“'}, '“': {'”', '"', '“'}, '”': {'”', '"'}, '\'': {'\'', '’'}, '‘': {'’', '\''}}
	runes := []rune(text)
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		switch {
		case quote != 0:
			if slices.Contains(closing[quote], r) {
				quote = 0
				continue
			}
			cur.WriteRune(r)
		case unicode.IsSpace(r):
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case closing[r] != nil && (!in || strings.HasSuffix(cur.String(), "=")):
			quote, in = r, true
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("Unterminated quote: a %c was opened but never closed.", quote)
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}

// suggest returns the command name closest to a mistyped one, if any is close.
func suggest(name string) string {
	best, bestD := "", 3
	for _, c := range Commands {
		if d := distance(name, c.Name); d < bestD {
			best, bestD = c.Name, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// versionArg parses the VERSION argument.
func versionArg(inv Invocation) (cutbot.Version, error) {
	return cutbot.ParseVersion(inv.Arg(0))
}
