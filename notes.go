package cutbot

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// A release-notes preview of a patch release, read as the release-notes tool reads them: the
// ```release-note block of each cherry-pick merged on the branch since the last release (an
// automated cherry-pick without one takes its parents'), grouped by kind. It is a draft, for
// the playbook's "announce the plan several working days in advance, including a release
// notes preview"; the release's own notes still come from the tool.

var reNoteBlock = regexp.MustCompile("(?s)```release-note[ \t]*\r?\n(.*?)\r?\n?```")

// ReleaseNoteOf reads a PR body's release note. found is false when the body has no
// release-note block; a block saying NONE is found, with no note.
func ReleaseNoteOf(body string) (note string, found bool) {
	m := reNoteBlock.FindStringSubmatch(body)
	if m == nil {
		return "", false
	}
	note = strings.TrimSpace(strings.ReplaceAll(m[1], "\r\n", "\n"))
	switch strings.ToUpper(strings.Trim(note, " .\"'`")) {
	case "NONE", "N/A", "NA", "":
		return "", true
	}
	return note, true
}

// NoteKinds are the release notes' sections, in the order the release-notes tool writes them,
// with the kind/* labels of each.
var NoteKinds = []struct {
	Title  string
	Labels []string
}{
	{"API Change", []string{"kind/api-change"}},
	{"Feature", []string{"kind/feature"}},
	{"Documentation", []string{"kind/documentation"}},
	{"Failing Test", []string{"kind/failing-test"}},
	{"Bug or Regression", []string{"kind/bug", "kind/regression"}},
	{"Other (Cleanup or Flake)", []string{"kind/cleanup", "kind/flake", "kind/deprecation"}},
	{"Uncategorized", nil},
}

// NoteItem is one cherry-pick's release note.
type NoteItem struct {
	PR         int
	URL        string
	Title      string
	Kind       string // a NoteKinds title
	Note       string
	FromParent int // the parent PR the note was taken from, if not the pick itself
}

// NotesDraft is the release-notes preview of a cut.
type NotesDraft struct {
	Branch  string
	Since   time.Time // merged after this (the last release)
	SinceOf string    // what Since is, e.g. "v1.31.3 (2026-11-12)"
	Items   []NoteItem
	Without []int // cherry-picks with no release note (NONE, or no block anywhere)
}

// NoteGroup is one section of the draft.
type NoteGroup struct {
	Kind  string
	Items []NoteItem
}

// Groups are the draft's notes by kind, in the release-notes tool's order.
func (d NotesDraft) Groups() []NoteGroup {
	var out []NoteGroup
	for _, k := range NoteKinds {
		var items []NoteItem
		for _, it := range d.Items {
			if it.Kind == k.Title {
				items = append(items, it)
			}
		}
		if len(items) > 0 {
			out = append(out, NoteGroup{Kind: k.Title, Items: items})
		}
	}
	return out
}

func noteKind(labels []string) string {
	for _, k := range NoteKinds {
		for _, l := range k.Labels {
			if slices.Contains(labels, l) {
				return k.Title
			}
		}
	}
	return "Uncategorized"
}

// DraftNotes reads the notes of the cherry-picks merged on branch after since. parentBody
// gives a parent PR's body, for the automated cherry-picks that carry no block of their own.
func DraftNotes(branch string, since time.Time, sinceOf string, picks []CherryPick, parentBody func(n int) (string, bool)) NotesDraft {
	d := NotesDraft{Branch: branch, Since: since, SinceOf: sinceOf}
	picks = slices.Clone(picks)
	slices.SortFunc(picks, func(a, b CherryPick) int { return a.ClosedAt.Compare(b.ClosedAt) })
	for _, p := range picks {
		if p.Branch != branch || p.State != PickMerged || !p.ClosedAt.After(since) {
			continue
		}
		note, found := ReleaseNoteOf(p.Body)
		from := 0
		if !found { // an automated cherry-pick without a block: its parents' notes
			parents, _ := p.Parents()
			var notes []string
			for _, n := range parents {
				if body, ok := parentBody(n); ok {
					if pn, ok := ReleaseNoteOf(body); ok && pn != "" {
						notes, from = append(notes, pn), n
					}
				}
			}
			note = strings.Join(notes, "\n")
		}
		if note == "" {
			d.Without = append(d.Without, p.Number)
			continue
		}
		d.Items = append(d.Items, NoteItem{PR: p.Number, URL: p.URL, Title: p.Title, Kind: noteKind(p.Labels), Note: note, FromParent: from})
	}
	return d
}

// Summary reads "3 cherry-picks merged on `release-1.31` since v1.31.2 (2026-11-12) have a
// release note; 1 has none".
func (d NotesDraft) Summary() string {
	picks, have := "cherry-picks", "have"
	if len(d.Items) == 1 {
		picks, have = "cherry-pick", "has"
	}
	out := fmt.Sprintf("%d %s merged on `%s` since %s %s a release note", len(d.Items), picks, d.Branch, d.SinceOf, have)
	switch len(d.Without) {
	case 0:
	case 1:
		out += "; 1 has none"
	default:
		out += fmt.Sprintf("; %d have none", len(d.Without))
	}
	return out
}

// Markdown is the draft as the cut issue keeps it.
func (d NotesDraft) Markdown(v Version) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Draft of the release notes of %s: %s.\n", v, d.Summary())
	for _, g := range d.Groups() {
		fmt.Fprintf(&b, "\n### %s\n\n", g.Kind)
		for _, it := range g.Items {
			note := strings.ReplaceAll(it.Note, "\n", " ")
			fmt.Fprintf(&b, "- %s (#%d", note, it.PR)
			if it.FromParent != 0 {
				fmt.Fprintf(&b, ", from #%d", it.FromParent)
			}
			b.WriteString(")\n")
		}
	}
	return b.String()
}

// DraftReleaseNotes reads the release-notes preview of a patch cut (from GitHub).
type DraftReleaseNotes struct{}

func (DraftReleaseNotes) Key() string { return "notes" }
func (DraftReleaseNotes) String() string {
	return "draft the release notes from the merged cherry-picks"
}
func (DraftReleaseNotes) isEffect() {}

// MessageNotes is the thread reply with the release-notes draft.
const MessageNotes = "notes"

// NotesRequested asks for a release-notes preview when a patch cut opens.
type NotesRequested struct{}

func (NotesRequested) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	if !c.Spec.Version.IsPatch() {
		return nil, c.refuse("release-notes previews are for patch releases")
	}
	c.intend(DraftReleaseNotes{})
	return nil, nil
}

// NotesDrafted records the release-notes preview and posts it in the thread.
type NotesDrafted struct{ Draft NotesDraft }

func (e NotesDrafted) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	d := e.Draft
	c.Notes = &d
	c.done(DraftReleaseNotes{}.Key())
	if _, posted := c.Messages[MessageNotes]; !posted {
		c.intend(PostMessage{Message: MessageNotes})
	}
	return &AuditEntry{Action: "notes.drafted", Detail: fmt.Sprintf("%d cherry-picks merged on %s since %s: %d with a release note, %d without", len(d.Items)+len(d.Without), d.Branch, d.SinceOf, len(d.Items), len(d.Without))}, nil
}
