package cutbot

// Observer is told what happens to cuts, for cutbot's metrics. Its methods are called from
// many goroutines, on the cut's lane: they must be quick and must not block.
type Observer interface {
	// CutChanged is called once events have changed a cut and the change is stored.
	CutChanged(c *Cut, events []Event)
	// EffectCarried is called when cutbot has tried a side effect: err is nil when it is done.
	EffectCarried(c *Cut, e Effect, err error)
	// Recovered is called when a panic was caught in a job (where: "lane", "poll", ...).
	Recovered(where string)
}

// NopObserver observes nothing.
type NopObserver struct{}

func (NopObserver) CutChanged(*Cut, []Event)          {}
func (NopObserver) EffectCarried(*Cut, Effect, error) {}
func (NopObserver) Recovered(string)                  {}
