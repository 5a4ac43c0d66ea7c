package prow_test

import (
	"context"
	"testing"
	"time"

	"sigs.k8s.io/cutbot/integrations/prow"
)

func TestJobs(t *testing.T) {
	f := prow.NewFake()
	defer f.Close()
	t0 := time.Date(2026, 11, 10, 17, 0, 0, 0, time.UTC)
	f.Add("post-k8sio-image-promo", "aaa", "failure", "https://prow.k8s.io/view/1", t0)
	f.Add("ci-other", "bbb", "success", "https://prow.k8s.io/view/2", t0.Add(time.Minute))
	f.Add("post-k8sio-image-promo", "aaa", "triggered", "https://prow.k8s.io/view/3", t0.Add(2*time.Minute))
	jobs, err := (&prow.Client{BaseURL: f.URL()}).Jobs(context.Background(), "post-k8sio-image-promo")
	if err != nil || len(jobs) != 2 || jobs[0].State != "triggered" || jobs[1].State != "failure" || jobs[0].BaseSHA != "aaa" {
		t.Errorf("jobs = %+v, %v", jobs, err)
	}
}
