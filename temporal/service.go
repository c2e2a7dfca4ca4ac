package temporal

import (
	"context"

	protoactor "github.com/asynkron/protoactor-go/actor"
)

// service is a temporal actor spawned at the root of an actor system (a
// schedule, a reminder service) and the way to stop it.
type service struct {
	system *protoactor.ActorSystem
	pid    *protoactor.PID
	done   chan struct{} // closed by the actor once it and its runs have stopped
}

// spawnService spawns a under name. Its runs (children) are stopped, never
// restarted, when they fail.
func spawnService(system *protoactor.ActorSystem, a protoactor.Actor, name string, done chan struct{}) (service, error) {
	props := protoactor.PropsFromProducer(func() protoactor.Actor { return a },
		protoactor.WithSupervisor(protoactor.NewOneForOneStrategy(0, 0, func(any) protoactor.Directive { return protoactor.StopDirective })))
	pid, err := system.Root.SpawnNamed(props, name)
	return service{system: system, pid: pid, done: done}, err
}

// stop stops the actor and waits until it has stopped or ctx ends.
func (s *service) stop(ctx context.Context) error {
	s.system.Root.Stop(s.pid)
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
