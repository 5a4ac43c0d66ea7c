package bot

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/handlers"
)

// The renderers below are pure: a cut or a reply in, message text and Block Kit blocks out.
// The text is the notification and screen-reader fallback; Slack shows the blocks.

// Block Kit's limits (https://api.slack.com/reference/block-kit/blocks). Every renderer
// keeps within them by construction: the helpers below cut what is too long, and
// fit cuts what has too many blocks.
const (
	maxMessageBlocks = 50
	maxViewBlocks    = 100
	maxSectionText   = 3000
	maxContextItems  = 10
	maxHeaderText    = 150
	maxButtonText    = 75
	maxButtonValue   = 2000
	maxFallbackText  = 3000 // the notification text; Slack allows 40,000, nobody reads more
	// maxUserText is how much of a person's words (a reason, a title) a message repeats;
	// the whole text stays in the audit trail.
	maxUserText = 500
)

// clip cuts s to at most n characters, ending with "…" when it cut.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func mrkdwn(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, clip(text, maxSectionText), false, false)
}

func plain(text string, n int) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, clip(text, n), false, false)
}

func section(text string) *slack.SectionBlock { return slack.NewSectionBlock(mrkdwn(text), nil, nil) }

func header(text string) *slack.HeaderBlock { return slack.NewHeaderBlock(plain(text, maxHeaderText)) }

func button(actionID, value, label string) *slack.ButtonBlockElement {
	return slack.NewButtonBlockElement(actionID, clip(value, maxButtonValue), plain(label, maxButtonText))
}

func contextBlock(parts ...string) *slack.ContextBlock {
	if len(parts) > maxContextItems {
		parts = append(parts[:maxContextItems-1], strings.Join(parts[maxContextItems-1:], " · "))
	}
	els := make([]slack.MixedElement, 0, len(parts))
	for _, p := range parts {
		els = append(els, mrkdwn(p))
	}
	return slack.NewContextBlock("", els...)
}

// sections puts lines into as few sections as fit, each within a section's limit.
func sections(lines []string) []slack.Block {
	var out []slack.Block
	chunk := ""
	for _, l := range lines {
		l = clip(l, maxSectionText-1)
		if chunk != "" && len(chunk)+len(l)+1 > maxSectionText {
			out = append(out, section(strings.TrimSuffix(chunk, "\n")))
			chunk = ""
		}
		chunk += l + "\n"
	}
	if chunk != "" {
		out = append(out, section(strings.TrimSuffix(chunk, "\n")))
	}
	return out
}

// fit keeps a message within Slack's limits: at most max blocks (the last saying how many
// were left out, and where to see them), and a fallback text Slack takes.
func fit(text string, blocks []slack.Block, max int, more string) (string, []slack.Block) {
	if len(blocks) > max {
		left := len(blocks) - (max - 1)
		blocks = append(blocks[:max-1:max-1], contextBlock(fmt.Sprintf("…and %d more not shown here. %s", left, more)))
	}
	return clip(text, maxFallbackText), blocks
}

// escape makes user-provided text safe inside mrkdwn (Slack wants &, < and > escaped) and
// cuts it to maxUserText: a message repeats a person's words, the audit trail keeps them all.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(clip(s, maxUserText))
}

func link(url, label string) string {
	if url == "" {
		return label
	}
	return "<" + url + "|" + label + ">"
}

func user(id string) string {
	if id == "" {
		return "cutbot"
	}
	return "<@" + id + ">"
}

// stageEmoji follows the handbook's thread: an hourglass while a stage runs, a check mark
// when it passed, a cross when it failed.
func stageEmoji(st cutbot.StageStatus) string {
	switch st {
	case cutbot.StatusSkipped:
		return ":fast_forward:"
	case cutbot.StatusSubmitting, cutbot.StatusRunning:
		return ":hourglass_flowing_sand:"
	case cutbot.StatusSucceeded:
		return ":white_check_mark:"
	case cutbot.StatusFailed:
		return ":x:"
	case cutbot.StatusCancelled:
		return ":no_entry_sign:"
	}
	return ":white_circle:"
}

func statusEmoji(c *cutbot.Cut) string {
	switch c.Status {
	case cutbot.CutAborted:
		return ":no_entry:"
	case cutbot.CutDone:
		return ":white_check_mark:"
	}
	return ":large_blue_circle:"
}

// threadTitle is the handbook's thread parent: ":thread: Release Cut v1.31.3 (GH Issue)", the
// text fallback and the linked form.
func threadTitle(c *cutbot.Cut) (string, string) {
	name := c.Version().String()
	switch {
	case c.Spec.Embargo != "":
		name = fmt.Sprintf(":lock: %s, embargoed security release", name)
	case c.Spec.Hotfix():
		name += " hotfix"
	}
	if c.Issue != nil && c.Issue.Known() {
		return fmt.Sprintf(":thread: Release Cut %s (GH Issue)", name), fmt.Sprintf(":thread: Release Cut %s (%s)", name, link(c.Issue.URL, "GH Issue"))
	}
	t := fmt.Sprintf(":thread: Release Cut %s (GH Issue: not linked yet)", name)
	if c.Spec.Embargo != "" && c.Issue == nil {
		t = fmt.Sprintf(":thread: Release Cut %s (no GH issue: it would be public)", name)
	}
	return t, t
}

func specLine(c *cutbot.Cut) string {
	s := fmt.Sprintf("%s release from `%s`", c.Spec.Type, c.Spec.Branch)
	if c.Spec.Hotfix() {
		s = fmt.Sprintf("%s *hotfix* from `%s` (%s)", c.Spec.Type, c.Spec.Branch, escape(c.Spec.Excludes()))
	}
	if c.Spec.Embargo != "" {
		s += ", embargo: " + escape(c.Spec.Embargo)
		if c.Embargoed() {
			s += " (private until `/release lift " + c.Version().String() + "`)"
		} else {
			s += " (lifted)"
		}
	}
	if c.Spec.Source != (cutbot.Source{}) {
		s += ", Kubernetes from `" + escape(c.Spec.Source.String()) + "`"
	}
	if c.Spec.NoMockRun {
		s += ", no mock run"
	}
	return s
}

// view renders cuts as of a moment, knowing whether builds can be started from Slack.
type view struct {
	Now           time.Time
	Builds        bool   // builds are configured: show the buttons that start them
	ManagersGroup string // usergroup id of the release managers, for cc: mentions
	PromotionRepo string // where image-promotion PRs are opened
	Location      *time.Location
	Label         string // the cherry-pick approval label, e.g. cherry-pick-approved
	PromotionPR   bool   // cutbot opens the image-promotion PRs
	SchedulePR    bool   // cutbot opens the schedule.yaml PRs
}

// group mentions the release managers' usergroup.
func (v view) group() string {
	if v.ManagersGroup == "" {
		return "@release-managers"
	}
	return "<!subteam^" + v.ManagersGroup + ">"
}

// ThreadParent renders the parent message of a cut's thread: the handbook's title, what the
// cut has finished, and a button that goes on with it. It changes only when a stage ends:
// what runs now is its own line's business, so starting a stage edits no parent.
func (v view) ThreadParent(c *cutbot.Cut) (string, []slack.Block) {
	title, linked := threadTitle(c)
	blocks := []slack.Block{
		section(linked),
		contextBlock(specLine(c), "opened by "+user(c.OpenedBy), parentStanding(c)),
		contextBlock(progress(c)),
	}
	if c.Attention != "" {
		blocks = append(blocks, section(":rotating_light: *Needs a person:* "+escape(c.Attention)))
	}
	if c.MissingBranch != "" && c.Status == cutbot.CutActive {
		blocks = append(blocks, section(fmt.Sprintf(":deciduous_tree: The hotfix branch `%s` does not exist yet. %s, who opened the cut, can create it from the tag `%s`; no stage runs before.",
			c.MissingBranch, user(c.OpenedBy), c.Spec.HotfixBase())))
		b := button(handlers.ActionCreateBranch, handlers.ActionValue(c, ""), "Create "+c.MissingBranch)
		b.Style = slack.StylePrimary
		return title, append(blocks, slack.NewActionBlock("branch", b))
	}
	if v.Builds && c.Status == cutbot.CutActive && c.Next() != nil {
		b := button(handlers.ActionNext, handlers.ActionValue(c, ""), "Next stage")
		b.Style = slack.StylePrimary
		blocks = append(blocks, slack.NewActionBlock("next", b))
	}
	return title, blocks
}

// parentStanding says where the cut stands as of its last finished stage.
func parentStanding(c *cutbot.Cut) string {
	switch c.Status {
	case cutbot.CutAborted:
		return fmt.Sprintf(":no_entry: Aborted by %s: %s", user(c.LastActor("cut.aborted")), escape(c.AbortReason))
	case cutbot.CutDone:
		return ":white_check_mark: Done"
	}
	next := c.Next()
	if next == nil {
		return ":white_check_mark: Done"
	}
	switch st := next.Status(); st {
	case cutbot.StatusFailed, cutbot.StatusCancelled:
		return fmt.Sprintf(":large_blue_circle: %s %s (attempt %d)", next.Kind.Title(), st, next.Current().N)
	}
	return ":large_blue_circle: Next: " + next.Kind.Title()
}

// progress is the plan at a glance: each stage's outcome, in order (a stage under way shows
// as not done yet; its line shows it running).
func progress(c *cutbot.Cut) string {
	var parts []string
	for i := range c.Stages {
		s := &c.Stages[i]
		emoji := stageEmoji(s.Status())
		switch {
		case s.Status().InFlight():
			emoji = stageEmoji(cutbot.StatusPending)
		case s.Status() == cutbot.StatusPending && c.Status == cutbot.CutAborted:
			emoji = ":heavy_minus_sign:"
		}
		parts = append(parts, emoji+" "+s.Kind.Title())
	}
	return strings.Join(parts, " → ")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// stageLine is one stage as the plan shows it: emoji, title, status, and the logs link.
func stageLine(c *cutbot.Cut, s *cutbot.Stage) string {
	st := s.Status()
	if st == cutbot.StatusPending && c.Status == cutbot.CutAborted {
		return fmt.Sprintf(":heavy_minus_sign: *%s* — not run", s.Kind.Title())
	}
	line := fmt.Sprintf("%s *%s*", stageEmoji(st), s.Kind.Title())
	if a := s.Current(); a != nil {
		label := "logs"
		if !s.Kind.IsBuild() {
			label = "PR"
		}
		if a.LogURL != "" {
			line += " (" + link(a.LogURL, label) + ")"
		}
		if !s.Kind.IsBuild() && st.InFlight() && a.Step != "" {
			return line + " — " + escape(a.Step)
		}
		line += fmt.Sprintf(" — %s", st)
		if a.N > 1 {
			line += fmt.Sprintf(", attempt %d", a.N)
		}
		if a.Error != "" && st == cutbot.StatusFailed {
			line += ": " + escape(a.Error)
		}
	} else {
		line += " — " + string(st)
	}
	return line
}

// Plan renders the first reply of a cut's thread: every stage in order with the manual
// command it replaces. It does not change as the cut moves (the parent shows where it
// stands, each stage's line how it went), so it is posted once and never edited.
func (v view) Plan(c *cutbot.Cut) (string, []slack.Block) {
	head := fmt.Sprintf("Plan for %s: %s", c.Version(), specLine(c))
	blocks := []slack.Block{section("*" + head + "*")}
	var text []string
	for i, st := range c.Spec.Plan() {
		line := fmt.Sprintf("%d. *%s* — `%s`", i+1, st.Kind.Title(), escape(st.Does))
		if st.Skipped {
			line = fmt.Sprintf("%d. :fast_forward: *%s* — skipped (no mock run)", i+1, st.Kind.Title())
		}
		text = append(text, line)
	}
	blocks = append(blocks, section(strings.Join(text, "\n")))
	var byHand, byCutbot []string
	for _, f := range c.Spec.FollowUps() {
		if v.SchedulePR && strings.Contains(f, "schedule.yaml") {
			byCutbot = append(byCutbot, "opens the schedule.yaml PR on kubernetes/website, as schedule-builder would")
			continue
		}
		byHand = append(byHand, f)
	}
	if v.PromotionPR {
		byCutbot = append([]string{"opens the image-promotion PR itself, as kpromo pr would (a reviewer approves it on GitHub)"}, byCutbot...)
	}
	if len(byCutbot) > 0 {
		blocks = append(blocks, contextBlock("cutbot also "+escape(strings.Join(byCutbot, "; and "))+"."))
	}
	if len(byHand) > 0 {
		blocks = append(blocks, contextBlock("By hand afterwards: "+escape(strings.Join(byHand, "; "))))
	}
	return head + "\n" + strings.Join(text, "\n"), blocks
}

// AuditNote renders a thread reply about one audit entry: an abort, a warning.
func (v view) AuditNote(c *cutbot.Cut, seq int) (string, []slack.Block) {
	var e *cutbot.AuditEntry
	for i := range c.Audit {
		if c.Audit[i].Seq == seq {
			e = &c.Audit[i]
		}
	}
	if e == nil {
		text := fmt.Sprintf("(audit entry %d of %s is missing)", seq, c.Version())
		return text, []slack.Block{section(text)}
	}
	var text string
	switch e.Action {
	case "cut.aborted":
		text = fmt.Sprintf(":no_entry: %s aborted the cut of %s: %s", user(e.Actor), c.Version(), escape(e.Detail))
	case "stage.warned.unapproved":
		text = fmt.Sprintf(":bell: %s: the image promotion %s.", v.group(), escape(e.Detail))
	case "stage.warned.job-failed":
		text = fmt.Sprintf(":x: %s", escape(e.Detail))
	case "stage.warned.queued", "stage.warned.running", "stage.warned.permission":
		text = fmt.Sprintf(":warning: %s (attempt %d) %s. Started by %s.", e.Stage.Title(), e.Attempt, escape(e.Detail), user(e.Actor))
	case "gates.checked":
		text = v.gatesNote(c)
	case "freeze.started":
		text = fmt.Sprintf(":ice_cube: %s froze cherry-picks on %s. Thaw after the release: `/release thaw %s`.", user(e.Actor), escape(e.Detail), c.Spec.Branch)
	case "freeze.thawed":
		text = fmt.Sprintf(":sunny: %s thawed %s.", user(e.Actor), escape(e.Detail))
		if e.Actor == "" {
			text = fmt.Sprintf(":sunny: Thawed by itself, as the freeze asked, now that %s is live: %s.", c.Version(), escape(e.Detail))
		}
	case "known-issues":
		text = fmt.Sprintf(":beetle: Known issues: %s (`/release known-issues %s`).", escape(e.Detail), c.Spec.Branch)
	case "freeze.reminder":
		text = fmt.Sprintf(":ice_cube: %s.", e.Detail)
	case "stage.job_failed":
		text = fmt.Sprintf(":x: %s", escape(e.Detail))
	case "schedule.pr":
		text = fmt.Sprintf(":calendar: %s.", escape(e.Detail))
	case "fact.promotion_noop":
		text = fmt.Sprintf(":white_check_mark: Image promotion of %s: %s.", c.Version(), escape(e.Detail))
	case "autopilot.stopped":
		text = fmt.Sprintf(":pause_button: Autopilot stopped: %s.", escape(e.Detail))
	case "branch.created":
		text = fmt.Sprintf(":deciduous_tree: %s created the hotfix branch %s. The stages may run.", user(e.Actor), escape(e.Detail))
	case "branch.missing":
		text = fmt.Sprintf(":deciduous_tree: %s.", escape(e.Detail))
	case "timing.forced":
		text = fmt.Sprintf(":hourglass: %s cut sooner than the timing guard allows: %s", user(e.Actor), escape(e.Detail))
	case "issue.none":
		text = fmt.Sprintf(":lock: No cut issue: %s.", escape(e.Detail))
	case "embargo.lifted":
		text = fmt.Sprintf(":unlock: %s lifted the embargo (%s). The cut's public thread is in the release channel; \"is live\" goes there.", user(e.Actor), escape(c.Spec.Embargo))
	case "cut.attention":
		text = fmt.Sprintf(":rotating_light: %s: %s. cutbot does nothing more on %s by itself until a release manager acts on it (`/release status %s` shows where it stands; `/release cancel`, `retry` or `abort` go on).",
			v.group(), escape(e.Detail), c.Version(), c.Version())
	case "stage.started": // the kpromo note of cuts from before the promotion had its own line
		if e.Stage == cutbot.ImagePromotion {
			text = v.promotionNote(c)
		} else {
			text = fmt.Sprintf("%s started %s", user(e.Actor), e.Stage.Title())
		}
	default:
		text = fmt.Sprintf("%s: %s %s", user(e.Actor), e.Action, escape(e.Detail))
	}
	return text, []slack.Block{section(text)}
}

// CutMessage renders the message key of a cut, within Slack's limits.
func (v view) CutMessage(c *cutbot.Cut, key string) (string, []slack.Block, error) {
	text, blocks, err := v.cutMessage(c, key)
	text, blocks = fit(text, blocks, maxMessageBlocks, "`/release status "+c.Version().String()+"` shows the cut.")
	return text, blocks, err
}

func (v view) cutMessage(c *cutbot.Cut, key string) (string, []slack.Block, error) {
	switch {
	case key == cutbot.MessageThread:
		t, b := v.ThreadParent(c)
		return t, b, nil
	case key == cutbot.MessagePlan:
		t, b := v.Plan(c)
		return t, b, nil
	case strings.HasPrefix(key, "audit:"):
		seq, err := strconv.Atoi(strings.TrimPrefix(key, "audit:"))
		if err != nil {
			return "", nil, fmt.Errorf("bad message key %q", key)
		}
		t, b := v.AuditNote(c, seq)
		return t, b, nil
	case strings.HasPrefix(key, "stage:"):
		parts := strings.Split(key, ":")
		n, err := strconv.Atoi(parts[len(parts)-1])
		if len(parts) != 3 || err != nil {
			return "", nil, fmt.Errorf("bad message key %q", key)
		}
		t, b := v.StageLine(c, cutbot.StageKind(parts[1]), n)
		return t, b, nil
	case strings.HasPrefix(key, "confirm:"):
		id := strings.TrimPrefix(key, "confirm:")
		if k, n, ok := confirmedAttempt(c, id); ok {
			t, b := v.StageLine(c, k, n) // a confirmed request becomes its attempt's line
			return t, b, nil
		}
		t, b := v.Confirmation(c, id)
		return t, b, nil
	case key == cutbot.MessageLive:
		t, b := v.Live(c)
		return t, b, nil
	case key == cutbot.MessagePublic:
		t, b := v.PublicThread(c)
		return t, b, nil
	case key == cutbot.MessageNotes:
		t, b := v.NotesDraft(c)
		return t, b, nil
	}
	return "", nil, fmt.Errorf("unknown message key %q", key)
}

// confirmedAttempt is the attempt that started from confirmation id, if any.
func confirmedAttempt(c *cutbot.Cut, id string) (cutbot.StageKind, int, bool) {
	for i := range c.Stages {
		for j, a := range c.Stages[i].Attempts {
			if a.Confirmation == id {
				return c.Stages[i].Kind, j + 1, true
			}
		}
	}
	return "", 0, false
}

// StageLine renders the handbook's thread line of one stage attempt, e.g.
//
//	:hourglass_flowing_sand: Mock Stage (logs)
//	-> :white_check_mark: (1h 52m)
//
// A failed or cancelled latest attempt gets a Retry button; older attempts keep their line
// and link.
func (v view) StageLine(c *cutbot.Cut, k cutbot.StageKind, n int) (string, []slack.Block) {
	s := c.Stage(k)
	if s == nil || n < 1 || n > len(s.Attempts) {
		text := fmt.Sprintf("(attempt %d of %s is missing)", n, k)
		return text, []slack.Block{section(text)}
	}
	a := &s.Attempts[n-1]
	if k == cutbot.ImagePromotion {
		return v.promotionLine(c, a)
	}
	head := fmt.Sprintf(":hourglass_flowing_sand: %s", k.Title())
	if a.LogURL != "" {
		head += " (" + link(a.LogURL, "logs") + ")"
	}
	var second string
	switch a.Status {
	case cutbot.StatusSubmitting:
		second = "Submitting to Cloud Build…"
	case cutbot.StatusRunning:
		step := a.Step
		if step == "" {
			step = "starting"
		}
		second = "Current status: " + escape(step)
	case cutbot.StatusSucceeded:
		second = fmt.Sprintf("-> :white_check_mark: (%s)", cutbot.HumanDuration(a.Duration(v.Now)))
	case cutbot.StatusFailed:
		second = fmt.Sprintf("-> :x: %s (after %s)", escape(a.Error), cutbot.HumanDuration(a.Duration(v.Now)))
	case cutbot.StatusCancelled:
		who := "in Cloud Build"
		for _, e := range c.Audit {
			if e.Action == "stage.cancelled" && e.Stage == k && e.Attempt == n && e.Actor != "" {
				who = "by " + user(e.Actor)
			}
		}
		second = fmt.Sprintf("-> :no_entry_sign: cancelled %s (after %s)", who, cutbot.HumanDuration(a.Duration(v.Now)))
	}
	text := head + "\n" + second
	meta := []string{fmt.Sprintf("attempt %d", n), "started by " + user(a.StartedBy)}
	if a.BuildVersion != "" {
		meta = append(meta, "build version `"+escape(a.BuildVersion)+"`")
	}
	if a.Confirmation != "" {
		meta = append(meta, "confirmed by "+user(a.StartedBy))
	}
	if a.Force != "" {
		meta = append(meta, fmt.Sprintf(":warning: forced by %s: %s", user(a.StartedBy), escape(a.Force)))
	}
	blocks := []slack.Block{section(text), contextBlock(strings.Join(meta, " · "))}
	latest := n == len(s.Attempts)
	if latest && v.Builds && c.Status == cutbot.CutActive && (a.Status == cutbot.StatusFailed || a.Status == cutbot.StatusCancelled) {
		b := button(handlers.ActionRetry, handlers.ActionValue(c, string(k)), "Retry "+k.Title())
		blocks = append(blocks, slack.NewActionBlock("retry", b))
	}
	return text, blocks
}

// promotionLine is the handbook's image-promotion lines: the PR, cc the release managers,
// and "-> Image promotion is :white_check_mark:" once the promotion job passed. Until the PR
// is found it says which kpromo command to run.
func (v view) promotionLine(c *cutbot.Cut, a *cutbot.Attempt) (string, []slack.Block) {
	if a.BuildID == "" {
		text := v.promotionNote(c)
		if c.Intends(cutbot.OpenPromotionPR{Attempt: a.N}.Key()) {
			text = fmt.Sprintf(":hourglass_flowing_sand: Image promotion of %s: cutbot is opening the PR, as `kpromo pr` does (staged digests into the promoter's manifest, on hold).", c.Version())
		}
		if a.Status == cutbot.StatusSucceeded {
			text = fmt.Sprintf(":white_check_mark: Image promotion of %s: nothing to promote (every staged image is in the manifest already).", c.Version())
		}
		if a.Status == cutbot.StatusCancelled {
			text += "\n-> :no_entry_sign: cancelled: cutbot stopped watching for the PR"
		}
		return text, []slack.Block{section(text)}
	}
	lines := []string{a.LogURL, fmt.Sprintf("Image Promotion PR (%s)", link(a.LogURL, "link")), "cc: " + v.group()}
	switch a.Status {
	case cutbot.StatusSucceeded:
		lines = append(lines, "-> Image promotion is :white_check_mark:")
	case cutbot.StatusRunning, cutbot.StatusSubmitting:
		lines = append(lines, "Current status: "+promotionStep(a))
	case cutbot.StatusCancelled:
		lines = append(lines, "-> :no_entry_sign: cancelled")
	}
	text := strings.Join(lines, "\n")
	blocks := []slack.Block{section(text)}
	var facts []string
	if sha := a.Outputs[cutbot.OutputMergeSHA]; sha != "" {
		facts = append(facts, "merged at `"+sha[:min(12, len(sha))]+"`")
	}
	if u := a.Outputs[cutbot.OutputJobURL]; u != "" {
		facts = append(facts, link(u, "post-k8sio-image-promo passed"))
	}
	if len(facts) > 0 {
		blocks = append(blocks, contextBlock(strings.Join(facts, " · ")))
	}
	return text, blocks
}

// promotionStep says what the image promotion waits for, from what cutbot recorded of it.
func promotionStep(a *cutbot.Attempt) string {
	o := a.Outputs
	switch {
	case o[cutbot.OutputPRClosed] == "yes":
		return "the PR was closed without merging; point cutbot at the new one with /release promotion"
	case o[cutbot.OutputJobRun] != "" && o[cutbot.OutputMergeSHA] != "" && o[cutbot.OutputJobRun] != o[cutbot.OutputJobFailed]:
		return "post-k8sio-image-promo is running (its queue is shared with a daily job, so a long wait is normal)"
	case o[cutbot.OutputJobFailed] != "" && o[cutbot.OutputMergeSHA] != "":
		return "post-k8sio-image-promo failed; watching for a rerun"
	case o[cutbot.OutputMergeSHA] != "":
		return "merged; waiting for post-k8sio-image-promo"
	case o[cutbot.OutputApproved] == "yes" && o[cutbot.OutputUnheld] == "yes":
		return "approved; cutbot lifted its hold; waiting for the merge"
	case o[cutbot.OutputApproved] == "yes" && o[cutbot.OutputHeld] == "yes":
		return "approved; on hold (/unhold to merge)"
	case o[cutbot.OutputApproved] == "yes":
		return "approved; waiting for the merge"
	}
	return "waiting for approval"
}

// Live is the handbook's announcement: ":kubernetes: Kubernetes v1.31.3 is live! (shoutout
// to @a & @b for helping cut the release)", with the announcement link once it is known.
func (v view) Live(c *cutbot.Cut) (string, []slack.Block) {
	var names []string
	for _, id := range c.Helpers() {
		names = append(names, user(id))
	}
	text := fmt.Sprintf(":kubernetes: Kubernetes %s is live!", c.Version())
	if len(names) > 0 {
		text += fmt.Sprintf(" (shoutout to %s for helping cut the release)", strings.Join(names, " & "))
	}
	if c.AnnouncementURL != "" {
		text += "\n" + c.AnnouncementURL
	}
	return text, []slack.Block{section(text)}
}

// PublicThread is an embargoed cut's thread in the release channel, posted when its embargo
// is lifted: what the cut was, who lifted it, and its history (the timeline's latest
// entries; `/release log` has them all).
func (v view) PublicThread(c *cutbot.Cut) (string, []slack.Block) {
	title := fmt.Sprintf(":thread: Release Cut %s, security release (%s)", c.Version(), c.Spec.Embargo)
	blocks := []slack.Block{
		section(escape(title)),
		contextBlock(specLine(c), "opened by "+user(c.OpenedBy), fmt.Sprintf("embargo lifted by %s %s", user(c.LiftedBy), c.Lifted.In(v.loc()).Format("Mon 2006-01-02 15:04 MST"))),
		contextBlock(progress(c)),
	}
	all := c.Timeline()
	const shown = 20
	var lines []string
	for _, e := range all[max(0, len(all)-shown):] {
		who := "cutbot"
		if e.Actor != "" {
			who = user(e.Actor)
		}
		lines = append(lines, fmt.Sprintf("`%s` %s %s", e.At.In(v.loc()).Format("01-02 15:04"), who, escape(e.Words)))
	}
	head := "*History*"
	if len(all) > shown {
		head = fmt.Sprintf("*History* (the last %d of %d entries; `/release log %s` shows all)", shown, len(all), c.Version())
	}
	blocks = append(blocks, section(head))
	blocks = append(blocks, sections(lines)...)
	return title, blocks
}

// NotesDraft is the release-notes preview in the thread: each kind's notes, with their PRs,
// within Slack's limits (a long list ends with a pointer to the issue, which keeps them all).
func (v view) NotesDraft(c *cutbot.Cut) (string, []slack.Block) {
	d := c.Notes
	if d == nil {
		text := fmt.Sprintf("Release notes draft of %s: not read yet.", c.Version())
		return text, []slack.Block{section(text)}
	}
	head := fmt.Sprintf(":memo: *Release notes draft of %s*: %s.", c.Version(), escape(d.Summary()))
	blocks := []slack.Block{section(head)}
	var lines []string
	for _, g := range d.Groups() {
		lines = append(lines, "*"+g.Kind+"*")
		for _, it := range g.Items {
			line := fmt.Sprintf("• %s (%s)", escape(strings.ReplaceAll(it.Note, "\n", " ")), link(it.URL, fmt.Sprintf("#%d", it.PR)))
			if it.FromParent != 0 {
				line += fmt.Sprintf(", from #%d", it.FromParent)
			}
			lines = append(lines, clip(line, 600))
		}
	}
	if len(lines) == 0 {
		lines = append(lines, "No release notes yet.")
	}
	blocks = append(blocks, sections(lines)...)
	blocks = append(blocks, contextBlock("A draft from the cherry-picks' release-note blocks (an automated pick without one takes its parent's); the cut issue keeps it."))
	return head, blocks
}

// gatesNote shows the result of the last gate check.
func (v view) gatesNote(c *cutbot.Cut) string {
	g := c.Gates
	if g == nil {
		return "Gates: not checked."
	}
	head := fmt.Sprintf(":white_check_mark: Gates for the no-mock stage of %s passed", c.Version())
	if !g.OK() {
		head = fmt.Sprintf(":x: Gates for the no-mock stage of %s failed; it is blocked unless forced", c.Version())
	}
	if g.By != "" {
		head += " (checked for " + user(g.By) + ")"
	}
	lines := []string{head + ":"}
	for _, ch := range g.Checks {
		mark := ":white_check_mark:"
		if !ch.OK {
			mark = ":x:"
		}
		line := fmt.Sprintf("%s %s: %s", mark, ch.Name, escape(ch.Detail))
		if ch.URL != "" {
			line = fmt.Sprintf("%s %s: %s", mark, link(ch.URL, ch.Name), escape(ch.Detail))
		}
		var failing []string
		for _, f := range ch.Failing {
			name, url, ok := strings.Cut(strings.TrimSuffix(f, ">"), " <")
			if ok {
				failing = append(failing, link(url, name))
			} else {
				failing = append(failing, escape(f))
			}
		}
		if len(failing) > 0 {
			line += ": " + strings.Join(failing, ", ")
		}
		lines = append(lines, "• "+line)
	}
	return strings.Join(lines, "\n")
}

// promotionNote says which kpromo command to run, as the handbook's step 6 does.
func (v view) promotionNote(c *cutbot.Cut) string {
	var tags []string
	for _, t := range cutbot.PromotionTags(c.Version()) {
		tags = append(tags, fmt.Sprintf("--tag=\"%s\"", t))
	}
	repo := v.PromotionRepo
	if repo == "" {
		repo = "kubernetes/k8s.io"
	}
	return fmt.Sprintf(":hourglass_flowing_sand: Image promotion of %s: run\n`kpromo pr --fork=<your GitHub user> %s --interactive=true`\ncutbot watches %s for the PR, or point it there with `/release promotion %s <PR URL>`.",
		c.Version(), strings.Join(tags, " "), repo, c.Version())
}

// Confirmation renders a request to run a no-mock stage: what will run, and the buttons. Only
// the requester's Confirm counts.
func (v view) Confirmation(c *cutbot.Cut, id string) (string, []slack.Block) {
	var cf *cutbot.Confirmation
	for i := range c.Confirmations {
		if c.Confirmations[i].ID == id {
			cf = &c.Confirmations[i]
		}
	}
	if cf == nil {
		text := fmt.Sprintf("(confirmation %s of %s is missing)", id, c.Version())
		return text, []slack.Block{section(text)}
	}
	var does string
	for _, st := range c.Spec.Plan() {
		if st.Kind == cf.Stage {
			does = strings.Replace(st.Does, "<from no-mock stage>", cf.BuildVersion, 1)
		}
	}
	summary := fmt.Sprintf("%s asked for `%s`\n*Branch* `%s` · *Type* %s · *Build version* `%s`", user(cf.By), escape(does), c.Spec.Branch, c.Spec.Type, escape(cf.BuildVersion))
	if cf.Target != "" {
		summary += " · *Project* " + escape(cf.Target)
	}
	if cf.Force != "" {
		summary += "\n:warning: Forced: " + escape(cf.Force)
	}
	var head string
	pending := c.Pending != nil && c.Pending.ID == id
	switch outcome := c.ConfirmationOutcomes[id]; {
	case pending:
		head = fmt.Sprintf(":warning: *Confirm %s of %s*: it creates real artifacts.", cf.Stage.Title(), c.Version())
	case outcome == "confirmed":
		head = fmt.Sprintf(":white_check_mark: %s of %s confirmed by %s.", cf.Stage.Title(), c.Version(), user(cf.By))
	case outcome == "declined":
		head = fmt.Sprintf(":heavy_minus_sign: %s of %s was not confirmed; nothing was submitted.", cf.Stage.Title(), c.Version())
	case outcome == "superseded":
		head = fmt.Sprintf(":heavy_minus_sign: This request for %s was replaced by a newer one.", cf.Stage.Title())
	default:
		head = fmt.Sprintf("%s of %s: request closed.", cf.Stage.Title(), c.Version())
	}
	blocks := []slack.Block{section(head), section(summary)}
	if pending {
		confirm := button(handlers.ActionConfirm, handlers.ActionValue(c, id), "Confirm "+cf.Stage.Title())
		confirm.Style = slack.StylePrimary
		decline := button(handlers.ActionDecline, handlers.ActionValue(c, id), "Cancel")
		decline.Style = slack.StyleDanger
		blocks = append(blocks, slack.NewActionBlock("confirm", confirm, decline),
			contextBlock(fmt.Sprintf("Only %s can confirm. Any release manager can cancel.", user(cf.By))))
	}
	return head + "\n" + summary, blocks
}

// Reply renders what the user who ran a command sees, within Slack's limits.
func Reply(r handlers.Reply) (string, []slack.Block) {
	text, blocks := reply(r)
	return fit(text, blocks, maxMessageBlocks, "")
}

func reply(r handlers.Reply) (string, []slack.Block) {
	switch r := r.(type) {
	case handlers.ErrorReply:
		text := ":warning: " + r.Message
		blocks := []slack.Block{section(text)}
		if r.Cut != nil {
			blocks = append(blocks, contextBlock(cutLink(r.Cut)+" · "+capitalize(r.Cut.Standing())))
		}
		if r.Usage != nil {
			blocks = append(blocks, usage(r.Usage)...)
		}
		return text, blocks
	case handlers.RefusedReply:
		if r.Button || r.Command == nil {
			text := fmt.Sprintf(":no_entry_sign: Only release managers (%s) may press cutbot's buttons. Ask one of them to, or to add you to the group.", r.Who)
			return text, []slack.Block{section(text)}
		}
		text := fmt.Sprintf(":no_entry_sign: Only release managers (%s) may run `/release %s`. Ask one of them to run it, or to add you to the group.", r.Who, r.Command.Name)
		return text, []slack.Block{section(text)}
	case handlers.HelpReply:
		return help(r)
	case handlers.StatusReply:
		return status(r)
	case handlers.CutReply:
		return cutSummary(r)
	case handlers.PlanReply:
		return dryRun(r)
	case handlers.ScheduleReply:
		return scheduleReply(r)
	case handlers.RemindersReply:
		return remindersReply(r)
	case handlers.FreezeReply:
		return freezeReply(r)
	case handlers.BoardReply:
		return view{Location: r.Location, Label: r.Label}.boardReply(r)
	case handlers.KnownIssuesReply:
		return knownIssuesReply(r)
	case handlers.LogReply:
		return logReply(r)
	}
	text := fmt.Sprintf("(cutbot has no way to show a %T)", r)
	return text, []slack.Block{section(text)}
}

func cutLink(c *cutbot.Cut) string {
	return link(c.Messages[cutbot.MessageThread].Permalink, c.Version().String())
}

func usage(c *handlers.Command) []slack.Block {
	lines := []string{fmt.Sprintf("*Usage:* `/release %s`", c.Usage())}
	for _, f := range c.Flags {
		flag := "--" + f.Name
		if f.Value != "" {
			flag += " " + f.Value
		}
		lines = append(lines, fmt.Sprintf("• `%s`: %s", flag, escape(f.Help)))
	}
	ex := make([]string, len(c.Examples))
	for i, e := range c.Examples {
		ex[i] = "`" + escape(e) + "`"
	}
	return []slack.Block{section(strings.Join(lines, "\n")), contextBlock("Examples: " + strings.Join(ex, "  ")), contextBlock("Who: " + c.WhoCanUse())}
}

func help(r handlers.HelpReply) (string, []slack.Block) {
	if r.Detail != nil {
		text := fmt.Sprintf("/release %s: %s", r.Detail.Name, r.Detail.Summary)
		return text, append([]slack.Block{section("*" + escape(text) + "*")}, usage(r.Detail)...)
	}
	text := "cutbot runs Kubernetes release cuts from Slack. Commands:"
	blocks := []slack.Block{section("*" + text + "*")}
	for _, c := range r.Commands {
		blocks = append(blocks,
			section(fmt.Sprintf("`/release %s`\n%s", c.Usage(), escape(c.Summary))),
			contextBlock(fmt.Sprintf("Who: %s · e.g. `%s`", c.WhoCanUse(), escape(c.Examples[0]))))
	}
	blocks = append(blocks, contextBlock("`/release help COMMAND` explains a command's flags."))
	return text, blocks
}

func status(r handlers.StatusReply) (string, []slack.Block) {
	if len(r.Cuts) == 0 {
		text := "No active cuts. Open one with `/release cut VERSION`."
		return text, []slack.Block{section(text)}
	}
	text := fmt.Sprintf("Active cuts (%d):", len(r.Cuts))
	blocks := []slack.Block{section("*" + text + "*")}
	var lines []string
	for _, c := range r.Cuts {
		line := fmt.Sprintf("%s *%s* · %s · opened by %s\n%s", statusEmoji(c), cutLink(c), specLine(c), user(c.OpenedBy), capitalize(c.Standing()))
		if c.Attention != "" {
			line += "\n:rotating_light: needs a person: " + escape(c.Attention)
		}
		lines = append(lines, line)
	}
	// A patch day has a few cuts; a list of hundreds still fits: several cuts to a section,
	// and past what one message holds, a pointer to each cut's own status.
	return fit(text, append(blocks, sections(lines)...), maxMessageBlocks, "`/release status VERSION` shows any one cut.")
}

func cutSummary(r handlers.CutReply) (string, []slack.Block) {
	c := r.Cut
	prefix := ""
	if r.Headline != "" {
		prefix = escape(r.Headline) + " "
	}
	text := fmt.Sprintf("%s%s: %s", prefix, c.Version(), capitalize(c.Standing()))
	var lines []string
	for i := range c.Stages {
		lines = append(lines, stageLine(c, &c.Stages[i]))
	}
	blocks := []slack.Block{
		section(fmt.Sprintf("%s %s*%s*: %s", statusEmoji(c), prefix, cutLink(c), capitalize(c.Standing()))),
		contextBlock(specLine(c), "opened by "+user(c.OpenedBy)),
	}
	if !r.Brief {
		blocks = append(blocks, section(strings.Join(lines, "\n")))
	}
	if c.Status == cutbot.CutAborted {
		blocks = append(blocks, contextBlock(fmt.Sprintf("Aborted by %s: %s", user(c.LastActor("cut.aborted")), escape(c.AbortReason))))
	}
	return text, blocks
}

func dryRun(r handlers.PlanReply) (string, []slack.Block) {
	s := r.Spec
	text := fmt.Sprintf("Dry run of /release cut %s: nothing was changed.", s.Version)
	blocks := []slack.Block{section("*" + text + "*")}
	if r.Existing != nil {
		blocks = append(blocks, section(fmt.Sprintf(":warning: It would be refused: %s already has an active cut (%s), opened by %s.",
			s.Version, cutLink(r.Existing), user(r.Existing.OpenedBy))))
	}
	if r.Refusal != "" {
		blocks = append(blocks, section(":warning: It would be refused: "+escape(r.Refusal)))
	}
	what := fmt.Sprintf("%s release from `%s`", capitalize(s.Type.WithArticle()), s.Branch)
	if s.NoMockRun {
		what += ", without the mock pair"
	}
	var now []string
	for i, a := range r.Actions {
		now = append(now, fmt.Sprintf("%d. %s", i+1, escape(a)))
	}
	var stages []string
	for _, st := range s.Plan() {
		if st.Skipped {
			stages = append(stages, fmt.Sprintf(":fast_forward: %s — skipped (--no-mock-run)", st.Kind.Title()))
			continue
		}
		stages = append(stages, fmt.Sprintf(":white_circle: %s — `%s`", st.Kind.Title(), escape(st.Does)))
	}
	blocks = append(blocks,
		section(what+". cutbot would now:\n"+strings.Join(now, "\n")),
		section("*Stages, in order:*\n"+strings.Join(stages, "\n")))
	if fu := s.FollowUps(); len(fu) > 0 {
		blocks = append(blocks, contextBlock("By hand afterwards: "+escape(strings.Join(fu, "; "))))
	}
	return text, blocks
}

// logReply is one page of a cut's timeline, oldest first, each line with who, when (in the
// configured zone), what, and links to where it happened.
func logReply(r handlers.LogReply) (string, []slack.Block) {
	loc := view{Location: r.Location}.loc()
	c := r.Cut
	text := fmt.Sprintf("Timeline of %s (%s)", c.Version(), capitalize(c.Standing()))
	blocks := []slack.Block{section(fmt.Sprintf("*Timeline of %s* · %s · %s", cutLink(c), specLine(c), capitalize(c.Standing())))}
	var lines []string
	for _, e := range r.Entries {
		who := "cutbot"
		if e.Actor != "" {
			who = user(e.Actor)
		}
		line := fmt.Sprintf("`%s` %s %s", e.At.In(loc).Format("Jan 2 15:04 MST"), who, escape(clip(e.Words, 600)))
		var where []string
		if e.Message != "" {
			where = append(where, link(e.Message, "in the thread"))
		}
		if e.Log != "" && (e.Action == "stage.submitted" || e.Action == "stage.succeeded" || e.Action == "stage.failed") {
			where = append(where, link(e.Log, "build log"))
		}
		if len(where) > 0 {
			line += " · " + strings.Join(where, " · ")
		}
		lines = append(lines, line)
	}
	blocks = append(blocks, sections(lines)...)
	footer := fmt.Sprintf("%d entries · page %d of %d", r.Total, r.Page, r.Pages)
	if r.Page < r.Pages {
		footer += fmt.Sprintf(" · next: `/release log %s %d`", c.Version(), r.Page+1)
	}
	if r.Page > 1 {
		footer += fmt.Sprintf(" · previous: `/release log %s %d`", c.Version(), r.Page-1)
	}
	blocks = append(blocks, contextBlock(footer+" · times in "+loc.String()))
	return fit(text, blocks, maxMessageBlocks, "")
}
