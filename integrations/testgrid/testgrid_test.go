package testgrid_test

import (
	"context"
	"testing"

	"sigs.k8s.io/cutbot"
	"sigs.k8s.io/cutbot/integrations/testgrid"
)

func TestSummary(t *testing.T) {
	f := testgrid.NewFake()
	defer f.Close()
	f.Set("sig-release-1.31-blocking", map[string]string{"ci-kubernetes-e2e-gci-gce": "FAILING", "build-1.31": "PASSING", "verify-1.31": "FLAKY"})
	c := &testgrid.Client{BaseURL: f.URL()}
	if d := testgrid.Dashboard("release-1.31"); d != "sig-release-1.31-blocking" {
		t.Errorf("dashboard = %s", d)
	}
	if d := testgrid.Dashboard("master"); d != "sig-release-master-blocking" {
		t.Errorf("dashboard = %s", d)
	}
	page, jobs, err := c.Summary(context.Background(), "sig-release-1.31-blocking")
	if err != nil || page != f.URL()+"sig-release-1.31-blocking" || len(jobs) != 3 || jobs[0].Name != "build-1.31" || jobs[1].URL != page+"#ci-kubernetes-e2e-gci-gce" {
		t.Fatalf("summary = %s %+v %v", page, jobs, err)
	}
	var failing []string
	for _, j := range jobs {
		if testgrid.Failing(j.Status) {
			failing = append(failing, j.Name)
		}
	}
	if len(failing) != 1 || failing[0] != "ci-kubernetes-e2e-gci-gce" {
		t.Errorf("failing = %v", failing)
	}
	if _, _, err := c.Summary(context.Background(), "sig-release-1.99-blocking"); cutbot.ErrorCode(err) != cutbot.ENOTFOUND {
		t.Errorf("missing dashboard: %v", err)
	}
}
