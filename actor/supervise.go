package actor

import (
	protoactor "github.com/asynkron/protoactor-go/actor"
)

// reportingStrategy is the guardian strategy of every reactor instance: it
// logs the decision and leaves it to the configured strategy.
type reportingStrategy struct {
	rt    *Runtime
	inner protoactor.SupervisorStrategy
}

func (s *reportingStrategy) HandleFailure(sys *protoactor.ActorSystem, sup protoactor.Supervisor, child *protoactor.PID, rs *protoactor.RestartStatistics, reason any, msg any) {
	s.rt.log.Warn("reactor failed", "actor", child.Id, "reason", reason)
	s.inner.HandleFailure(sys, sup, child, rs, reason, msg)
}
