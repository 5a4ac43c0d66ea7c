package schedule

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/integrations/github"
)

// What schedule-builder (kubernetes/release cmd/schedule-builder) does to kubernetes/website's
// data/releases/schedule.yaml once a patch release is out: the released patch moves to the
// front of its branch's previousPatches, with the day it came out; next becomes the
// following patch, on the first upcoming release date after it; upcoming dates already past
// are dropped. The file is written as schedule-builder writes it (keys in order, its header
// comment kept), so that the PR's diff is only the change.

type sbPatch struct {
	CherryPickDeadline string `json:"cherryPickDeadline,omitempty"`
	Note               string `json:"note,omitempty"`
	Release            string `json:"release,omitempty"`
	TargetDate         string `json:"targetDate,omitempty"`
}

type sbBranch struct {
	EndOfLifeDate            string     `json:"endOfLifeDate,omitempty"`
	MaintenanceModeStartDate string     `json:"maintenanceModeStartDate,omitempty"`
	Next                     *sbPatch   `json:"next,omitempty"`
	PreviousPatches          []*sbPatch `json:"previousPatches,omitempty"`
	Release                  string     `json:"release,omitempty"`
	ReleaseDate              string     `json:"releaseDate,omitempty"`
}

type sbFile struct {
	Schedules        []*sbBranch `json:"schedules,omitempty"`
	UpcomingReleases []*sbPatch  `json:"upcoming_releases,omitempty"`
}

// Advance records in a schedule.yaml that v came out on day. It returns the new file and what
// changed, in words; changed is false when the file already has v among the past patches.
func Advance(data []byte, v cutbot.Version, day cutbot.Day) (out []byte, summary string, changed bool, err error) {
	header, body := splitHeader(data)
	var s sbFile
	if err := yaml.UnmarshalStrict(body, &s); err != nil {
		return nil, "", false, fmt.Errorf("schedule.yaml: %w", err)
	}
	minor := fmt.Sprintf("%d.%d", v.Major, v.Minor)
	release := strings.TrimPrefix(v.String(), "v")
	var b *sbBranch
	for _, sc := range s.Schedules {
		if sc.Release == minor {
			b = sc
		}
	}
	if b == nil {
		return nil, "", false, cutbot.Errorf(cutbot.ENOTFOUND, "schedule.yaml has no schedule for %s", minor)
	}
	for _, p := range b.PreviousPatches {
		if p.Release == release {
			return data, release + " is already among the past patches of " + minor, false, nil
		}
	}
	if b.Next == nil || b.Next.Release != release {
		next := "none"
		if b.Next != nil {
			next = b.Next.Release
		}
		return nil, "", false, cutbot.Errorf(cutbot.EINVALID, "schedule.yaml's next patch of %s is %s, not %s: update it by hand", minor, next, release)
	}
	done := *b.Next
	planned := done.TargetDate
	done.TargetDate = day.String()
	b.PreviousPatches = append([]*sbPatch{&done}, b.PreviousPatches...)
	following := &sbPatch{Release: fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch+1)}
	for _, u := range s.UpcomingReleases {
		if u.TargetDate > day.String() {
			following.CherryPickDeadline, following.TargetDate = u.CherryPickDeadline, u.TargetDate
			break
		}
	}
	b.Next = following
	var upcoming []*sbPatch
	for _, u := range s.UpcomingReleases {
		if u.TargetDate >= day.String() {
			upcoming = append(upcoming, u)
		}
	}
	s.UpcomingReleases = upcoming
	rendered, err := yaml.Marshal(s)
	if err != nil {
		return nil, "", false, err
	}
	summary = fmt.Sprintf("%s came out on %s", release, day)
	if planned != "" && planned != day.String() {
		summary += fmt.Sprintf(" (planned for %s)", planned)
	}
	summary += "; next for " + minor + " is " + following.Release
	if following.TargetDate != "" {
		summary += fmt.Sprintf(" (cherry-pick deadline %s, target %s)", following.CherryPickDeadline, following.TargetDate)
	} else {
		summary += " (no upcoming release date in the file: add one)"
	}
	return append(header, rendered...), summary, true, nil
}

// splitHeader parts the file's leading comment lines (and "---") from its YAML.
func splitHeader(data []byte) (header, body []byte) {
	rest := data
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] != '#' && !bytes.Equal(t, []byte("---")) {
			break
		}
		rest = rest[len(line):]
	}
	return data[:len(data)-len(rest)], rest
}

// ScheduleGitHub is what opening the schedule's PR needs of GitHub.
type ScheduleGitHub interface {
	FileContent(ctx context.Context, repo, path, ref string) (string, error)
	FindPullRequest(ctx context.Context, repo, head string) (cutbot.PullRequest, bool, error)
	ProposeFile(ctx context.Context, p github.FileProposal) (cutbot.PullRequest, error)
}

// DefaultSchedulePath is schedule.yaml's place in kubernetes/website.
const DefaultSchedulePath = "data/releases/schedule.yaml"

// Updater opens the schedule.yaml PR schedule-builder's user would open. It implements
// cutbot.ScheduleUpdater.
type Updater struct {
	GitHub ScheduleGitHub
	Repo   string // kubernetes/website
	Base   string // main
	Fork   string // owner/website
	Path   string // DefaultSchedulePath
}

var _ cutbot.ScheduleUpdater = (*Updater)(nil)

// proposal is the PR of v's schedule update.
func (u *Updater) proposal(v cutbot.Version) github.FileProposal {
	return github.FileProposal{Repo: u.Repo, Base: u.Base, Fork: u.Fork, Branch: "cutbot-schedule-" + v.String(), Path: u.Path,
		Title: fmt.Sprintf("Update the patch release schedule: %s is out", strings.TrimPrefix(v.String(), "v"))}
}

// Find looks for the PR an earlier Open made, by its head branch.
func (u *Updater) Find(ctx context.Context, v cutbot.Version) (cutbot.PullRequest, bool, error) {
	return u.GitHub.FindPullRequest(ctx, u.Repo, u.proposal(v).Head())
}

// Open proposes the schedule after v came out on day. It returns no PR (ok false) when the
// file has it already.
func (u *Updater) Open(ctx context.Context, v cutbot.Version, day cutbot.Day) (cutbot.PullRequest, bool, error) {
	current, err := u.GitHub.FileContent(ctx, u.Repo, u.Path, u.Base)
	if err != nil {
		return cutbot.PullRequest{}, false, fmt.Errorf("read %s of %s: %w", u.Path, u.Repo, err)
	}
	out, summary, changed, err := Advance([]byte(current), v, day)
	if err != nil || !changed {
		return cutbot.PullRequest{}, false, err
	}
	p := u.proposal(v)
	p.Content = string(out)
	p.Body = fmt.Sprintf("%s.\n\nWhat `schedule-builder -uc %s` does after a patch release, opened by cutbot: the released patch moves to `previousPatches` with its date, `next` advances to the following patch on the next upcoming date, and past upcoming dates are dropped.\n\n/kind cleanup\n/sig release\n", summary, u.Path)
	pr, err := u.GitHub.ProposeFile(ctx, p)
	return pr, err == nil, err
}
