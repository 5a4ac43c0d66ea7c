package schedule

import (
	"context"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/cutbot"
)

// Source is a calendar read from a file, or from a repository through the GitHub contents
// API ("github:kubernetes/website/data/releases/schedule.yaml").
type Source struct {
	Spec   string
	GitHub cutbot.GitHub // for github: specs
}

var _ cutbot.CalendarSource = (*Source)(nil)

// Name is the source as configured.
func (s *Source) Name() string { return s.Spec }

// Milestones reads and parses the calendar.
func (s *Source) Milestones(ctx context.Context) ([]cutbot.Milestone, []string, error) {
	var raw []byte
	name := s.Spec
	if rest, ok := strings.CutPrefix(s.Spec, "github:"); ok {
		parts := strings.SplitN(rest, "/", 3)
		if len(parts) != 3 {
			return nil, nil, fmt.Errorf("calendar %q: use github:OWNER/REPO/PATH", s.Spec)
		}
		if s.GitHub == nil {
			return nil, nil, fmt.Errorf("calendar %q is on GitHub, which is not configured (GITHUB_TOKEN)", s.Spec)
		}
		text, err := s.GitHub.FileContent(ctx, parts[0]+"/"+parts[1], parts[2], "")
		if err != nil {
			return nil, nil, err
		}
		raw, name = []byte(text), parts[2]
	} else {
		var err error
		if raw, err = os.ReadFile(s.Spec); err != nil {
			return nil, nil, fmt.Errorf("calendar: %w", err)
		}
	}
	cal, err := Parse(raw, name)
	if err != nil {
		return nil, nil, err
	}
	return cal.Milestones, cal.Problems, nil
}
