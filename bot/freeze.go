package bot

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/handlers"
)

func prLink(p *cutbot.FreezePR) string {
	return fmt.Sprintf("%s %s", link(p.URL, fmt.Sprintf("#%d", p.Number)), escape(p.Title))
}

// freezeReply renders a freeze's preview, with the button that starts it, or its outcome.
func freezeReply(r handlers.FreezeReply) (string, []slack.Block) {
	f := r.Freeze
	notReady := f.NotReady()
	ready := len(f.PRs) - len(notReady)
	var text string
	switch {
	case r.DryRun:
		text = fmt.Sprintf("Dry run of the cherry-pick freeze of %s: nothing was changed. %d of %s with %s would lose it.", f.Branch, len(notReady), cutbot.PRs(len(f.PRs)), f.Label)
	case f.State == cutbot.FreezePreviewed:
		text = fmt.Sprintf("Cherry-pick freeze of %s (%s): %d of %s with %s would lose it.", f.Branch, f.Reason, len(notReady), cutbot.PRs(len(f.PRs)), f.Label)
	case f.State == cutbot.FreezeThawed:
		back, gone := f.ThawCounts()
		text = fmt.Sprintf("Thawed %s: %s got %s back; %d merged or closed meanwhile.", f.Branch, cutbot.PRs(back), f.Label, gone)
	default:
		text = fmt.Sprintf("Froze cherry-picks on %s (%s): %s lost %s.", f.Branch, f.Reason, cutbot.PRs(len(f.Lost())), f.Label)
	}
	blocks := []slack.Block{section("*" + escape(text) + "*")}
	var lines []string
	for _, p := range notReady {
		line := "• " + prLink(p)
		switch {
		case f.State == cutbot.FreezeThawed && p.Outcome == cutbot.OutcomeRelabeled:
			line += " — " + f.Label + " is back"
		case f.State == cutbot.FreezeThawed && p.Outcome != "":
			line += " — " + p.Outcome + " meanwhile; nothing to put back"
		case p.Skipped != "":
			line += " — left alone: " + escape(p.Skipped)
		case !p.Unlabel.Done.IsZero():
			line += " — lost " + f.Label + ": " + escape(strings.Join(p.Reasons, "; "))
		default:
			line += " — not ready: " + escape(strings.Join(p.Reasons, "; "))
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		lines = append(lines, "Every PR with "+f.Label+" is ready to merge; nothing would change.")
	}
	blocks = append(blocks, sections(lines)...)
	if ready > 0 && f.State != cutbot.FreezeThawed {
		blocks = append(blocks, contextBlock(fmt.Sprintf("%s ready to merge (lgtm, approved, no hold, no failing status) and keep %s.", areReady(ready), f.Label)))
	}
	if r.Confirm {
		b := button(handlers.ActionFreeze, f.Branch+"|"+f.ID+"|", fmt.Sprintf("Freeze: take %s off %s", f.Label, cutbot.PRs(len(notReady))))
		b.Style = slack.StyleDanger
		thaw := "It stays frozen until `/release thaw " + f.Branch + "`."
		elems := []slack.BlockElement{b}
		if f.AutoThaw {
			thaw = "It thaws by itself once the branch's cut is live, unless you choose to keep it frozen."
			keep := button(handlers.ActionFreeze, f.Branch+"|"+f.ID+"|"+handlers.FreezeKeep, "Freeze, and keep it frozen after the release")
			elems = append(elems, keep)
		}
		blocks = append(blocks, slack.NewActionBlock("freeze", elems...), contextBlock("Nothing changes until you press one. Each PR is checked again before its label comes off. "+thaw))
	}
	return text, blocks
}

func areReady(n int) string {
	if n == 1 {
		return "1 PR is"
	}
	return fmt.Sprintf("%d PRs are", n)
}
