package cutbot

import (
	"fmt"
	"strconv"
	"time"
)

// cutbot can open the image-promotion PR itself, as `kpromo pr` does, then lift its hold once
// it is approved; the approval stays a person's, on GitHub.

// Outputs of a promotion attempt whose PR cutbot opened.
const (
	OutputOpened = "opened" // "yes": cutbot opened the PR
	OutputUnheld = "unheld" // "yes": cutbot lifted the hold
)

// OpenPromotionPR opens the image-promotion PR of promotion attempt Attempt (see
// PromotionOpener); found again by its head branch after a crash.
type OpenPromotionPR struct{ Attempt int }

// UnholdPromotion lifts the hold of the promotion PR cutbot opened ("/hold cancel"), once it
// is approved, so that it merges and the images are promoted before the no-mock release.
type UnholdPromotion struct {
	Attempt int
	PR      string
}

func (e OpenPromotionPR) Key() string { return "promotion-pr:" + strconv.Itoa(e.Attempt) }
func (e UnholdPromotion) Key() string { return "unhold:" + e.PR }
func (e OpenPromotionPR) String() string {
	return "open the image-promotion PR, as kpromo pr does"
}
func (e UnholdPromotion) String() string { return "lift the hold of " + e.PR + " (/hold cancel)" }
func (OpenPromotionPR) isEffect()        {}
func (UnholdPromotion) isEffect()        {}

// PromotionNoop records that there was nothing to promote: every staged image of the
// release is in the promoter's manifest already. The promotion stage passes.
type PromotionNoop struct {
	Attempt int
	Detail  string
}

func (e PromotionNoop) apply(c *Cut, now time.Time) (*AuditEntry, error) {
	a, err := c.inFlightAttempt(ImagePromotion, e.Attempt)
	if err != nil {
		return nil, err
	}
	c.done(OpenPromotionPR{Attempt: e.Attempt}.Key())
	a.Status, a.FinishedAt, a.Step = StatusSucceeded, now, ""
	return &AuditEntry{Action: "fact.promotion_noop", Stage: ImagePromotion, Attempt: e.Attempt, Detail: e.Detail}, nil
}

func (PromotionNoop) threadNote() {}

// PromotionUnheld records that cutbot lifted the hold of its promotion PR.
type PromotionUnheld struct{ Attempt int }

func (e PromotionUnheld) apply(c *Cut, _ time.Time) (*AuditEntry, error) {
	a, err := c.promotion(e.Attempt)
	if err != nil {
		return nil, err
	}
	if a.Outputs[OutputUnheld] == "yes" {
		return nil, c.conflict("the hold of %s was already lifted", a.BuildID)
	}
	a.Outputs[OutputUnheld] = "yes"
	c.done(UnholdPromotion{Attempt: e.Attempt, PR: a.BuildID}.Key())
	return &AuditEntry{Action: "fact.unheld", Stage: ImagePromotion, Attempt: e.Attempt, Detail: fmt.Sprintf("lifted the hold of %s (/hold cancel) after its approval", a.BuildID)}, nil
}
