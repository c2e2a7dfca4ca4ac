package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestStatusString(t *testing.T) {
	for s, want := range map[Status]string{
		StatusAlive:   "alive",
		StatusSuspect: "suspect",
		StatusLeft:    "left",
		StatusDead:    "dead",
		0:             "status(0)",
	} {
		assert.Equal(t, want, s.String())
	}
	assert.True(t, StatusAlive.Live())
	assert.True(t, StatusSuspect.Live())
	assert.False(t, StatusLeft.Live())
	assert.False(t, StatusDead.Live())
}

func TestEventKindString(t *testing.T) {
	for k, want := range map[EventKind]string{
		EventJoined:  "joined",
		EventUpdated: "updated",
		EventLeft:    "left",
		EventDied:    "died",
		9:            "event(9)",
	} {
		assert.Equal(t, want, k.String())
	}
	ev := Event{Kind: EventDied, Member: Member{ID: "id-1", Name: "n1"}}
	assert.Equal(t, "died n1 (id-1)", ev.String())
}

func TestMemberHosts(t *testing.T) {
	m := Member{Kinds: []string{"counter", "filesystem"}}
	assert.True(t, m.Hosts("counter"))
	assert.True(t, m.Hosts("filesystem"))
	assert.False(t, m.Hosts("chat"))
	assert.False(t, Member{}.Hosts("counter"))
}

func TestMemberCloneIsIndependent(t *testing.T) {
	m := Member{ID: "a", Kinds: []string{"x"}}
	c := m.clone()
	c.Kinds[0] = "y"
	assert.Equal(t, "x", m.Kinds[0])
	assert.True(t, m.sameAs(Member{ID: "a", Kinds: []string{"x"}}))
	assert.False(t, m.sameAs(c))
}
