package handlers

import (
	"fmt"
	"regexp"
	"strings"

	"sigs.k8s.io/cutbot"
)

// The parts of a cut issue's body that cutbot owns lie between these markers; everything else
// is the humans', and cutbot never changes it.
const (
	stepsBegin    = "<!-- cutbot:steps:begin (cutbot keeps this list up to date) -->"
	stepsEnd      = "<!-- cutbot:steps:end -->"
	historyBegin  = "<!-- cutbot:history:begin (cutbot keeps this table up to date) -->"
	historyEnd    = "<!-- cutbot:history:end -->"
	timelineBegin = "<!-- cutbot:timeline:begin (written by cutbot when the cut ends) -->"
	timelineEnd   = "<!-- cutbot:timeline:end -->"
	notesBegin    = "<!-- cutbot:notes:begin (a draft from the cherry-picks' release-note blocks; the release-notes tool writes the real ones) -->"
	notesEnd      = "<!-- cutbot:notes:end -->"
)

// IssueTemplate is kubernetes/sig-release's cut-release issue template.
type IssueTemplate struct {
	Title  string
	Labels []string
	Body   string
}

// ParseIssueTemplate reads a GitHub issue template: YAML-style front matter (name, about,
// title, labels) and the body.
func ParseIssueTemplate(md string) (IssueTemplate, error) {
	md = strings.ReplaceAll(md, "\r\n", "\n")
	rest, ok := strings.CutPrefix(md, "---\n")
	if !ok {
		return IssueTemplate{}, fmt.Errorf("issue template has no front matter")
	}
	front, body, ok := strings.Cut(rest, "\n---\n")
	if !ok {
		return IssueTemplate{}, fmt.Errorf("issue template's front matter is not closed")
	}
	t := IssueTemplate{Body: body}
	for _, line := range strings.Split(front, "\n") {
		k, v, _ := strings.Cut(line, ":")
		v = strings.Trim(strings.TrimSpace(v), `"'`)
		switch strings.TrimSpace(k) {
		case "title":
			t.Title = v
		case "labels":
			for _, l := range strings.Split(strings.Trim(v, "[]"), ",") {
				if l = strings.Trim(strings.TrimSpace(l), `"'`); l != "" {
					t.Labels = append(t.Labels, l)
				}
			}
		}
	}
	if !strings.Contains(t.Body, "## Release Steps") {
		return t, fmt.Errorf("issue template has no \"## Release Steps\" section")
	}
	return t, nil
}

// IssueTitle is the cut issue's title, as the template asks: "Cut v1.31.3 release".
func IssueTitle(v cutbot.Version) string { return "Cut " + v.String() + " release" }

// section returns the text of the "## heading" section (without the heading line), and where
// it starts and ends in body.
func section(body, heading string) (text string, start, end int, ok bool) {
	i := strings.Index(body, "\n"+heading)
	if i < 0 {
		if !strings.HasPrefix(body, heading) {
			return "", 0, 0, false
		}
		i = -1
	}
	start = i + 1 + len(heading)
	if nl := strings.IndexByte(body[start:], '\n'); nl >= 0 {
		start += nl + 1
	} else {
		start = len(body)
	}
	end = len(body)
	if j := strings.Index(body[start:], "\n## "); j >= 0 {
		end = start + j + 1
	}
	return body[start:end], start, end, true
}

// NewIssueBody fills the template for a new cut issue: the scheduled day, the Release Steps
// list and the Release Jobs History table (cutbot's parts, between markers), and the marker
// that finds the issue again after a crash.
func NewIssueBody(t IssueTemplate, c *cutbot.Cut) string {
	body := t.Body
	body = strings.Replace(body, "## Scheduled to happen: <!-- Tue, YYYY-MM-DD -->", "## Scheduled to happen: "+c.OpenedAt.Format("Mon, 2006-01-02"), 1)
	if note := kindNote(c); note != "" {
		body = note + "\n\n" + body
	}
	if text, start, end, ok := section(body, "## Release Steps"); ok {
		body = body[:start] + "\n" + stepsBegin + "\n" + renderSteps(text, c) + "\n" + stepsEnd + "\n\n" + body[end:]
	}
	if text, start, end, ok := section(body, "## Release Jobs History"); ok {
		body = body[:start] + "\n" + historyBegin + "\n" + renderHistory(text, c) + "\n" + historyEnd + "\n\n" + body[end:]
	}
	return strings.TrimRight(body, "\n") + "\n\n" + cutbot.IssueMarker(c.ID) + "\n"
}

// kindNote says, at the top of the issue, what kind of cut it is when it is not a plain one.
func kindNote(c *cutbot.Cut) string {
	var notes []string
	if c.Spec.Hotfix() {
		notes = append(notes, fmt.Sprintf("> **Hotfix release** from `%s`: %s.", c.Spec.Branch, c.Spec.Excludes()))
	}
	if c.Spec.Embargo != "" {
		notes = append(notes, fmt.Sprintf("> **Embargoed security release** (%s): nothing about it is public until a release manager lifts the embargo.", c.Spec.Embargo))
	}
	return strings.Join(notes, "\n>\n")
}

// UpdateIssueBody brings cutbot's parts of an issue body up to date and leaves the rest as
// it is. An issue without cutbot's markers (one a release manager linked) gets cutbot's
// parts appended at the end.
func UpdateIssueBody(current string, t IssueTemplate, c *cutbot.Cut) string {
	stepsTmpl, _, _, _ := section(t.Body, "## Release Steps")
	historyTmpl, _, _, _ := section(t.Body, "## Release Jobs History")
	body := current
	parts := []struct{ begin, end, heading, content string }{
		{stepsBegin, stepsEnd, "## Release Steps (kept by cutbot)", renderSteps(stepsTmpl, c)},
		{historyBegin, historyEnd, "## Release Jobs History (kept by cutbot)", renderHistory(historyTmpl, c)},
	}
	if c.Notes != nil {
		parts = append(parts, struct{ begin, end, heading, content string }{notesBegin, notesEnd, "## Release Notes (draft, kept by cutbot)", c.Notes.Markdown(c.Version())})
	}
	if c.Status != cutbot.CutActive {
		parts = append(parts, struct{ begin, end, heading, content string }{timelineBegin, timelineEnd, "## Timeline", renderTimeline(c)})
	}
	for _, part := range parts {
		i := strings.Index(body, part.begin)
		j := strings.Index(body, part.end)
		if i >= 0 && j > i {
			body = body[:i+len(part.begin)] + "\n" + part.content + "\n" + body[j:]
			continue
		}
		body = strings.TrimRight(body, "\n") + "\n\n" + part.heading + "\n\n" + part.begin + "\n" + part.content + "\n" + part.end + "\n"
	}
	return body
}

var (
	reItem    = regexp.MustCompile(`^(\s*)- \[[ xX]\] (.*)$`)
	reComment = regexp.MustCompile(`\s*<!--.*?-->`)
)

// renderSteps ticks the template's Release Steps items that the cut has done, with links.
func renderSteps(tmpl string, c *cutbot.Cut) string {
	lines := strings.Split(strings.Trim(tmpl, "\n"), "\n")
	var out []string
	group := ""
	inMockBlock := false
	for _, line := range lines {
		trimmed := strings.TrimSpace(line)
		// The template keeps the mock run commented out "for non-patch releases"; cutbot shows
		// it whenever the plan has the mock pair.
		if strings.HasPrefix(trimmed, "<!-- Uncomment for non-patch releases") && !c.Spec.NoMockRun {
			inMockBlock = true
			continue
		}
		if inMockBlock && trimmed == "-->" {
			inMockBlock = false
			continue
		}
		if strings.HasPrefix(trimmed, "- ") && !strings.HasPrefix(trimmed, "- [") {
			group = strings.ToLower(trimmed)
		}
		m := reItem.FindStringSubmatch(line)
		if m == nil {
			out = append(out, line)
			continue
		}
		done, link, note := itemState(c, group, m[2])
		text := m[2]
		if link != "" {
			if reComment.MatchString(text) {
				text = reComment.ReplaceAllString(text, " "+link)
			} else {
				text += " " + link
			}
		}
		if note != "" {
			text += " — " + note
		}
		box := "[ ]"
		if done {
			box = "[x]"
		}
		out = append(out, m[1]+"- "+box+" "+text)
	}
	return strings.Join(out, "\n")
}

// itemState says whether an item of the template's checklist is done, and the link and note
// to add, from the cut's state.
func itemState(c *cutbot.Cut, group, text string) (done bool, link, note string) {
	lower := strings.ToLower(text)
	if strings.Contains(lower, "schedule.yaml") && c.ScheduleURL != "" {
		return true, c.ScheduleURL, ""
	}
	succeeded := func(k cutbot.StageKind) bool {
		s := c.Stage(k)
		return s != nil && s.Status() == cutbot.StatusSucceeded
	}
	gate := func(name string) (bool, string) {
		if c.Gates == nil {
			return false, ""
		}
		for _, ch := range c.Gates.Checks {
			if ch.Name == name {
				return ch.OK, ch.Detail
			}
		}
		return false, ""
	}
	nomock := strings.Contains(group, "nomock") || strings.Contains(group, "no-mock")
	inMock := !nomock && strings.Contains(group, "mock")
	item := strings.TrimSpace(reComment.ReplaceAllString(text, ""))
	switch {
	case strings.Contains(lower, "create a thread"):
		ref := c.Messages[cutbot.MessageThread]
		return ref.Posted(), ref.Permalink, ""
	case strings.Contains(lower, "testgrid"):
		ok, detail := gate("testgrid")
		return ok, "", detail
	case strings.Contains(lower, "publishing-bot"):
		ok, detail := gate("publishing-bot")
		return ok, "", detail
	case strings.Contains(lower, "image promotion pr"):
		s := c.Stage(cutbot.ImagePromotion)
		if a := s.Current(); a != nil && a.LogURL != "" {
			link = a.LogURL
		}
		return succeeded(cutbot.ImagePromotion), link, ""
	case inMock && item == "Stage":
		return succeeded(cutbot.MockStage), "", ""
	case inMock && item == "Release":
		return succeeded(cutbot.MockRelease), "", ""
	case nomock && item == "Stage":
		return succeeded(cutbot.NoMockStage), "", ""
	case nomock && item == "Release":
		return succeeded(cutbot.NoMockRelease), "", ""
	case strings.Contains(lower, "send email notification"):
		return c.AnnouncementURL != "", c.AnnouncementURL, ""
	case strings.Contains(lower, "notify #release-management"):
		ref := c.Messages[cutbot.MessageLive]
		return ref.Posted(), ref.Permalink, ""
	case strings.Contains(lower, "collect metrics"):
		return c.Status == cutbot.CutDone, "", ""
	}
	return false, "", ""
}

// historyName names a stage in the Release Jobs History table as the template does.
func historyName(k cutbot.StageKind) string {
	switch k {
	case cutbot.MockStage:
		return "Mock stage"
	case cutbot.MockRelease:
		return "Mock release"
	case cutbot.NoMockStage:
		return "Stage"
	case cutbot.NoMockRelease:
		return "Release"
	}
	return k.Title()
}

// renderHistory is the Release Jobs History table krel history prints: one row per build.
func renderHistory(tmpl string, c *cutbot.Cut) string {
	head := "| Step | Command | Link | Start | Duration | Succeeded? |\n| --- | --- | --- | --- | --- | --- |"
	for _, line := range strings.Split(tmpl, "\n") {
		if strings.HasPrefix(line, "| Step |") {
			head = line + "\n| --- | --- | --- | --- | --- | --- |"
		}
	}
	rows := []string{head}
	steps := c.Spec.Plan()
	for i := range c.Stages {
		s := &c.Stages[i]
		if !s.Kind.IsBuild() {
			continue
		}
		for _, a := range s.Attempts {
			name := historyName(s.Kind)
			if a.N > 1 {
				name += fmt.Sprintf(" (attempt %d)", a.N)
			}
			cmd := strings.ReplaceAll(steps[i].Does, "<from mock stage>", a.BuildVersion)
			cmd = strings.ReplaceAll(cmd, "<from no-mock stage>", a.BuildVersion)
			link := ""
			if a.LogURL != "" {
				link = "[logs](" + a.LogURL + ")"
			}
			duration, ok := "", ""
			switch a.Status {
			case cutbot.StatusSucceeded:
				duration, ok = cutbot.HumanDuration(a.FinishedAt.Sub(a.StartedAt)), "yes"
			case cutbot.StatusFailed:
				duration, ok = cutbot.HumanDuration(a.FinishedAt.Sub(a.StartedAt)), "no"
			case cutbot.StatusCancelled:
				duration, ok = cutbot.HumanDuration(a.FinishedAt.Sub(a.StartedAt)), "cancelled"
			default:
				ok = "running"
			}
			rows = append(rows, fmt.Sprintf("| %s | `%s` | %s | %s | %s | %s |", name, cmd, link, a.StartedAt.UTC().Format("2006-01-02 15:04 MST"), duration, ok))
		}
	}
	return strings.Join(rows, "\n")
}

// renderTimeline is the cut's whole timeline for its issue, collapsed: when (UTC), who, what,
// and where (the thread message, the build log).
func renderTimeline(c *cutbot.Cut) string {
	cell := func(s string) string {
		return strings.NewReplacer("|", "\\|", "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<details>\n<summary>Timeline of the %s cut: %d entries (from cutbot's audit trail; /release log %s shows it in Slack)</summary>\n\n", c.Version(), len(c.Audit), c.Version())
	b.WriteString("| When (UTC) | Who | What | Where |\n| --- | --- | --- | --- |\n")
	for _, e := range c.Timeline() {
		who := "cutbot"
		if e.Actor != "" {
			who = "Slack user " + e.Actor
		}
		var where []string
		if e.Message != "" {
			where = append(where, "[thread]("+e.Message+")")
		}
		if e.Log != "" && (e.Action == "stage.submitted" || e.Action == "stage.succeeded" || e.Action == "stage.failed") {
			where = append(where, "[logs]("+e.Log+")")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", e.At.UTC().Format("2006-01-02 15:04"), who, cell(e.Words), strings.Join(where, " "))
	}
	b.WriteString("\n</details>")
	return b.String()
}
