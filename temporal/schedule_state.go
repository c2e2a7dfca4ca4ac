package temporal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/store"
	"github.com/packetflow/packetflow/temporal/temporalpb"
)

// scheduleStateType is the store record type of a schedule's state.
var scheduleStateType = string((&temporalpb.ScheduleState{}).ProtoReflect().Descriptor().FullName())

// load reads the schedule's durable state; a schedule that has none
// records its creation (now), so slots before it are never owed, even to
// another member that takes over before the first slot.
func (a *scheduleActor) load(now time.Time) error {
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), a.cfg.StoreTimeout)
		rec, err := a.cfg.Store.Load(ctx, a.key)
		cancel()
		if err != nil {
			a.loaded = false
			a.storeFailed(err)
			return err
		}
		if rec.Version > 0 {
			st, err := decodeState(a.key, rec)
			if err != nil {
				a.loaded = false
				a.storeFailed(err)
				return err
			}
			a.state, a.version, a.loaded = st, rec.Version, true
			a.event(ScheduleEvent{Kind: EventLoaded, Slot: fromNanos(st.Through)})
			return nil
		}
		a.state, a.version = &temporalpb.ScheduleState{Created: now.UnixNano(), Calendar: a.cfg.Calendar.String()}, 0
		err = a.commit(a.state)
		if err == nil {
			a.loaded = true
			a.event(ScheduleEvent{Kind: EventLoaded})
			return nil
		}
		if !errors.Is(err, store.ErrConflict) || attempt == 1 {
			a.storeFailed(err)
			return err
		}
	}
}

func decodeState(key store.Key, rec store.Record) (*temporalpb.ScheduleState, error) {
	if rec.Type != scheduleStateType {
		return nil, fmt.Errorf("%w: %s is stored as a %s, not a %s", store.ErrCorrupt, key, rec.Type, scheduleStateType)
	}
	st := &temporalpb.ScheduleState{}
	if err := proto.Unmarshal(rec.Data, st); err != nil {
		return nil, fmt.Errorf("%w: %s version %d: %v", store.ErrCorrupt, key, rec.Version, err)
	}
	return st, nil
}

// commit records st as the version after the loaded one. On success it is
// the schedule's state; on a conflict or an unknown outcome the schedule
// must load again before it decides anything.
func (a *scheduleActor) commit(st *temporalpb.ScheduleState) error {
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(st)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.StoreTimeout)
	defer cancel()
	v, err := a.cfg.Store.Commit(ctx, a.key, a.version, store.Record{Type: scheduleStateType, Schema: 1, Data: data})
	if err != nil {
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrFailed) {
			a.loaded = false
		}
		return err
	}
	a.state, a.version = st, v
	return nil
}
