package remediate

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// ObserveChanges looks at the changed apps only: the others keep their
// state (a full Observe would forget an app it does not see), deleted and
// out-of-scope ones are forgotten with their series.
func TestObserveChanges(t *testing.T) {
	synctest.Test(t, testObserveChanges)
}

func testObserveChanges(t *testing.T) {
	s := newScenario(t, testConfig())
	s.fake.add(&fakeApp{app: outOfSync("a")})
	s.fake.add(&fakeApp{app: outOfSync("b")})
	s.fake.add(&fakeApp{app: outOfSync("c")})
	s.run(150 * time.Second) // past the 2m grace, before the 1m backoff: one attempt each
	ctx := context.Background()
	for _, k := range []string{"argocd/a", "argocd/b", "argocd/c"} {
		if st := s.state(k); st.Attempts != 1 {
			t.Fatalf("%s: %d attempts, want 1", k, st.Attempts)
		}
	}
	apps := s.fake.snapshot()
	byName := map[string]int{}
	for i := range apps {
		byName[apps[i].Name] = i
	}
	optedOut := apps[byName["b"]]
	optedOut.Annotations = map[string]string{AnnotationAutoSync: "false"}
	s.eng.ObserveChanges(ctx, nil, nil, time.Now()) // nothing: nothing changes
	s.eng.ObserveChanges(ctx, append(apps[:0:0], optedOut), append(apps[:0:0], apps[byName["c"]]), time.Now())
	s.eng.Wait()
	if st := s.state("argocd/a"); st.Attempts != 1 {
		t.Errorf("a, not in the changes, lost its state: %+v", st)
	}
	for _, k := range []string{"argocd/b", "argocd/c"} {
		if st := s.state(k); st.worthKeeping() {
			t.Errorf("%s not forgotten: %+v", k, st)
		}
	}
	if n := len(s.eng.AppMetrics()); n != 1 {
		t.Errorf("%d attempts series, want a's only", n)
	}
}
