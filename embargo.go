package cutbot

import (
	"fmt"
	"strings"
	"time"
)

// An embargoed security release is cut in private: the Security Response Committee's process
// says no public announcement, tag or artifact until it says so. An embargoed cut lives in
// the private channel; nothing about it is written anywhere public (the release channel, a
// public GitHub issue or PR, a non-manager's view) until a release manager lifts the embargo,
// which is recorded; then its public thread appears, with the cut's history.

// MessagePublic is the public thread of an embargoed cut, posted in the release channel once
// the embargo is lifted; "is live" goes there.
const MessagePublic = "public"

// Embargoed reports whether the cut is under an embargo that has not been lifted.
func (c *Cut) Embargoed() bool { return c.Spec.Embargo != "" && c.Lifted.IsZero() }

// Secrets are what must not appear anywhere public while the cut is embargoed: the ids of the
// fixes (CVE-…), and the version it cuts unless the release calendar names it already (a
// scheduled patch is public knowledge; an out-of-band one is itself a secret). None once lifted.
func (c *Cut) Secrets() []string {
	if !c.Embargoed() {
		return nil
	}
	var out []string
	if !c.VersionPublic {
		out = append(out, c.Spec.Version.String())
	}
	for _, f := range strings.FieldsFunc(c.Spec.Embargo, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		if len(f) >= 4 {
			out = append(out, f)
		}
	}
	return out
}

// LiftEmbargo makes an embargoed cut public: its public thread is posted in the release
// channel, and the posts that waited (its "is live", its public GitHub comments) go out.
type LiftEmbargo struct{ By string }

func (e LiftEmbargo) apply(c *Cut, now time.Time) (*AuditEntry, error) {
	switch {
	case c.Spec.Embargo == "":
		return nil, c.refuse("the cut is not embargoed")
	case !c.Lifted.IsZero():
		return nil, c.conflict("the embargo was already lifted by <@%s> at %s", c.LiftedBy, c.Lifted.UTC().Format("2006-01-02 15:04 MST"))
	case e.By == "":
		return nil, c.refuse("lifting an embargo needs the release manager who lifts it")
	}
	c.Lifted, c.LiftedBy = now, e.By
	c.intend(PostMessage{Message: MessagePublic})
	return &AuditEntry{Actor: e.By, Action: "embargo.lifted", Detail: fmt.Sprintf("embargo on %s lifted", c.Spec.Embargo)}, nil
}

func (LiftEmbargo) threadNote() {}
