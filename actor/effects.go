package actor

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"

	"github.com/packetflow/packetflow/internal/wait"
)

// effectRunner runs effects after their handler committed. Each effect runs
// in a short-lived actor of its own under one supervisor, so a panicking
// effect is reported and stopped like any failing actor, and Stop can wait
// for effects in flight.
type effectRunner struct {
	rt     *Runtime
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // one per effect in flight
	jobs   sync.Map       // effect actor id -> *effectJob
	seq    atomic.Uint64  // names effect actors
}

type effectJob struct {
	intentID, kind, identity string
	run                      Effect
}

func (er *effectRunner) start(rt *Runtime) {
	er.rt = rt
	er.ctx, er.cancel = context.WithCancel(context.Background())
}

// runEffects starts effects from the reactor actor pctx, after the commit.
func (rt *Runtime) runEffects(intentID, kind, identity string, effects []Effect) {
	er := &rt.effects
	for _, e := range effects {
		job := &effectJob{intentID: intentID, kind: kind, identity: identity, run: e}
		er.wg.Add(1)
		props := protoactor.PropsFromProducer(func() protoactor.Actor { return &effectActor{er: er, job: job} },
			protoactor.WithGuardian(er))
		// The job is findable by the actor's name before the actor runs,
		// so a failure is always attributed.
		name := "effect/" + strconv.FormatUint(er.seq.Add(1), 36)
		er.jobs.Store(name, job)
		if _, err := rt.system.Root.SpawnNamed(props, name); err != nil {
			er.jobs.Delete(name)
			er.wg.Done()
			er.failed(job, fmt.Errorf("effect not started: %w", err))
		}
	}
}

func (er *effectRunner) stop(timeout time.Duration) bool {
	er.cancel()
	return wait.Group(&er.wg, timeout)
}

// HandleFailure makes the runner the supervisor strategy of effect actors:
// a panicking effect is reported and stopped, never restarted.
func (er *effectRunner) HandleFailure(_ *protoactor.ActorSystem, sup protoactor.Supervisor, child *protoactor.PID, _ *protoactor.RestartStatistics, reason any, _ any) {
	if v, ok := er.jobs.Load(child.Id); ok {
		er.failed(v.(*effectJob), fmt.Errorf("effect panicked: %v", reason))
	}
	sup.StopChildren(child)
}

func (er *effectRunner) failed(job *effectJob, err error) {
	rt := er.rt
	rt.stats.effectsFailed.Add(1)
	rt.publish(&EffectFailed{At: rt.now(), IntentID: job.intentID, Kind: job.kind, Identity: job.identity, Err: err})
	rt.log.Warn("effect failed", "intent", job.intentID, "reactor", job.kind+"/"+job.identity, "err", err)
}

type effectActor struct {
	er  *effectRunner
	job *effectJob
}

func (a *effectActor) Receive(ctx protoactor.Context) {
	switch ctx.Message().(type) {
	case *protoactor.Started:
		er := a.er
		er.rt.stats.effectsRun.Add(1)
		ectx, cancel := context.WithTimeout(er.ctx, er.rt.cfg.EffectTimeout)
		defer cancel()
		if err := a.job.run(ectx); err != nil {
			er.failed(a.job, err)
		}
		ctx.Stop(ctx.Self())
	case *protoactor.Stopped:
		a.er.jobs.Delete(ctx.Self().Id)
		a.er.wg.Done()
	}
}
