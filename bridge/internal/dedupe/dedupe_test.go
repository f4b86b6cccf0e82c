package dedupe

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestWindow(t *testing.T) { synctest.Test(t, testWindow) }

func testWindow(t *testing.T) {
	w := New(2 * time.Minute)
	ctx := context.Background()
	key := Key("g", "firing", []string{"fa", "fb"})

	dup, finish, err := w.Begin(ctx, key)
	if err != nil || dup {
		t.Fatalf("first: dup=%v err=%v", dup, err)
	}
	finish(true)
	if dup, _, _ := w.Begin(ctx, key); !dup {
		t.Error("second copy within the window not detected")
	}
	if dup, f, _ := w.Begin(ctx, Key("g", "resolved", []string{"ra", "rb"})); dup {
		t.Error("a different status is not a duplicate")
	} else {
		f(true)
	}
	time.Sleep(2*time.Minute + time.Second)
	dup, finish, _ = w.Begin(ctx, key)
	if dup {
		t.Error("copy after the window is a new notification")
	}
	finish(false)
	// A failed delivery releases the key: Alertmanager's retry must post.
	if dup, f, _ := w.Begin(ctx, key); dup {
		t.Error("retry after a failure treated as duplicate")
	} else {
		f(true)
	}
}

func TestKeyDistinguishes(t *testing.T) {
	if Key("a", "firing", []string{"x"}) == Key("a", "firing", []string{"y"}) || Key("a", "firing", nil) == Key("b", "firing", nil) {
		t.Error("keys collide")
	}
}

// TestConcurrentCopiesPostOnce: an HA pair's two copies arriving together produce one delivery.
func TestConcurrentCopiesPostOnce(t *testing.T) { synctest.Test(t, testConcurrentCopiesPostOnce) }

func testConcurrentCopiesPostOnce(t *testing.T) {
	w := New(time.Minute)
	key := Key("g", "firing", []string{"f"})
	var mu sync.Mutex
	deliveries := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dup, finish, err := w.Begin(context.Background(), key)
			if err != nil || dup {
				return
			}
			mu.Lock()
			deliveries++
			mu.Unlock()
			time.Sleep(time.Millisecond) // the others must wait for this outcome, not race it
			finish(true)
		}()
	}
	wg.Wait()
	if deliveries != 1 {
		t.Errorf("%d deliveries, want 1", deliveries)
	}
}

func TestWaitingCopyGivesUpWithContext(t *testing.T) {
	w := New(time.Minute)
	key := Key("g", "firing", nil)
	_, finish, _ := w.Begin(context.Background(), key)
	defer finish(true)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := w.Begin(ctx, key); err == nil {
		t.Error("waiting copy ignored its context")
	}
}

func TestDisabled(t *testing.T) {
	w := New(0)
	for range 2 {
		if dup, finish, _ := w.Begin(context.Background(), "k"); dup {
			t.Fatal("disabled window deduplicated")
		} else {
			finish(true)
		}
	}
}

func TestMemoryBounded(t *testing.T) { synctest.Test(t, testMemoryBounded) }

func testMemoryBounded(t *testing.T) {
	w := New(time.Minute)
	for i := range 1000 {
		_, f, _ := w.Begin(context.Background(), Key("g", "firing", []string{string(rune(i))}))
		f(true)
		time.Sleep(time.Second)
	}
	if n := len(w.m); n > 60+64 {
		t.Errorf("%d keys kept for a 60-key window", n)
	}
}
