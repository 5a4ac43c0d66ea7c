package cutbot

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata golden files")

// recordedPicks are krel's recorded release-1.25 cherry-picks (testdata/release-notes), as
// the board reads merged ones.
func recordedPicks(t *testing.T) []CherryPick {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "release-notes", "krel-recorded-pulls-v1.25.3.json"))
	if err != nil {
		t.Fatal(err)
	}
	var prs []struct {
		Number   int       `json:"number"`
		Title    string    `json:"title"`
		Head     string    `json:"head"`
		Base     string    `json:"base"`
		User     string    `json:"user"`
		MergedAt time.Time `json:"merged_at"`
		Labels   []string  `json:"labels"`
		Body     string    `json:"body"`
	}
	if err := json.Unmarshal(raw, &prs); err != nil {
		t.Fatal(err)
	}
	var out []CherryPick
	for _, p := range prs {
		out = append(out, CherryPick{Repo: "kubernetes/kubernetes", Number: p.Number, URL: "https://github.com/kubernetes/kubernetes/pull/" + strconv.Itoa(p.Number), Title: p.Title,
			Branch: p.Base, HeadRef: p.Head, Author: p.User, Body: p.Body, Labels: p.Labels, State: PickMerged, ClosedAt: p.MergedAt})
	}
	return out
}

// TestNotesPreviewOnRecordedPicks drafts the release notes of v1.25.3 as cutbot would on its
// cut day (2022-10-12) from the cherry-picks krel recorded: merged on release-1.25 since
// v1.25.2 (2022-09-21), each note from its release-note block, grouped by kind (golden). Over
// the whole recording, the one automated pick without a block takes its parent's note.
func TestNotesPreviewOnRecordedPicks(t *testing.T) {
	all := recordedPicks(t)
	cutDay := time.Date(2022, 10, 12, 0, 0, 0, 0, time.UTC)
	var merged []CherryPick
	for _, p := range all {
		if p.ClosedAt.Before(cutDay) {
			merged = append(merged, p)
		}
	}
	since := time.Date(2022, 9, 21, 23, 59, 59, 0, time.UTC)
	noParent := func(int) (string, bool) { return "", false }
	d := DraftNotes("release-1.25", since, "v1.25.2 (2022-09-21)", merged, noParent)
	if len(d.Items)+len(d.Without) != len(merged) || len(d.Items) == 0 {
		t.Fatalf("%d notes and %d without, of %d merged", len(d.Items), len(d.Without), len(merged))
	}
	got := d.Markdown(MustParseVersion("v1.25.3"))
	path := filepath.Join("testdata", "release-notes", "v1.25.3-notes.golden.md")
	if *updateGolden {
		os.WriteFile(path, []byte(got), 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (rerun with -update)", err)
	}
	if got != string(want) {
		t.Errorf("the notes draft differs from %s:\n%s", path, got)
	}

	parent := func(n int) (string, bool) {
		if n == 117791 {
			return "Fixes the CA.\r\n\r\n```release-note\r\nkubeadm: use a valid non-zero serial number for the CA certificate\r\n```\r\n", true
		}
		return "", false
	}
	full := DraftNotes("release-1.25", since, "v1.25.2", all, parent)
	var fromParent []NoteItem
	for _, it := range full.Items {
		if it.FromParent != 0 {
			fromParent = append(fromParent, it)
		}
	}
	if len(fromParent) != 1 || fromParent[0].PR != 118972 || fromParent[0].FromParent != 117791 || !strings.Contains(fromParent[0].Note, "valid non-zero serial number") {
		t.Errorf("notes from parents: %+v", fromParent)
	}
}

func TestReleaseNoteOf(t *testing.T) {
	for body, want := range map[string]string{
		"x\r\n```release-note\r\nFixed a bug.\r\n```\r\n": "Fixed a bug.",
		"```release-note\nNONE\n```":                      "",
		"```release-note\n\n```":                          "",
		"no block":                                        "",
	} {
		if got, _ := ReleaseNoteOf(body); got != want {
			t.Errorf("ReleaseNoteOf(%q) = %q, want %q", body, got, want)
		}
	}
	if _, found := ReleaseNoteOf("```release-note\nNONE\n```"); !found {
		t.Error("a NONE block is not found")
	}
}
