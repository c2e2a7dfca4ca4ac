package web_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/packetflow/packetflow/supervision"
	"github.com/packetflow/packetflow/web"
)

func TestEventLogKeepsTheNewest(t *testing.T) {
	l := web.NewEventLog(3)
	for i := range 5 {
		l.Add(web.LogEntry{Source: "test", Level: "info", Text: fmt.Sprint(i)})
	}
	var texts []string
	for _, e := range l.Entries() {
		texts = append(texts, e.Text)
		require.False(t, e.Time.IsZero())
	}
	require.Equal(t, []string{"4", "3", "2"}, texts, "newest first, the oldest dropped")

	l.Add(web.LogEntry{Text: strings.Repeat("x", 10_000)})
	require.Less(t, len(l.Entries()[0].Text), 400, "a huge reason is cut")

	var none *web.EventLog
	none.Add(web.LogEntry{Text: "ignored"})
	none.Supervision(supervision.Event{Kind: supervision.EventFailed})
	require.Nil(t, none.Entries())
	require.Len(t, web.NewEventLog(0).Entries(), 0)
}

func TestEventLogSupervisionLevels(t *testing.T) {
	l := web.NewEventLog(10)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l.Supervision(supervision.Event{Kind: supervision.EventRestarted, Child: "counter/a", Time: at})
	l.Supervision(supervision.Event{Kind: supervision.EventStopped, Child: "counter/b", Time: at})
	got := l.Entries()
	require.Equal(t, web.LogEntry{Time: at, Source: "supervision", Level: "warn", Text: "stopped counter/b"}, got[0])
	require.Equal(t, "info", got[1].Level)
}

func TestEventLogConcurrentUse(t *testing.T) {
	l := web.NewEventLog(16)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				l.Add(web.LogEntry{Text: fmt.Sprint(g, i)})
				_ = l.Entries()
			}
		})
	}
	wg.Wait()
	require.Len(t, l.Entries(), 16)
}
